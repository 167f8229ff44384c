import { currentConfig, RaftState } from '../core/state';
import type { ReplicationView } from '../testHooks';

/**
 * A copy of a node's Raft state for tests (`ReplicationView`): changing it changes nothing.
 *
 * @example
 * const view = inspectState(state, scheduler.now());
 * expect(view.commitIndex).toBe(view.lastIndex);
 */
export function inspectState(s: RaftState, now: number): ReplicationView {
  const log: { index: number; term: number }[] = [];
  for (let i = s.log.snapshotIndex + 1; i <= s.log.lastIndex; i++) log.push({ index: i, term: s.log.termAt(i)! });
  const L = s.role.name === 'leader' ? s.role : null;
  const progress = L
    ? new Map(
        [...L.progress].map(([id, pr]) => [
          id,
          {
            id,
            match: pr.match,
            next: pr.next,
            state: pr.snapshot ? ('snapshot' as const) : pr.probing ? ('probe' as const) : ('replicate' as const),
            inflight: pr.probing ? (pr.probeSent ? 1 : 0) : pr.inflight.length,
            paused: pr.isPaused(s.options.maxInflight),
            lastContact: Math.min(pr.lastContact, now),
            readAheadBytes: pr.readAheadBytes,
            snapshot: pr.snapshot && { index: pr.snapshot.index, term: pr.snapshot.term, chunk: pr.snapshot.chunk, parked: pr.snapshot.parked },
          },
        ]),
      )
    : null;
  const config = currentConfig(s);
  return {
    id: s.id,
    role: s.role.name,
    term: s.term,
    votedFor: s.votedFor,
    leaderId: s.leaderId,
    log,
    lastIndex: s.log.lastIndex,
    lastTerm: s.log.lastTerm,
    snapshotIndex: s.log.snapshotIndex,
    held: { entries: s.log.heldEntries, bytes: s.log.heldBytes, from: s.log.cachedFrom },
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    applyingIndex: s.applyingIndex,
    durableIndex: s.durableIndex,
    unstable: log.filter((e) => e.index > s.durableIndex),
    config: { ...config, voters: [...config.voters], learners: [...config.learners], ...(config.oldVoters ? { oldVoters: [...config.oldVoters] } : {}) },
    progress,
    transfer: L?.transfer ? { to: L.transfer.to, timeoutNowSent: L.transfer.timeoutNowSent } : null,
    lastLeaderContact: s.lastLeaderContact,
  };
}
