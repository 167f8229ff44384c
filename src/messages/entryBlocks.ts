import type { Entry } from './entry';
import { encodeEntries } from './entryCodec';

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
 * @example
 * const block = entriesBlock(batch);              // encoded
 * entriesBlock(log.slice(first, last)) === block; // true: same entry objects
 */
const CACHED_BLOCKS = 8;

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
