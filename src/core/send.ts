import type { AppendEntries, NodeId } from '../messages/types';
import { Effects } from './effects';
import { Progress } from './progress';
import { startSnapshotTransfer } from './snapshots';
import { RaftState } from './state';

/*
 * What a leader sends its followers: AppendEntries with entries, probes and heartbeats
 * (Raft §5.3, §5.2). The lowest layer of replication: these functions decide nothing
 * about commit or roles, and the per-message handlers above them (replication.ts,
 * reads.ts, roles.ts, membership.ts, proposals.ts) call them, never the other way round.
 */

/** Sends every follower what it is missing, as far as its window allows. */
export function broadcastAppend(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  for (const [peer, pr] of s.role.progress) sendAppend(s, peer, pr, fx);
}

/**
 * Sends `peer` the entries from its `next` index, repeatedly while its window has room
 * (replicating), or one probe (probing; a probe goes out even when it carries no
 * entries, to learn where the logs match). Sends nothing to an up-to-date follower.
 */
export function sendAppend(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (s.role.name !== 'leader' || pr.snapshot) return;
  const { maxEntriesPerMessage, maxBytesPerMessage, maxInflight } = s.options;
  while (!pr.isPaused(maxInflight)) {
    if (pr.next > s.log.lastIndex && !pr.probing) return;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = s.log.termAt(prevLogIndex);
    // The entries the follower needs are compacted away: it gets the snapshot instead.
    if (pr.next < s.log.firstIndex || (prevLogTerm === undefined && prevLogIndex < s.log.firstIndex)) {
      return startSnapshotTransfer(s, peer, pr, fx);
    }
    if (prevLogTerm === undefined) throw new Error(`progress of ${peer} points past the log: next ${pr.next}`);
    const entries = s.log.slice(pr.next, s.log.lastIndex, maxEntriesPerMessage, maxBytesPerMessage);
    if (entries.length === 0 && !pr.probing) return;
    fx.sendNow(peer, {
      type: 'AppendEntries',
      term: s.term,
      leaderId: s.id,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: s.commitIndex,
      seq: s.role.seq,
    });
    pr.commitSent = s.commitIndex;
    pr.sent(prevLogIndex + entries.length);
    if (pr.probing) return;
  }
}

/**
 * An empty AppendEntries at the follower's match index: it cannot fail the consistency
 * check, keeps the follower from campaigning (§5.2) and carries the commit index.
 */
export function sendHeartbeat(s: RaftState, peer: NodeId, pr: Progress, fx: Effects, notice = false): void {
  if (s.role.name !== 'leader') return;
  const heartbeat: AppendEntries = {
    type: 'AppendEntries',
    term: s.term,
    leaderId: s.id,
    prevLogIndex: pr.match,
    prevLogTerm: s.log.termAt(pr.match) ?? 0,
    entries: [],
    leaderCommit: s.commitIndex,
    seq: s.role.seq,
  };
  if (notice) fx.sendNotice(peer, heartbeat);
  else fx.sendNow(peer, heartbeat);
  pr.commitSent = s.commitIndex;
}

/**
 * Tells an idle follower a commit index it has not heard yet, so a command forwarded
 * through it (or a read on it) completes now rather than at the next heartbeat. A
 * follower with AppendEntries in flight hears it from the next one.
 */
export function maybeSendCommit(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (pr.snapshot || pr.probing || pr.inflight.length > 0 || pr.commitSent >= s.commitIndex) return;
  sendHeartbeat(s, peer, pr, fx, true);
}
