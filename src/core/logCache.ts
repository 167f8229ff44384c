import type { RaftState } from './state';

/** What an entry held in memory counts for against `logCacheBytes` besides its payload (the object and its views). */
export const ENTRY_OVERHEAD_BYTES = 64;

/**
 * The most a node that does not lead keeps of durable, applied entries, whatever
 * `logCacheBytes` allows (when that is more). It serves no follower; the cache is for
 * after it is elected, and then a follower behind is read its entries from storage
 * instead. Why: a follower keeps the blocks it received, and with 4 MiB of them (a few
 * hundred milliseconds under load, about a scavenge interval) they were promoted by V8,
 * and their buffers outside the heap, freed only by a mark-compact, set one off about
 * every second at 256 proposers of 100 B (issue 17, docs/notes/gc.md).
 */
export const NOT_LEADING_CACHE_BYTES = 512 * 1024;

/**
 * Evicts from the in-memory log the oldest entries that are durable here and applied by
 * the application, once what it holds passes the budget by a quarter, back down to it
 * (payload plus `ENTRY_OVERHEAD_BYTES` per entry). The budget is `logCacheBytes`, and at
 * most `NOT_LEADING_CACHE_BYTES` on a node that does not lead. The rules:
 *
 * - an entry not yet durable or not yet applied is never evicted, so applying, the commit
 *   rules and the leader's uncommitted-bytes limit find every entry they need in memory;
 * - on a leader, an entry a replicating follower has not acknowledged (from the lowest
 *   `match + 1` among them: `replicationFloor`) is kept beyond `logCacheBytes`, up to a
 *   hard cap of `logCacheBytes + maxInflightBytes`: a follower one window behind the
 *   others is then sent its entries from memory, not read back from storage. Past the
 *   cap the oldest go all the same, so a follower far behind is served from storage
 *   (`readEntries`) and memory stays bounded by configuration, not by how far it lags.
 *
 * Called once, at the end of every step. Each entry is evicted once; the quarter of
 * slack (over the budget, and over the cap) keeps the cost of an eviction (one cut of
 * the array) spread over many entries.
 *
 * @example
 * // logCacheBytes 0, entries 1..10 durable, 1..6 applied, no follower behind:
 * maybeEvict(s); // s.log.cachedFrom === 7
 */
export function maybeEvict(s: RaftState): void {
  const log = s.log;
  const budget = s.role.name === 'leader' ? s.options.logCacheBytes : Math.min(s.options.logCacheBytes, NOT_LEADING_CACHE_BYTES);
  const slack = Math.floor(budget / 4);
  let held = log.heldBytes + log.heldEntries * ENTRY_OVERHEAD_BYTES;
  if (held <= budget + slack) return;
  const floor = replicationFloor(s);
  const cap = budget + s.options.maxInflightBytes;
  if (log.cachedFrom >= floor && held <= cap + slack) return;
  const limit = Math.min(s.appliedIndex, s.durableIndex);
  let through = log.cachedFrom - 1;
  while (through < limit && held > budget && (through < floor - 1 || held > cap)) {
    const size = log.sizeAt(through + 1);
    if (size === undefined) break;
    held -= size + ENTRY_OVERHEAD_BYTES;
    through++;
  }
  log.evictThrough(through);
}

/**
 * The first index some replicating follower has not acknowledged (`match + 1`), or
 * Infinity when this node does not lead or no follower is replicating. A follower being
 * probed or sent a snapshot pins nothing: it is not streaming, and may be down.
 */
export function replicationFloor(s: RaftState): number {
  if (s.role.name !== 'leader') return Infinity;
  let floor = Infinity;
  for (const pr of s.role.progress.values()) {
    if (!pr.probing && !pr.snapshot) floor = Math.min(floor, pr.match + 1);
  }
  return floor;
}
