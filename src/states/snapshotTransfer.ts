import { concat, concatMap, defer, EMPTY, filter, finalize, from, map, Observable, of, share, startWith, switchMap } from 'rxjs';
import type { RaftEvent } from '../core/events';
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
 * - A `start` request (chunk 0 of a new transfer) starts a fresh read of the current
 *   snapshot (the one asked for, or a newer one taken since) and closes the previous
 *   reader (`switchMap`); a park request (`parkSnapshotTransfer`: the follower went
 *   silent, or the transfer was given up) closes it and reads nothing until the next start.
 * - Requests of a transfer are handled one at a time, in order (`concatMap`). The next
 *   chunk is read; the chunk sent last is sent again from memory (the rules ask for the
 *   awaited chunk again when it or its answer may have been lost: the transfer goes on
 *   where it stopped). A request for any other chunk, a snapshot older than the one asked
 *   for, or a failed read answers `snapshotReadFailed` (the rules start the transfer
 *   over), always a microtask later, never synchronously, so that a retry cannot spin
 *   inside one turn.
 * - `replicateTo` builds it at the first request for its follower: a leader of many idle
 *   groups keeps no transfer pipeline per follower.
 * - Unsubscribing — the node leaves the leader role, or the follower leaves the
 *   configuration — closes the reader (`iterator.return()`) and sends nothing more.
 *
 * ```
 * requests:  S------1-----1-----------S'----0'---1'------P------S''
 * reader:    (open)----------(closed) (open)-------------(closed)(open)
 * sent:      --c0------c1----c1---------c0'---c0'--c1'-----------c0''
 * ```
 * S: a start (chunk 0); each chunk goes once it and the next are read; the second c1 and
 * the second c0' are sent again from memory (the rules asked for the awaited chunk
 * again); P: park.
 *
 * @example
 * // inside replicateTo(ctx, peer), at the follower's first snapshot request:
 * snapshotTransfer(ctx, peer, chunkRequests$).subscribe(events);
 */
export function snapshotTransfer(ctx: RoleContext, peer: NodeId, requests: Observable<SnapshotTransferRequest>): Observable<RaftEvent> {
  return requests.pipe(share(), (requests$) =>
    requests$.pipe(
      filter((r) => r.type === 'parkSnapshotTransfer' || r.start),
      startWith(null),
      // Before any start, and once parked, there is no reader: later chunks cannot be read.
      switchMap((start) =>
        start?.type === 'sendSnapshotChunk' ? transfer(ctx, start, laterChunks(requests$)) : laterChunks(requests$).pipe(concatMap(() => readFailed(peer))),
      ),
    ),
  );
}

/** The chunk requests of a transfer after its start (a new start begins another transfer, a park ends it). */
function laterChunks(requests$: Observable<SnapshotTransferRequest>): Observable<SnapshotChunkRequest> {
  return requests$.pipe(filter((r): r is SnapshotChunkRequest => r.type === 'sendSnapshotChunk' && !r.start));
}

/** One transfer: opens a reader of the current snapshot for `start`, then sends each chunk asked for. */
function transfer(ctx: RoleContext, start: SnapshotChunkRequest, later$: Observable<SnapshotChunkRequest>): Observable<RaftEvent> {
  return defer(() => {
    const reader = openReader(ctx, start);
    // concatMap's queue holds the requests made while a chunk is read. It stays short: the
    // rules ask for one chunk at a time (the next after each acknowledgement, the awaited
    // one again after a silence, a stall or a loss); a start (the transfer starts over) or a park
    // (the follower went silent) drops this queue.
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

/**
 * Reads chunk `r.chunk` (or takes the one sent last again) and sends it; `snapshotReadFailed`
 * when it is neither the next one nor the last one sent, or the read fails.
 */
function sendChunk(ctx: RoleContext, reader: SnapshotReader, r: SnapshotChunkRequest): Observable<RaftEvent> {
  if (reader.meta.index < r.index) {
    reader.close();
    return readFailed(r.to);
  }
  // `from(promise)`: a chunk read after the pipeline was unsubscribed is dropped unsent.
  return from(reader.read(r.chunk)).pipe(
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
 * chunk after it has been read too, so the message says whether it is the last. The chunk
 * read last is kept, to be sent again without reading anything (storage hands out a new
 * buffer for every chunk: see `Storage.readSnapshot`). At most two chunks are held: the
 * one kept and the one read ahead.
 * Invariant: `lookahead` is the read of chunk `next`; `sent` is chunk `next - 1` (null
 * before the first read); after `close()` nothing is next and nothing is kept.
 */
class SnapshotReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private lookahead: Promise<IteratorResult<Uint8Array>>;
  private next = 0;
  private sent: { readonly data: Uint8Array; readonly last: boolean } | null = null;
  private closed = false;

  constructor(
    readonly meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array>,
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
    this.lookahead = this.pull();
  }

  /**
   * Chunk `chunk` and whether it is the last: the next one, read now, or the one read
   * last, again; null for any other, once closed, or when the read fails.
   *
   * @example
   * await reader.read(0); // { data: <chunk 0>, last: false }
   * await reader.read(0); // the same again, nothing read
   * await reader.read(2); // null: chunk 1 comes first
   */
  async read(chunk: number): Promise<{ readonly data: Uint8Array; readonly last: boolean } | null> {
    if (this.closed) return null;
    if (chunk === this.next - 1) return this.sent;
    if (chunk !== this.next) return null;
    try {
      const current = await this.lookahead;
      if (current.done || this.closed) return null;
      this.lookahead = this.pull();
      const after = await this.lookahead;
      if (this.closed) return null;
      this.next++;
      this.sent = { data: current.value, last: after.done === true };
      return this.sent;
    } catch {
      return null;
    }
  }

  /** Releases the snapshot (a file handle, for file storage) and the chunk kept. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sent = null;
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
