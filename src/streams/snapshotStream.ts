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
 * shorter), copying only when a chunk must be split or joined.
 *
 * ```
 * source:  [5 bytes] [1 byte] [6 bytes]      size 4
 * output:  [4] [4] [4]
 * ```
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  if (!(size > 0)) throw new RangeError('chunk size must be positive');
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (held + rest.byteLength >= size) {
      const take = size - held;
      parts.push(rest.subarray(0, take));
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts);
      parts = [];
      held = 0;
      rest = rest.subarray(take);
    }
    if (rest.byteLength > 0) {
      parts.push(rest);
      held += rest.byteLength;
    }
  }
  if (held > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
