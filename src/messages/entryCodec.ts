import { InvalidMessageError } from '../errors';
import { Entry, EntryKind, isEntryKind } from './entry';

/**
 * The binary layout of a batch of entries: laid out once, then sent unchanged in every
 * follower's AppendEntries and written unchanged to the write-ahead log.
 *
 *     u32 count, then per entry:
 *     u32 indexHigh | u32 indexLow | u32 termHigh | u32 termLow | u8 kind | u32 length | bytes
 *
 * @example
 * const block = encodeEntries([{ index: 1, term: 1, kind: EntryKind.Command, data }]);
 * decodeEntries(block)[0].index; // 1
 */
export const ENTRY_HEADER_BYTES = 21;
const TWO_32 = 0x1_0000_0000;

/** The number of bytes `encodeEntries` produces for these entries. */
export function encodedSize(entries: readonly Entry[]): number {
  let size = 4;
  for (const e of entries) size += ENTRY_HEADER_BYTES + e.data.byteLength;
  return size;
}

/** Lays out entries as one binary block. */
export function encodeEntries(entries: readonly Entry[]): Buffer {
  const out = Buffer.allocUnsafe(encodedSize(entries));
  out.writeUInt32BE(entries.length, 0);
  let at = 4;
  for (const e of entries) {
    at = writeUint53(out, e.index, at);
    at = writeUint53(out, e.term, at);
    out[at++] = e.kind;
    out.writeUInt32BE(e.data.byteLength, at);
    at += 4;
    out.set(e.data, at);
    at += e.data.byteLength;
  }
  return out;
}

/**
 * Reads a block made by `encodeEntries`. The entries' data are views into `block`
 * (no copy). Throws `InvalidMessageError` on any inconsistency.
 */
export function decodeEntries(block: Uint8Array): Entry[] {
  const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  if (buf.length < 4) throw new InvalidMessageError('entry block shorter than its count');
  const count = buf.readUInt32BE(0);
  if (count > (buf.length - 4) / ENTRY_HEADER_BYTES) throw new InvalidMessageError(`entry count ${count} exceeds block size`);
  const entries: Entry[] = new Array(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + ENTRY_HEADER_BYTES > buf.length) throw new InvalidMessageError('entry header truncated');
    const index = readUint53(buf, at);
    const term = readUint53(buf, at + 8);
    const kind = buf[at + 16];
    const length = buf.readUInt32BE(at + 17);
    at += ENTRY_HEADER_BYTES;
    if (!isEntryKind(kind)) throw new InvalidMessageError(`unknown entry kind ${kind}`);
    if (at + length > buf.length) throw new InvalidMessageError('entry data truncated');
    entries[i] = { index, term, kind: kind as EntryKind, data: buf.subarray(at, at + length) };
    at += length;
  }
  if (at !== buf.length) throw new InvalidMessageError(`${buf.length - at} trailing bytes after entries`);
  return entries;
}

function writeUint53(buf: Buffer, n: number, at: number): number {
  buf.writeUInt32BE(Math.floor(n / TWO_32), at);
  buf.writeUInt32BE(n >>> 0, at + 4);
  return at + 8;
}

function readUint53(buf: Buffer, at: number): number {
  const high = buf.readUInt32BE(at);
  if (high > 0x1f_ffff) throw new InvalidMessageError('integer beyond 2^53');
  return high * TWO_32 + buf.readUInt32BE(at + 4);
}
