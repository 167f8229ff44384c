import { concat, from, of } from 'ix/asynciterable';
import { InvalidMessageError } from '../errors';
import type { SessionsSnapshot } from './sessions';

/**
 * The byte stream of an rxraft snapshot: one header chunk (rxraft's own replicated state:
 * the client sessions), then the application's chunks, cut to a fixed size. Built and
 * consumed pull-based with `ix`, so neither side holds the whole state in memory.
 */
export interface SnapshotHeader {
  readonly format: 1;
  readonly sessions: SessionsSnapshot;
}

/** The chunks to store: the header, then the application's state re-cut to `chunkBytes`. */
export function snapshotChunks(
  header: SnapshotHeader,
  application: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkBytes: number,
): AsyncIterable<Uint8Array> {
  const headerChunk = Buffer.from(JSON.stringify(header), 'utf8');
  return concat(of(headerChunk), rechunk(from(application), chunkBytes));
}

/** Splits a stored snapshot into its header and the application's chunks (to hand to `restore`). */
export async function splitSnapshot(chunks: AsyncIterable<Uint8Array>): Promise<{ header: SnapshotHeader; rest: AsyncIterable<Uint8Array> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new InvalidMessageError('snapshot has no header chunk');
  let header: SnapshotHeader;
  try {
    header = JSON.parse(Buffer.from(first.value).toString('utf8')) as SnapshotHeader;
  } catch {
    throw new InvalidMessageError('snapshot header is not JSON');
  }
  if (header?.format !== 1 || !Array.isArray(header.sessions)) throw new InvalidMessageError('unknown snapshot header');
  const rest: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => iterator };
  return { header, rest };
}

/**
 * Re-cuts a stream of byte chunks into chunks of exactly `size` bytes (the last one
 * shorter). A source chunk of `size` or more is handed on in views, uncopied; smaller
 * pieces are gathered in one buffer of `size` owned here and reused.
 *
 * ```
 * source:  [5 bytes] [1 byte] [6 bytes]      size 4
 * output:  [4] [4] [4]
 * ```
 *
 * Its consumer must be done with each output chunk when it asks for the next (rxraft
 * writes each one to storage, `SnapshotWriter.write`, before it does), and it is done
 * with each source chunk when it asks the source for the next: it keeps no view of one.
 * So a source may refill one buffer between its chunks, and nothing here allocates per
 * chunk (joining fresh buffers per MiB made as much memory outside the JavaScript heap as
 * the snapshot, and V8 started mark-compacts to reclaim it: issue 17).
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  if (!(size > 0)) throw new RangeError('chunk size must be positive');
  /** Bytes carried over from earlier source chunks: `pending[0, held)`. */
  let pending: Buffer | null = null;
  let held = 0;
  for await (const chunk of source) {
    let at = 0;
    if (held > 0) {
      const take = Math.min(size - held, chunk.byteLength);
      pending!.set(chunk.subarray(0, take), held);
      held += take;
      at = take;
      if (held < size) continue;
      yield pending!;
      held = 0;
    }
    for (; chunk.byteLength - at >= size; at += size) yield chunk.subarray(at, at + size);
    if (at < chunk.byteLength) {
      pending ??= Buffer.allocUnsafeSlow(size);
      pending.set(chunk.subarray(at), 0);
      held = chunk.byteLength - at;
    }
  }
  if (held > 0) yield pending!.subarray(0, held);
}
