import type { RaftState } from './state';
import { uncommittedBytes } from './uncommittedBytes';

/** What an entry held in memory counts for against `logCacheBytes` besides its payload (the object and its views). */
export const ENTRY_OVERHEAD_BYTES = 64;

/**
 * The most of durable, applied entries kept while no follower can need them from memory,
 * whatever `logCacheBytes` allows (when that is more): on a node that does not lead (it
 * serves no follower; once elected, a follower behind is read its entries from storage),
 * and on a leader while every follower replicates (each one pins what it has not
 * acknowledged, `replicationFloor`; the cache is for a follower that stopped replicating,
 * and from the moment one does, the leader keeps `logCacheBytes`).
 *
 * Why: what the cache holds lives as long as the cache spans, and with 4 MiB (a few
 * hundred milliseconds under load, about a scavenge interval) V8 promoted the blocks a
 * follower received and the leader's slabs, whose buffers outside the heap are freed only
 * by a mark-compact: at 256 proposers of 100 B one ran about every second on every node
 * (issue 17, docs/notes/gc.md).
 */
export const UNNEEDED_CACHE_BYTES = 512 * 1024;

/**
 * Evicts from the in-memory log the oldest entries that are durable here and applied by
 * the application, once what it holds passes the budget by a quarter, back down to it
 * (payload plus `ENTRY_OVERHEAD_BYTES` per entry). The budget is `logCacheBytes`, and at
 * most `UNNEEDED_CACHE_BYTES` while no follower can need the cache (`cacheBudget`). The
 * rules:
 *
 * - an entry not yet durable or not yet applied is never evicted, so applying, the commit
 *   rules and the leader's uncommitted-bytes limit find every entry they need in memory;
 * - on a leader, an entry a replicating follower has not acknowledged (from the lowest
 *   `match + 1` among them: `replicationFloor`) is kept beyond `logCacheBytes`, up to a
 *   hard cap of `logCacheBytes + maxInflightBytes` of committed entries, besides the
 *   uncommitted ones (held anyway, at most `maxUncommittedBytes`): a follower one window
 *   behind the majority is then sent its entries from memory, not read back from storage.
 *   Past the cap the oldest go all the same, so a follower far behind is served from
 *   storage (`readEntries`), and pins nothing more until it is back in memory
 *   (`replicationFloor`); memory stays bounded by configuration (at most
 *   `logCacheBytes + maxInflightBytes + maxUncommittedBytes` and one batch, with slack), not by how far it lags. The
 *   cap counted the uncommitted entries too until issue 17: with 256 proposers of 64 KiB
 *   (16 MiB uncommitted, more than the 12 MiB cap) a follower a few entries behind the
 *   other was already read from storage, and never caught up.
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
  const budget = cacheBudget(s);
  const slack = Math.floor(budget / 4);
  let held = log.heldBytes + log.heldEntries * ENTRY_OVERHEAD_BYTES;
  if (held <= budget + slack) return;
  const floor = replicationFloor(s);
  // The cap bounds the committed entries kept for a lagging follower; the uncommitted tail is held anyway (maxUncommittedBytes).
  const cap = s.options.logCacheBytes + s.options.maxInflightBytes + uncommittedHeld(s);
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

/** What the leader's entries after its commit index count against the cache (0 on a node that does not lead). */
function uncommittedHeld(s: RaftState): number {
  if (s.role.name !== 'leader') return 0;
  return uncommittedBytes(s, s.role) + (s.log.lastIndex - s.commitIndex) * ENTRY_OVERHEAD_BYTES;
}

/**
 * What the cache of durable, applied entries may hold now: `logCacheBytes` on a leader
 * with a follower that does not replicate (being probed, or sent a snapshot: it may
 * come back a little behind), else at most `UNNEEDED_CACHE_BYTES`.
 */
export function cacheBudget(s: RaftState): number {
  const configured = s.options.logCacheBytes;
  if (configured <= UNNEEDED_CACHE_BYTES) return configured;
  if (s.role.name !== 'leader') return UNNEEDED_CACHE_BYTES;
  for (const pr of s.role.progress.values()) {
    if (pr.probing || pr.snapshot) return configured;
  }
  return UNNEEDED_CACHE_BYTES;
}

/**
 * The first index some replicating follower served from memory has not acknowledged
 * (`match + 1`), or Infinity when this node does not lead or no such follower exists. A
 * follower being probed or sent a snapshot pins nothing: it is not streaming, and may be
 * down. Nor does one whose unacknowledged entries have left memory already (`match + 1`
 * below `cachedFrom`: it fell past the cap, and is read from storage, ahead of its window,
 * `Progress.readAhead`): keeping the newest committed entries up to the cap would not
 * bring it back to memory any sooner, and at 1,024 proposers of 64 KiB those 12 MiB of
 * buffers living longer raised the leader's GC share (issue 17). Once it has caught up
 * with memory, it pins again.
 */
export function replicationFloor(s: RaftState): number {
  if (s.role.name !== 'leader') return Infinity;
  let floor = Infinity;
  for (const pr of s.role.progress.values()) {
    if (!pr.probing && !pr.snapshot && pr.match + 1 >= s.log.cachedFrom) floor = Math.min(floor, pr.match + 1);
  }
  return floor;
}
