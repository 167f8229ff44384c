import type { RaftState } from '../core/state';
import type { FollowerProgress } from '../api';

/**
 * A leader's view of each follower (`RaftNode.followers()`), or null when `s` does not lead.
 *
 * @example
 * followerProgress(state, scheduler.now()); // [{ id: 'n2', matchIndex: 41, lag: 1, sinceContact: 12, state: 'replicating', storageReads: 0, storageReadBytes: 0, snapshot: null, snapshotTransfers: 0, snapshotChunksResent: 0, snapshotTransfersAbandoned: 0 }]
 */
export function followerProgress(s: RaftState, now: number): readonly FollowerProgress[] | null {
  if (s.role.name !== 'leader') return null;
  return [...s.role.progress].map(([id, pr]) => ({
    id,
    matchIndex: pr.match,
    lag: s.log.lastIndex - pr.match,
    // A quiet group's followers count as heard from now: its host would have woken it otherwise (core/quiescence.ts);
    // not those on a silent host, which it went quiet without.
    sinceContact: s.quiet && !s.silentPeers.includes(id) ? 0 : Math.max(0, now - pr.lastContact),
    state: pr.snapshot ? 'snapshot' : pr.probing ? 'probing' : 'replicating',
    storageReads: pr.storageReads,
    storageReadBytes: pr.storageReadBytes,
    snapshot: pr.snapshot && { index: pr.snapshot.index, chunk: pr.snapshot.chunk, parked: pr.snapshot.parked, abandoned: pr.snapshot.abandoned === true },
    snapshotTransfers: pr.snapshotTransfers,
    snapshotChunksResent: pr.snapshotChunksResent,
    snapshotTransfersAbandoned: pr.snapshotTransfersAbandoned,
  }));
}
