import type { Effect } from '../core/effects';

/** How `AppliedAcks` reaches the engine. */
export interface AppliedAcksDeps {
  /** Steps `{ kind: 'applied', index }` on the node's state now, inside the current turn, and returns its effects. */
  readonly stepApplied: (index: number) => readonly Effect[];
  /** Feeds `{ kind: 'applied', index }` to the event loop as a turn of its own. */
  readonly feedback: (index: number) => void;
  /** A rule or the carry-out threw during the turn: the node must stop (fail-stop, as for an error of the loop). */
  readonly fail: (error: Error) => void;
}

/**
 * The application's acknowledgements of what it has applied, handed to the engine at
 * the cheapest safe moment. An acknowledgement made while a turn is carried out — the
 * application applied synchronously the entries that turn handed out (a synchronous
 * `apply`, or none) — is stepped at the end of that same turn, after the turn's own
 * effects, instead of as a turn of its own: one turn per commit instead of two (etcd's
 * `Advance()` after a `Ready`). The effects it produces (more entries to apply, answers
 * to reads) are carried out in that turn too, and so on until nothing more was applied.
 * An acknowledgement made between turns (an asynchronous apply finished) is fed to the
 * loop as before.
 *
 * Stepping it early changes nothing the rules can see: the application has applied those
 * entries either way; it only no longer waits behind events queued meanwhile.
 *
 * ```
 * turn:      [persisted → commit → apply(5) → app applies 5 → applied(5) → read at 5 answered]
 * before:    [persisted → commit → apply(5) → app applies 5] [applied(5) → read answered]
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
    if (this.inTurn) this.pending = index;
    else this.deps.feedback(index);
  }

  /**
   * Carries out a turn's effects with `carryOut`, then steps and carries out the
   * acknowledgements made meanwhile. What throws goes to `fail` (an acknowledgement not
   * yet stepped is dropped with the node), and then `within` returns false: the turn ends
   * there.
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
