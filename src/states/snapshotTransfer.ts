import { concat, concatMap, defer, EMPTY, filter, finalize, from, map, Observable, of, share, startWith, switchMap } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { buildOnFirst } from '../operators/buildOnFirst';
import type { NodeId } from '../messages/types';
import type { SnapshotMeta } from '../messages/persisted';
import type { RoleContext, SnapshotChunkRequest, SnapshotTransferRequest } from './context';

/**
 * The snapshot transfer to one follower, part of its `replicateTo` pipeline. The rules
 * (`core/snapshots.ts`) decide which chunk goes next and ask with a `sendSnapshotChunk`
 * effect; this pipeline reads that chunk from storage and sends it as
 * an InstallSnapshot. Reading is pull-based, one chunk at a time with one chunk of
 * lookahead (so `done` is known when a chunk goes out).
 *
 * - A chunk-0 request starts a fresh read of the current snapshot (the one asked for, or
 *   a newer one taken since) and closes the previous reader (`switchMap`); a park
 *   request (`parkSnapshotTransfer`: the follower went silent) closes it and reads
 *   nothing until the next chunk 0.
 * - Requests of a transfer are handled one at a time, in order (`concatMap`); a request
 *   for a chunk that is not the next one, a snapshot older than the one asked for, or a
 *   failed read answers `snapshotReadFailed` (the rules start the transfer over), always
 *   a microtask later, never synchronously, so that a retry cannot spin inside one turn.
 * - Until the first request for this follower only the request filter is subscribed
 *   (`buildOnFirst`): a leader of many idle groups keeps no transfer pipeline per follower.
 * - Unsubscribing — the node leaves the leader role, or the follower leaves the
 *   configuration — closes the reader (`iterator.return()`) and sends nothing more.
 *
 * ```
 * requests:  0------1-----------0'----1'------P------0''
 * reader:    (open)----(closed) (open)--------(closed)(open)
 * sent:      --c0------c1---------c0'----c1'-----------c0''  (each once its chunk and the next are read; P: park)
 * ```
 *
 * @example
 * // inside replicateTo(ctx, peer):
 * merge(sends$, responses$, snapshotTransfer(ctx, peer));
 */
export function snapshotTransfer(ctx: RoleContext, peer: NodeId): Observable<RaftEvent> {
  return ctx.snapshotChunks$.pipe(
    filter((r) => r.to === peer),
    // Built at this follower's first request: most followers never need a snapshot.
    buildOnFirst((first$) =>
      first$.pipe(share(), (requests$) =>
        requests$.pipe(
          filter((r) => r.type === 'parkSnapshotTransfer' || r.chunk === 0),
          startWith(null),
          // Before any chunk 0, and once parked, there is no reader: later chunks cannot be read.
          switchMap((start) =>
            start?.type === 'sendSnapshotChunk' ? transfer(ctx, start, laterChunks(requests$)) : laterChunks(requests$).pipe(concatMap(() => readFailed(peer))),
          ),
        ),
      ),
    ),
  );
}

/** The chunk requests of a transfer after its chunk 0 (a new chunk 0 starts another transfer, a park ends it). */
function laterChunks(requests$: Observable<SnapshotTransferRequest>): Observable<SnapshotChunkRequest> {
  return requests$.pipe(filter((r): r is SnapshotChunkRequest => r.type === 'sendSnapshotChunk' && r.chunk !== 0));
}

/** One transfer: opens a reader of the current snapshot for `start`, then sends each chunk asked for. */
function transfer(ctx: RoleContext, start: SnapshotChunkRequest, later$: Observable<SnapshotChunkRequest>): Observable<RaftEvent> {
  return defer(() => {
    const reader = openReader(ctx, start);
    // concatMap's queue holds the requests made while a chunk is read. It stays short: the
    // rules ask for one chunk at a time (the next after each acknowledgement, the awaited
    // one again after a silence); a chunk 0 (the transfer starts over) or a park (it
    // stalled for a few heartbeat ticks) drops this queue.
    return concat(of(start), later$).pipe(
      concatMap((r) => (reader ? sendChunk(ctx, reader, r) : readFailed(r.to))),
      finalize(() => reader?.close()),
    );
  });
}

