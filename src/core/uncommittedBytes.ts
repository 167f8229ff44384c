import type { LeaderState, RaftState } from './state';

/**
 * Payload bytes of the leader's entries after its commit index. Brings the running
 * count up to date: removes the entries committed since the last call (sizes remembered,
 * since they may be compacted by now) and adds those appended since (by whatever path).
 *
 * @example
 * uncommittedBytes(s, s.role); // 0 when everything appended is committed
 */
export function uncommittedBytes(s: RaftState, L: LeaderState): number {
  const u = L.uncommitted;
  while (u.base < s.commitIndex && u.base < u.through) {
    u.base++;
    u.bytes -= u.sizes[u.head++];
  }
  if (u.head > 1024 && u.head * 2 > u.sizes.length) {
    u.sizes.splice(0, u.head);
    u.head = 0;
  }
  if (u.base < s.commitIndex) u.base = u.through = s.commitIndex;
  while (u.through < s.log.lastIndex) {
    const size = s.log.sizeAt(++u.through)!;
    u.sizes.push(size);
    u.bytes += size;
  }
  return u.bytes;
}
