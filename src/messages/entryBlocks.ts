import { BlockEntry } from './blockEntry';
import type { Entry } from './entry';
import { encodedSize, encodeEntries, writeEntries } from './entryCodec';

/**
 * The binary block of a list of entries, encoded once however many times it is needed.
 *
 * A leader encodes a batch for its own write-ahead log and for each follower's
 * AppendEntries: the lists differ as arrays (each comes from its own `slice` of the log)
 * but hold the same entry objects. A follower writes to its log the entries it just
 * decoded from a block. Both find the block here instead of encoding it again.
 *
 * The cache holds the last few blocks only (bounded memory), and a hit requires the very
 * same entry objects in the same order: entries are immutable, so equal identities mean
 * equal bytes, whoever asks.
 *
 * A block need not be encoded on its own: a transport that lays out a socket write asks
 * `blockFor`, and when the block is not cached writes it straight into that write's buffer
 * (`writeBlock`), copying each payload once; the block remembered is then a view into
 * that buffer (at most a write batch, a few hundred KiB, kept alive while cached).
 *
 * @example
 * const block = entriesBlock(batch);              // encoded
 * entriesBlock(log.slice(first, last)) === block; // true: same entry objects
 */
/**
 * A leader's batch takes a slot when it is appended, and one more per follower's slice
 * and per apply (the log hands out new views of its entries each time: see `RaftLog`);
 * its write-ahead log write may come a few batches later, behind an fsync.
 */
const CACHED_BLOCKS = 32;

interface CachedBlock {
  readonly entries: readonly Entry[];
  readonly block: Buffer;
}

const cache: (CachedBlock | undefined)[] = new Array(CACHED_BLOCKS);
let nextSlot = 0;

/** The block of `entries`: cached, or encoded now and cached. */
export function entriesBlock(entries: readonly Entry[]): Buffer {
  const cached = lookup(entries);
  if (cached !== undefined) return cached;
  const block = encodeEntries(entries);
  rememberBlock(entries, block);
  return block;
}

/**
 * Entries whose block is not encoded yet, to be laid out where it travels (`writeBlock`).
 * `byteLength` is the block's size, as for an encoded block.
 */
export interface UnencodedBlock {
  readonly entries: readonly Entry[];
  readonly byteLength: number;
}

/**
 * The block of `entries` if it is encoded already, else an `UnencodedBlock` for
 * `writeBlock`: what a sender asks when it copies the block into a buffer of its own anyway.
 * `size`, when the caller has measured the block already, must be `encodedSize(entries)`
 * (`writeBlock` checks it).
 *
 * @example
 * const block = blockFor(batch);
 * const end = block instanceof Uint8Array ? (out.set(block, at), at + block.length) : writeBlock(block, out, at);
 */
export function blockFor(entries: readonly Entry[], size?: number): Buffer | UnencodedBlock {
  return lookup(entries) ?? { entries, byteLength: size ?? encodedSize(entries) };
}

/**
 * Lays out an unencoded block at `at` in `out` (room for `block.byteLength` bytes from
 * there) and remembers that part of `out` as the block of its entries, so that the next
 * follower's AppendEntries, or the log, finds it encoded. Returns where it ends.
 */
export function writeBlock(block: UnencodedBlock, out: Buffer, at: number): number {
  const end = writeEntries(block.entries, out, at);
  // A wrong size would shift every frame after this one: fail loudly instead (a bug, never the peer's doing).
  if (end - at !== block.byteLength) throw new Error(`entries block of ${end - at} bytes laid out where ${block.byteLength} were reserved`);
  rememberBlock(block.entries, out.subarray(at, end));
  return end;
}

/**
 * The block of `entries` if it is encoded already and lies in the memory their views point
 * into (entries a log handed out as views of its batch's block), else undefined. A sender
 * may keep it with a queued message, so that the block is still found when the message is
 * written, after the cache moved on: it keeps no memory alive that the entries do not.
 *
 * @example
 * const views = log.slice(next, last); // one whole batch: its block is remembered
 * heldBlock(views);                    // that block
 */
export function heldBlock(entries: readonly Entry[]): Buffer | undefined {
  const first = entries[0];
  if (!(first instanceof BlockEntry)) return undefined;
  const block = lookup(entries);
  return block !== undefined && block.buffer === first.block.buffer ? block : undefined;
}

/** Records that `block` encodes `entries` (e.g. the block they were decoded from). */
export function rememberBlock(entries: readonly Entry[], block: Buffer): void {
  if (entries.length === 0) return;
  cache[nextSlot] = { entries, block };
  nextSlot = (nextSlot + 1) % CACHED_BLOCKS;
}

function lookup(entries: readonly Entry[]): Buffer | undefined {
  const n = entries.length;
  if (n === 0) return undefined;
  for (let slot = 0; slot < CACHED_BLOCKS; slot++) {
    const c = cache[slot];
    if (c === undefined || c.entries.length !== n || c.entries[0] !== entries[0] || c.entries[n - 1] !== entries[n - 1]) continue;
    if (c.entries === entries || sameObjects(c.entries, entries)) return c.block;
  }
  return undefined;
}

function sameObjects(a: readonly Entry[], b: readonly Entry[]): boolean {
  for (let i = 1; i < a.length - 1; i++) if (a[i] !== b[i]) return false;
  return true;
}