/**
 * A reader of the current snapshot, opened at once, inside the turn that asked: the
 * snapshot current now is the one sent. None when there is no snapshot as recent as the
 * one asked for. Storage that cannot even open it throws: the pipeline fails and with it
 * the node (fail-stop), as for any storage failure; a failed read of a chunk only starts
 * the transfer over.
 */
function openReader(ctx: RoleContext, start: SnapshotChunkRequest): SnapshotReader | null {
  const snapshot = ctx.snapshotSource.readSnapshot();
  return snapshot && snapshot.meta.index >= start.index ? new SnapshotReader(snapshot.meta, snapshot.chunks) : null;
}

/** Reads chunk `r.chunk` and sends it; `snapshotReadFailed` when it is not the next one or the read fails. */
function sendChunk(ctx: RoleContext, reader: SnapshotReader, r: SnapshotChunkRequest): Observable<RaftEvent> {
  if (reader.meta.index < r.index || !reader.isNext(r.chunk)) {
    reader.close();
    return readFailed(r.to);
  }
  // `from(promise)`: a chunk read after the pipeline was unsubscribed is dropped unsent.
  return from(reader.read()).pipe(
    concatMap((read) => {
      if (!read) {
        reader.close();
        return readFailed(r.to);
      }
      const { meta } = reader;
      const message = { type: 'InstallSnapshot' as const, term: r.leaderTerm, leaderId: ctx.id, config: meta.config, chunk: r.chunk, data: read.data, done: read.last };
      try {
        ctx.transport.send(r.to, { ...message, lastIncludedIndex: meta.index, lastIncludedTerm: meta.term });
      } catch {
        // A transport that refuses the message: like a lost chunk, the transfer starts over.
        reader.close();
        return readFailed(r.to);
      }
      return EMPTY;
    }),
  );
}

/** Asks the rules to start the transfer over — a microtask later, never synchronously, so a retry cannot spin. */
function readFailed(to: NodeId): Observable<RaftEvent> {
  return from(Promise.resolve()).pipe(map((): RaftEvent => ({ kind: 'snapshotReadFailed', to })));
}

/**
 * Pulls a stored snapshot chunk by chunk, one chunk ahead: chunk `next` is sent once the
 * chunk after it has been read too, so the message says whether it is the last.
 * Invariant: `lookahead` is the read of chunk `next`; after `close()` nothing is next.
 */
class SnapshotReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private lookahead: Promise<IteratorResult<Uint8Array>>;
  private next = 0;
  private closed = false;

  constructor(
    readonly meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array>,
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
    this.lookahead = this.pull();
  }

  isNext(chunk: number): boolean {
    return !this.closed && chunk === this.next;
  }

  /** Chunk `next` and whether it is the last; null when there is none or a read failed. */
  async read(): Promise<{ data: Uint8Array; last: boolean } | null> {
    try {
      const current = await this.lookahead;
      if (current.done || this.closed) return null;
      this.lookahead = this.pull();
      const after = await this.lookahead;
      if (this.closed) return null;
      this.next++;
      return { data: current.value, last: after.done === true };
    } catch {
      return null;
    }
  }

  /** Releases the snapshot (a file handle, for file storage). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      void Promise.resolve(this.iterator.return?.()).catch(() => undefined);
    } catch {
      // a reader that cannot be closed has nothing more to release
    }
  }

  /** The next read; a rejection nobody awaits any more (closed meanwhile) is not unhandled. */
  private pull(): Promise<IteratorResult<Uint8Array>> {
    let read: Promise<IteratorResult<Uint8Array>>;
    try {
      read = Promise.resolve(this.iterator.next());
    } catch (e) {
      read = Promise.reject(e);
    }
    read.catch(() => undefined);
    return read;
  }
}
