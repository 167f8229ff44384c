import { firstValueFrom, isObservable, Observable, SchedulerLike, Subscription } from 'rxjs';
import { Inlet } from '../operators/inlet';
import { ApplyFailedError, NodeStoppedError } from '../errors';
import { entrySize, payloadOnce } from '../messages/blockEntry';
import { CommittedEntry, Entry, EntryKind } from '../messages/entry';
import { applyInOrder, ApplyResult } from '../operators/applyInOrder';
import type { Broadcast } from '../operators/broadcast';
import { coveredBySnapshot, type ProposalTracker } from './proposals';
import { decodeSessionCommand, SessionTable } from './sessions';
import type { StateMachine } from '../api';

export interface ApplierDeps {
  readonly nodeId: string;
  /** The application's handler (`stateMachine.apply`); without it, emitting on `committed$` is applying. */
  readonly apply: StateMachine['apply'];
  readonly sessions: SessionTable;
  /** Proposals made here, settled as their entries are applied. */
  readonly tracker: ProposalTracker;
  /** Where `committed$` gets each command, after it was applied. */
  readonly committed: Pick<Broadcast<CommittedEntry>, 'next'>;
  /** Called with the payload size of every applied entry (the snapshot policy counts bytes). */
  readonly noteApplied: (bytes: number) => void;
  /** Reports progress to the engine: every entry up to `index` is applied (see `AppliedAcks`). */
  readonly acknowledge: (index: number) => void;
  /** An apply failed (`ApplyFailedError`): the node must stop. */
  readonly failStop: (error: Error) => void;
  /** Where applying goes on after a slice (`APPLY_SLICE`): the node's `turnScheduler`. */
  readonly slices: SchedulerLike;
}

/** Work that must run while no entry is being applied (see `Applier.exclusive`). */
interface Exclusive {
  readonly work: (appliedUpTo: number) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Item = Entry | Exclusive;

/** Session duplicates remembered for forwarded proposals answered late (see `originalOf`). */
const MAX_DUPLICATES = 4096;

/**
 * The most entries, and payload bytes, applied before the applier lets the event loop
 * run (it goes on as zero-delay work on the `turnScheduler`; one entry always fits), so
 * heartbeats and votes are read between two slices, never behind a whole commit. Why: a
 * commit index that jumps by thousands of entries (a follower whose fsync finished late,
 * a leader's commit notice after its own stall) was applied in one turn — up to
 * `maxApplyingEntries` (8,192), and again for as long as the application acknowledged at
 * once. At 1,024 proposers of 100 B on the loaded 2-core machine, turns that applied 512
 * entries took 20-60 ms, and a follower's profile showed one AppendEntries turn spending
 * 80 ms in the application's apply while the leader waited for its answer (issue 17).
 * 256 entries keep a slice at 10-30 ms there; 1 MiB bounds large entries (16 of 64 KiB)
 * the same way.
 */
export const APPLY_SLICE = { entries: 256, bytes: 1 << 20 } as const;

/**
 * The runtime's side of applying: takes the engine's `apply` effects, runs them through
 * `applyInOrder` — session de-duplication, the application's `apply`, then `committed$`
 * and the proposals waiting for that index — and reports each batch's progress back to
 * the engine as an `applied` event. Snapshot capture and restore run in the same queue
 * (`exclusive`), so they never overlap an apply and see the state at a known index.
 *
 * The queue holds what the engine handed out beyond the acknowledged index: at most
 * `maxApplyingEntries` / `maxApplyingBytes`, plus at most one snapshot capture and one
 * restore. It applies at most `APPLY_SLICE` between two runs of the `slices` scheduler, so
 * a long backlog never holds the event loop.
 *
 * @example
 * const applier = new Applier({ nodeId, apply, sessions, tracker, committed, noteApplied, acknowledge, failStop, slices: turnScheduler });
 * subscriptions.add(applier.start());
 * applier.push(effect.entries); // for each { type: 'apply' } effect
 */
export class Applier {
  private readonly input = new Inlet<readonly Item[]>();
  /** Entries at or below this index are covered by a restored snapshot: skipped. */
  private restoredTo = 0;
  /** The last index applied (or covered by a restored snapshot). */
  private lastApplied = 0;
  /** Recently applied session duplicates: index → the original command's position (made at the first). */
  private duplicates: Map<number, { index: number; term: number }> | null = null;
  /** Exclusive work queued and not yet run. Made at the first (an idle group may never snapshot). */
  private waiting: Set<Exclusive> | null = null;
  private stopped = false;

  constructor(private readonly deps: ApplierDeps) {}

  /** Subscribes the apply pipeline; unsubscribe to stop it (what is queued is dropped). */
  start(): Subscription {
    // One subscriber acknowledges the applied entries (not the exclusive work) and closes
    // the applier when the pipeline ends: every group runs this, so no operator hops.
    const subscription = this.input
      .pipe(applyInOrder((item: Item) => this.applyOne(item), { scheduler: this.deps.slices, maxItems: APPLY_SLICE.entries, maxBytes: APPLY_SLICE.bytes, bytesOf: itemBytes }))
      .subscribe({
        next: (item) => {
          if ('index' in item) this.deps.acknowledge(item.index);
        },
        error: (e: unknown) => this.deps.failStop(e instanceof Error ? e : new Error(String(e))),
      });
    subscription.add(() => this.close());
    return subscription;
  }

