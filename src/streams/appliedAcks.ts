import type { Effect } from '../core/effects';
import type { RaftState } from '../core/state';

/** How `AppliedAcks` reaches the engine. */
export interface AppliedAcksDeps {
  /** Steps `{ kind: 'applied', index }` on the node's state now, inside the current turn, and returns its effects. */
  readonly stepApplied: (index: number) => readonly Effect[];
  /** Feeds `{ kind: 'applied', index }` to the event loop as a turn of its own. */
  readonly feedback: (index: number) => void;
  /** A rule or the carry-out threw during the turn: the node must stop (fail-stop, as for an error of the loop). */
  readonly fail: (error: Error) => void;
  /**
   * Whether an acknowledgement made between turns may wait for the node's next turn
   * instead of being a turn of its own: true only when that turn is sure to come soon (a
   * write of the node is in flight: its completion is a turn, or is held for a turn that
   * comes within a heartbeat interval, see `DurableCompletions`) and stepping the
   * acknowledgement now would change nothing anyone waits for. Default: never.
   */
  readonly mayHold?: (index: number) => boolean;
}

/**
 * The application's acknowledgements of what it has applied, handed to the engine at
 * the cheapest safe moment. An acknowledgement made while a turn is carried out — the
 * application applied synchronously the entries that turn handed out (a synchronous
 * `apply`, or none) — is stepped at the end of that same turn, after the turn's own
 * effects, instead of as a turn of its own: one turn per commit instead of two (etcd's
 * `Advance()` after a `Ready`). The effects it produces (more entries to apply, answers
 * to reads) are carried out in that turn too, and so on until nothing more was applied.
 * An acknowledgement made between turns (an asynchronous apply finished, or a follower's
 * apply, which starts after its turn's log write) is fed to the loop as a turn of its
 * own — unless `mayHold` says the next turn is sure to come soon and nothing waits for
 * it: then it is stepped at the end of that turn (a follower's, the completion of the
 * write it is applying behind: one turn per write instead of two).
 *
 * Stepping it early changes nothing the rules can see: the application has applied those
 * entries either way; it only no longer waits behind events queued meanwhile. Holding it
 * delays only what the engine does with `appliedIndex` when nothing waits on it (log
 * cache eviction, the next snapshot), by at most one write or a heartbeat interval.
 *
 * ```
 * turn:      [persisted → commit → apply(5) → app applies 5 → applied(5) → read at 5 answered]
 * before:    [persisted → commit → apply(5) → app applies 5] [applied(5) → read answered]
 *
 * follower:  [AppendEntries 6, commit 5 → write 6, apply(5)] app applies 5 (held) [persisted 6 → applied(5)]
 * before:    [AppendEntries 6, commit 5 → write 6, apply(5)] app applies 5 [applied(5)] [persisted 6]
 * ```
 *
 * @example
 * const acks = new AppliedAcks({ stepApplied: (index) => step(s, { kind: 'applied', index }).list, feedback: (index) => loop.next({ kind: 'applied', index }), fail: stopNode });
 * const applier = new Applier({ ..., acknowledge: (index) => acks.report(index) });
 * acks.within((effects) => driver.carryOut(effects, s), effectsOfTheTurn);
 */
export class AppliedAcks {
  private inTurn = false;
  /** The latest acknowledgement made during the current turn and not yet stepped. */
  private pending: number | null = null;

  constructor(private readonly deps: AppliedAcksDeps) {}

  /** The application has applied every entry handed to it up to `index`. */
  report(index: number): void {
    if (this.inTurn || this.deps.mayHold?.(index)) {
      this.pending = index;
      return;
    }
    this.pending = null; // an acknowledgement held before is covered by this one
    this.deps.feedback(index);
  }

  /**
   * Carries out a turn's effects with `carryOut`, then steps and carries out the
   * acknowledgement held since the last turn (`mayHold`) or made meanwhile. What throws
   * goes to `fail` (an acknowledgement not yet stepped is dropped with the node), and
   * then `within` returns false: the turn ends there.
   */
  within(carryOut: (effects: readonly Effect[]) => void, effects: readonly Effect[]): boolean {
    this.inTurn = true;
    try {
      carryOut(effects);
      for (let index = this.take(); index !== null; index = this.take()) carryOut(this.deps.stepApplied(index));
      return true;
    } catch (e) {
      this.pending = null;
      this.deps.fail(e instanceof Error ? e : new Error(String(e)));
      return false;
    } finally {
      this.inTurn = false;
    }
  }

  private take(): number | null {
    const index = this.pending;
    this.pending = null;
    return index;
  }
}

/**
 * Whether stepping an acknowledgement of `index` would leave the engine nothing more to
 * hand to the application: every entry it handed out is applied, and none it could apply
 * waits behind the apply window (`maxApplyingEntries`/`Bytes`). Part of a node's `mayHold`.
 *
 * @example
 * leavesNothingToApply({ applyingIndex: 5, commitIndex: 5, durableIndex: 6, ... }, 5); // true
 */
export function leavesNothingToApply(s: RaftState, index: number): boolean {
  return index >= s.applyingIndex && s.applyingIndex >= Math.min(s.commitIndex, s.durableIndex);
}
