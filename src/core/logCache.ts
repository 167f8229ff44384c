import { entrySize } from '../messages/blockEntry';
import type { RaftState } from './state';

/** What an entry held in memory counts for against `logCacheBytes` besides its payload (the object and its views). */
export const ENTRY_OVERHEAD_BYTES = 64;

/**
 * Evicts from the in-memory log the oldest entries that are durable here and applied by
 * the application, once what it holds passes `logCacheBytes` by a quarter, back down to
 * `logCacheBytes` (payload plus `ENTRY_OVERHEAD_BYTES` per entry). The rule: an entry not
 * yet durable or not yet applied is never evicted, so applying, the commit rules and the
 * leader's uncommitted-bytes limit find every entry they need in memory; only
 * replication to a lagging follower reads storage (`readEntries`). Called once, at the
 * end of every step. Each entry is evicted once; the quarter of slack keeps the cost of
 * an eviction (one cut of the array) spread over many entries.
 *
 * @example
 * // logCacheBytes 0, entries 1..10 durable, 1..6 applied:
 * maybeEvict(s); // s.log.cachedFrom === 7
 */
export function maybeEvict(s: RaftState): void {
  const log = s.log;
  const budget = s.options.logCacheBytes;
  let held = log.heldBytes + log.heldEntries * ENTRY_OVERHEAD_BYTES;
  if (held <= budget + Math.floor(budget / 4)) return;
  const limit = Math.min(s.appliedIndex, s.durableIndex);
  let through = log.cachedFrom - 1;
  while (through < limit && held > budget) {
    const entry = log.entry(through + 1);
    if (!entry) break;
    held -= entrySize(entry) + ENTRY_OVERHEAD_BYTES;
    through++;
  }
  log.evictThrough(through);
}
