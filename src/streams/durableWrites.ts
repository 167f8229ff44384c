import { Observable, OperatorFunction } from 'rxjs';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import { StorageFailedError } from '../errors';
import { MicrotaskQueue } from './microtaskQueue';
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

/**
 * How many writes `durableWrites` has started whose completion it has not yet handed to
 * the loop. While `any`, a turn of the loop is sure to come (the completion), unless the
 * node stops on a failed write.
 *
 * @example
 * const writes = new WritesInFlight();
 * steps$.pipe(durableWrites(storage, send, writes)).subscribe((e) => loop.next(e));
 * if (writes.any) holdForTheNextTurn();
 */
export class WritesInFlight {
  private count = 0;

  get any(): boolean {
    return this.count > 0;
  }

  started(): void {
    this.count++;
  }

  reported(): void {
    this.count--;
  }
}

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
 * that waited for the write is sent). `writes`, when given, counts the writes started
 * and not yet reported.
 *
 * @example
 * steps$.pipe(durableWrites(storage, (m) => transport.send(m.to, m.message))).subscribe((e) => loop.next(e));
 */
export function durableWrites(storage: Storage, send: (out: Outgoing) => void, writes?: WritesInFlight): OperatorFunction<DurableStep, RaftEvent> {
  const write = (w: WriteEffect) => {
    writes?.started();
    return w.type === 'persistEntries' ? storage.append(w.entries) : storage.saveHardState(w.hardState);
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
        writes?.reported();
        if (!subscriber.closed) subscriber.next(event);
      });
      return steps$.pipe(persistThenRelease<WriteEffect, Outgoing>(write)).subscribe({
        next: (outcome) => ('durable' in outcome ? reports.add(completion(outcome.durable)) : send(outcome.released)),
        error: (e: unknown) => subscriber.error(StorageFailedError.of(e, 'storage')),
        // Complete after the completions still waiting.
        complete: () => (reports.pending ? queueMicrotask(() => subscriber.complete()) : subscriber.complete()),
      });
    });
}

function completion(write: WriteEffect): RaftEvent {
  if (write.type === 'persistEntries') {
    const last = write.entries[write.entries.length - 1];
    return { kind: 'persisted', index: last.index, term: last.term };
  }
  const { term, votedFor } = write.hardState;
  return { kind: 'hardStateSaved', term, votedFor };
}
