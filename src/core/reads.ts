import type { NodeId, ReadIndexRequest, ReadIndexResponse } from '../messages/types';
import { Effects } from './effects';
import type { LeaderState, PendingRead, RaftState } from './state';
import { isSingleVoter, quorumValue } from './config';
import { currentConfig } from './state';
import { sendHeartbeat } from './replication';

/**
 * Linearizable reads without writing to the log (ReadIndex, dissertation §6.4):
 * 1. the leader waits until an entry of its own term has committed (it then knows the
 *    commit index is current);
 * 2. it records the commit index as the read index;
 * 3. it starts a new heartbeat round and waits for a majority to answer it — proof that
 *    no newer leader existed when the read arrived;
 * 4. the caller waits until its node has applied the read index, then reads locally.
 * With `lease`, step 3 is skipped while the leader's lease holds (§6.4.1).
 */

/** A read asked on this node. Followers forward it to the leader when forwarding is on. */
export function stepRead(s: RaftState, requestId: number, lease: boolean, fx: Effects): void {
  if (s.role.name === 'leader') {
    leaderRead(s, s.role, { from: null, requestId }, lease, fx);
  } else if (s.options.forward && s.role.name === 'follower' && s.leaderId !== null) {
    fx.send(s.leaderId, { type: 'ReadIndexRequest', term: s.term, requestId, lease });
  } else {
    fx.push({ type: 'readFailed', requestId });
  }
}

/** A follower asks for a read index on behalf of its callers. */
export function handleReadIndexRequest(s: RaftState, from: NodeId, m: ReadIndexRequest, fx: Effects): void {
  if (s.role.name !== 'leader') {
    fx.send(from, { type: 'ReadIndexResponse', term: s.term, requestId: m.requestId, success: false, readIndex: 0 });
    return;
  }
  leaderRead(s, s.role, { from, requestId: m.requestId }, m.lease, fx);
}

/** The leader's answer to a read this node forwarded. */
export function handleReadIndexResponse(s: RaftState, m: ReadIndexResponse, fx: Effects): void {
  fx.push(m.success ? { type: 'readReady', requestId: m.requestId, index: m.readIndex } : { type: 'readFailed', requestId: m.requestId });
}

function leaderRead(s: RaftState, L: LeaderState, asker: Omit<PendingRead, 'index' | 'seq'>, lease: boolean, fx: Effects): void {
  if (s.log.termAt(s.commitIndex) !== s.term) {
    L.readsBeforeCommit.push(asker);
    return;
  }
  const read = { ...asker, index: s.commitIndex };
  if ((lease && leaseHolds(s, L)) || isSingleVoter(currentConfig(s), s.id)) {
    answer(s, { ...read, seq: L.seq }, fx);
    return;
  }
  L.reads.push({ ...read, seq: startRound(s, L, fx) });
}

/** Starts a heartbeat round: every follower gets an AppendEntries carrying the new `seq`. */
export function startRound(s: RaftState, L: LeaderState, fx: Effects): number {
  // Rounds older than the one a majority answered are never needed again.
  const quorum = quorumRound(s, L);
  for (const seq of L.roundStarts.keys()) if (seq < quorum) L.roundStarts.delete(seq);
  L.seq++;
  L.roundStarts.set(L.seq, s.now);
  for (const [peer, pr] of L.progress) sendHeartbeat(s, peer, pr, fx);
  return L.seq;
}

/** Once an entry of this term has committed, reads that waited for it start their rounds. */
export function releaseReadsBeforeCommit(s: RaftState, L: LeaderState, fx: Effects): void {
  if (L.readsBeforeCommit.length === 0 || s.log.termAt(s.commitIndex) !== s.term) return;
  const waiting = L.readsBeforeCommit.splice(0);
  const index = s.commitIndex;
  if (isSingleVoter(currentConfig(s), s.id)) {
    for (const asker of waiting) answer(s, { ...asker, index, seq: L.seq }, fx);
    return;
  }
  const seq = startRound(s, L, fx);
  for (const asker of waiting) L.reads.push({ ...asker, index, seq });
}

/** Answers every read whose round a majority has acknowledged. */
export function confirmReads(s: RaftState, L: LeaderState, fx: Effects): void {
  if (L.reads.length === 0) return;
  const confirmed = quorumRound(s, L);
  let n = 0;
  while (n < L.reads.length && L.reads[n].seq <= confirmed) answer(s, L.reads[n++], fx);
  if (n > 0) L.reads.splice(0, n);
}

/** The newest round that a majority (the leader included) has answered. */
function quorumRound(s: RaftState, L: LeaderState): number {
  return quorumValue(currentConfig(s), (v) => (v === s.id ? L.seq : (L.progress.get(v)?.ackedSeq ?? 0)));
}

/**
 * Whether the leader's lease holds: a majority answered a round that started less than
 * `electionTimeoutMin - leaseDriftMargin` ago. Those voters veto pre-votes for an election
 * timeout after hearing from us, so no other leader can exist until then. Requires
 * CheckQuorum and PreVote.
 */
export function leaseHolds(s: RaftState, L: LeaderState): boolean {
  if (!s.options.checkQuorum || !s.options.preVote) return false;
  const start = L.roundStarts.get(quorumRound(s, L));
  return start !== undefined && s.now < start + s.options.electionTimeoutMin - s.options.leaseDriftMargin;
}

function answer(s: RaftState, read: PendingRead, fx: Effects): void {
  if (read.from === null) fx.push({ type: 'readReady', requestId: read.requestId, index: read.index });
  else fx.send(read.from, { type: 'ReadIndexResponse', term: s.term, requestId: read.requestId, success: true, readIndex: read.index });
}

/** On leaving office: every read still waiting fails, so its caller can retry elsewhere. */
export function abandonReads(s: RaftState, L: LeaderState, fx: Effects): void {
  for (const read of [...L.readsBeforeCommit, ...L.reads]) {
    if (read.from === null) fx.push({ type: 'readFailed', requestId: read.requestId });
    else fx.send(read.from, { type: 'ReadIndexResponse', term: s.term, requestId: read.requestId, success: false, readIndex: 0 });
  }
  L.reads.length = 0;
  L.readsBeforeCommit.length = 0;
}