  /** Entries of one `apply` effect, in log order, right after the previous ones. */
  push(entries: readonly Entry[]): void {
    this.input.next(entries);
  }

  /**
   * Runs `work` once every entry pushed so far has been applied and before any entry
   * pushed later; it gets the index applied up to then. A restore of the state machine
   * and the capture of a snapshot go through here. Rejects with `NodeStoppedError` if
   * the node stops first.
   */
  exclusive<T>(work: (appliedUpTo: number) => T | Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.deps.nodeId));
    return new Promise<T>((resolve, reject) => {
      const task: Exclusive = { work, resolve: resolve as (value: unknown) => void, reject };
      (this.waiting ??= new Set()).add(task);
      this.input.next([task]);
    });
  }

  /** The state machine was restored from a snapshot at `index`: entries up to it are covered (proposals waiting on them fail). */
  skipUpTo(index: number): void {
    this.restoredTo = Math.max(this.restoredTo, index);
    this.lastApplied = Math.max(this.lastApplied, index);
    this.deps.tracker.forgetThrough(index, coveredBySnapshot); // forwarded proposals: their entries are never applied here one by one
  }

  /**
   * The last index whose entry was applied here (or covered by a restored snapshot): the
   * proposals waiting for it have been settled, or were not yet known to be waiting.
   * Ahead of the engine's `appliedIndex` until the `applied` event is handled.
   */
  get appliedUpTo(): number {
    return this.lastApplied;
  }

  /** The original position of the session duplicate applied at `index`, if remembered. */
  originalOf(index: number): { index: number; term: number } | undefined {
    return this.duplicates?.get(index);
  }

  private applyOne(item: Item): ApplyResult {
    if (!('index' in item)) return this.runExclusive(item);
    if (item.index <= this.restoredTo) return undefined;
    this.deps.noteApplied(entrySize(item));
    if (item.kind === EntryKind.Command) return this.applyCommand(item, { index: item.index, term: item.term, data: payloadOnce(item) });
    if (item.kind !== EntryKind.SessionCommand) {
      this.lastApplied = item.index;
      this.deps.tracker.applied(item.index, item.term);
      return undefined;
    }
    const { info, data } = decodeSessionCommand(payloadOnce(item));
    const verdict = this.deps.sessions.apply(info, item.index, item.term);
    if (!verdict.duplicate) return this.applyCommand(item, { index: item.index, term: item.term, data, session: info });
    this.lastApplied = item.index;
    if (verdict.original) {
      const duplicates = (this.duplicates ??= new Map());
      duplicates.set(item.index, verdict.original);
      if (duplicates.size > MAX_DUPLICATES) duplicates.delete(duplicates.keys().next().value!);
    }
    this.deps.tracker.applied(item.index, item.term, verdict.original ?? undefined);
    return undefined;
  }

  /** The application's apply, then `committed$` and the proposal waiting for the index. */
  private applyCommand(entry: Entry, committed: CommittedEntry): ApplyResult {
    const apply = this.deps.apply;
    if (!apply) return this.applied(entry, committed);
    let result: ApplyResult;
    try {
      result = apply(committed);
    } catch (e) {
      throw new ApplyFailedError(entry.index, e);
    }
    if (result === undefined || result === null) return this.applied(entry, committed);
    const done = async () => {
      try {
        await waitFor(result as PromiseLike<unknown> | Observable<unknown>);
      } catch (e) {
        throw new ApplyFailedError(entry.index, e);
      }
      this.applied(entry, committed);
    };
    return done();
  }

  private applied(entry: Entry, committed: CommittedEntry): undefined {
    if (this.stopped) return undefined;
    this.lastApplied = entry.index;
    this.deps.committed.next(committed);
    this.deps.tracker.applied(entry.index, entry.term);
    return undefined;
  }

  private runExclusive(task: Exclusive): Promise<void> {
    this.waiting?.delete(task);
    return Promise.resolve()
      .then(() => task.work(this.lastApplied))
      .then(task.resolve, task.reject);
  }

  private close(): void {
    this.stopped = true;
    const error = new NodeStoppedError(this.deps.nodeId);
    const waiting = this.waiting;
    this.waiting = null;
    for (const task of waiting ?? []) task.reject(error);
  }
}

/** What an item weighs in a slice: an entry its payload (without making a received entry's view), snapshot work nothing. */
function itemBytes(item: Item): number {
  return 'index' in item ? entrySize(item) : 0;
}

/** Settles when a promise resolves or an observable emits its first value or completes. */
function waitFor(result: PromiseLike<unknown> | Observable<unknown>): Promise<unknown> {
  return isObservable(result) ? firstValueFrom(result, { defaultValue: undefined }) : Promise.resolve(result);
}
