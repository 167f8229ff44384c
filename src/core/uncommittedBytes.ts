import type { LeaderState, RaftState } from './state';

/**
 * Payload bytes of the leader's entries not yet both committed and durable here: after
 * `min(commitIndex, durableIndex)`. Brings the running count up to date: removes the
 * entries settled since the last call (sizes remembered, since they may be compacted by
 * now) and adds those appended since (by whatever path).
 *
 * Durable here as well as committed: a leader whose own disk hangs still commits on its
 * followers' copies, but holds every entry it has not written in memory (the log cache
 * cannot evict it, and nothing past its durable index is applied). Counting those keeps
 * `maxUncommittedBytes` a bound on the leader's memory then too: it refuses proposals
 * (`LeaderOverloadedError`) instead of growing without end until the disk returns.
 *
 * @example
 * uncommittedBytes(s, s.role); // 0 when everything appended is committed and durable here
 */
export function uncommittedBytes(s: RaftState, L: LeaderState): number {
  const u = L.uncommitted;
  const settled = s.plantedBug === 'uncounted-leader-writes' ? s.commitIndex : Math.min(s.commitIndex, s.durableIndex);
  while (u.base < settled && u.base < u.through) {
    u.base++;
    u.bytes -= u.sizes[u.head++];
  }
  if (u.head > 1024 && u.head * 2 > u.sizes.length) {
    u.sizes.splice(0, u.head);
    u.head = 0;
  }
  if (u.base < settled) u.base = u.through = settled;
  while (u.through < s.log.lastIndex) {
    const size = s.log.sizeAt(++u.through)!;
    u.sizes.push(size);
    u.bytes += size;
  }
  return u.bytes;
}
