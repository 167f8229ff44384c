import { Observable, OperatorFunction, Subscription } from 'rxjs';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import type { RaftState } from '../core/state';
import { StorageFailedError } from '../errors';
import { MicrotaskQueue } from './microtaskQueue';
import type { Entry } from '../messages/entry';
import { EntryRun } from '../messages/entryRun';
import type { NodeId, RaftMessage } from '../messages/types';
import { persistThenRelease, ReleaseStep, WriteStep } from '../operators/persistThenRelease';
import type { Storage } from '../storage/storage';

/** The effects that write to storage. */
export type WriteEffect = Extract<Effect, { type: 'saveHardState' | 'persistEntries' }>;

/** A message to send, after the writes before it when `afterWrites`. */
export interface Outgoing {
  readonly to: NodeId;
  readonly message: RaftMessage;
}

/** A write effect or a message to send, in the order the rules produced them. */
export type DurableStep = WriteStep<WriteEffect> | ReleaseStep<Outgoing>;

/** What `DurableCompletions` needs from its node. */
export interface DurableCompletionsDeps {
  /** Schedules `work` after the longest a completion may be held (the node: a heartbeat interval). */
  readonly later: (work: () => void) => Subscription;
  /** The node's subscriptions: the timer of `later` ends with them. */
  readonly owner: Subscription;
  /** The node's state between turns (null before it has started and once it stopped). */
  readonly state: () => RaftState | null;
  /** Feeds a completion held too long to the loop. */
  readonly release: (event: RaftEvent) => void;
}

/**
 * The completions of a node's writes on their way to its loop. It counts the writes
 * `durableWrites` has started and not yet reported (`inFlight`: a turn is sure to come),
 * and holds a follower's `persisted` completion for the start of its next turn instead of
 * stepping it as a turn of its own — when stepping it now would change nothing but the
 * engine's `durableIndex`: the node follows, is not quiet, and its durable index is not
 * what holds back its apply (`commitIndex <= durableIndex`). The answer the write
 * released has left already, so nothing outside waits for the engine to hear it; the next
 * event (the leader's next AppendEntries, usually) is stepped right after it, in the order
 * a slower disk would have given them, and one turn carries out the effects of both. A
 * completion no turn came for in time (`later`) is fed to the loop then (one timer per
 * node at a time, not one per write; it ends with the node's subscriptions).
 *
 * ```
 * before:  [AppendEntries 6 → write 6] [persisted 6] [AppendEntries 7 → write 7]
 * held:    [AppendEntries 6 → write 6]               [persisted 6, AppendEntries 7 → write 7]
 * ```
 *
 * @example
 * const completions = new DurableCompletions({ later: (work) => scheduler.schedule(work, 50), owner: subscriptions, state: () => s, release: (e) => loop.next(e) });
 * steps$.pipe(durableWrites(storage, send, completions)).subscribe((e) => loop.next(e));
 * loop$.pipe(stepEach(s, now, completions)); // steps what is held before each event
 */
export class DurableCompletions {
  private writes = 0;
  /** Bounded by the writes a follower has in flight: the next turn takes them all. */
  private held: RaftEvent[] = [];
  private fallback: Subscription | null = null;

  constructor(private readonly deps: DurableCompletionsDeps) {}

  /** Whether a write started and its completion has not reached the loop yet (a turn is to come). */
  get inFlight(): boolean {
    return this.writes > 0;
  }

  started(): void {
    this.writes++;
  }

  /** A write's completion `event` leaves for the loop: returns true when it is held instead (see the class). */
  reported(event: RaftEvent): boolean {
    this.writes--;
    const s = this.deps.state();
    if (!s || event.kind !== 'persisted' || s.role.name !== 'follower' || s.quiet || s.commitIndex > s.durableIndex) return false;
    this.held.push(event);
    if (!this.fallback) {
      this.fallback = this.deps.later(() => this.expire());
      this.deps.owner.add(this.fallback);
    }
    return true;
  }

  /** The completions held, in order, to step before the turn's event; none are held after. */
  take(): readonly RaftEvent[] {
    if (this.held.length === 0) return NONE;
    const taken = this.held;
    this.held = [];
    return taken;
  }

  private expire(): void {
    if (this.fallback) this.deps.owner.remove(this.fallback);
    this.fallback = null;
    for (const event of this.take()) this.deps.release(event);
  }
}

const NONE: readonly RaftEvent[] = [];

/**
 * Carries out the rules' writes and sends in order (all but the leader's AppendEntries,
 * which never wait for writes and go through the follower's `replicateTo` pipeline
 * instead): each write starts at once; a message
 * the rules marked `afterPersist` leaves only once everything written before it is
 * durable (see `persistThenRelease`); the completions come back as events, on the
 * microtask after the messages they released were sent — `persisted`
 * for log entries, `hardStateSaved` for every hard state (the rules count their own vote, and
 * know which term is durable). A
 * failed write errors the stream with a `StorageFailedError` (the node stops; nothing
 * that waited for the write is sent). `completions`, when given, counts the writes
 * started and holds the completions it may (`DurableCompletions`).
 *
 * @example
 * steps$.pipe(durableWrites(storage, (m) => transport.send(m.to, m.message))).subscribe((e) => loop.next(e));
 */
export function durableWrites(storage: Storage, send: (out: Outgoing) => void, completions?: DurableCompletions): OperatorFunction<DurableStep, RaftEvent> {
  const write = (w: WriteEffect) => {
    completions?.started();
    return w.type === 'persistEntries' ? append(storage, w.entries) : storage.saveHardState(w.hardState);
  };
  // One subscriber carries out each outcome (send it, or report it durable) and wraps a
  // failure: every message of the node passes here, so no extra operator hops.
  return (steps$: Observable<DurableStep>) =>
    new Observable<RaftEvent>((subscriber) => {
      // Completions are stepped at the next microtask, in order: the messages a write
      // released (a follower's answer) are sent first — the transport writes them to the
      // socket on a microtask of its own, queued when they were sent — and only then is the
      // completion stepped as a turn of the loop; stepped at once, the answer waited for it.
      const reports = new MicrotaskQueue<RaftEvent>((event) => {
        if (!completions?.reported(event) && !subscriber.closed) subscriber.next(event);
      });
      return steps$.pipe(persistThenRelease<WriteEffect, Outgoing>(write)).subscribe({
        next: (outcome) => ('durable' in outcome ? reports.add(completion(outcome.durable)) : send(outcome.released)),
        error: (e: unknown) => subscriber.error(StorageFailedError.of(e, 'storage')),
        // Complete after the completions still waiting.
        complete: () => (reports.pending ? queueMicrotask(() => subscriber.complete()) : subscriber.complete()),
      });
    });
}

/** Writes entries, a received run as it came where the storage takes one (`Storage.appendRun`). */
function append(storage: Storage, entries: readonly Entry[] | EntryRun): Promise<void> {
  if (!(entries instanceof EntryRun)) return storage.append(entries);
  return storage.appendRun !== undefined ? storage.appendRun(entries) : storage.append(entries.entries());
}

function completion(write: WriteEffect): RaftEvent {
  if (write.type === 'persistEntries') {
    const entries = write.entries;
    if (entries instanceof EntryRun) return { kind: 'persisted', index: entries.lastIndex, term: entries.lastTerm };
    const last = entries[entries.length - 1];
    return { kind: 'persisted', index: last.index, term: last.term };
  }
  const { term, votedFor } = write.hardState;
  return { kind: 'hardStateSaved', term, votedFor };
}
