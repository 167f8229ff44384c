import type { NodeId, ReadIndexRequest, ReadIndexResponse } from '../messages/types';
import { Effects } from './effects';
import type { LeaderState, PendingRead, RaftState } from './state';
import { isSingleVoter, quorumValue } from './quorum';
import { currentConfig } from './state';
import { sendHeartbeat, wantCommit } from './send';

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
export function handleReadIndexResponse(m: ReadIndexResponse, fx: Effects): void {
  fx.push(m.success ? { type: 'readReady', requestId: m.requestId, index: m.readIndex } : { type: 'readFailed', requestId: m.requestId });
}

function leaderRead(s: RaftState, L: LeaderState, asker: Omit<PendingRead, 'index' | 'seq'>, lease: boolean, fx: Effects): void {
  if (s.log.termAt(s.commitIndex) !== s.term) {
    L.readsBeforeCommit.push(asker);
    return;
  }
  const index = s.commitIndex;
  if ((lease && leaseHolds(s, L)) || isSingleVoter(currentConfig(s), s.id)) {
    answer(s, pendingRead(asker, index, L.seq), fx);
    return;
  }
  L.reads.push(pendingRead(asker, index, startRound(s, L, fx)));
}

/**
 * The read of `asker` at `index` in round `seq`, as one object literal: on Node 20 a
 * spread of the asker plus the two fields leaves V8's fast path (~350 ns per field added).
 */
function pendingRead(asker: Omit<PendingRead, 'index' | 'seq'>, index: number, seq: number): PendingRead {
  return { from: asker.from, requestId: asker.requestId, index, seq };
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
    for (const asker of waiting) answer(s, pendingRead(asker, index, L.seq), fx);
    return;
  }
  const seq = startRound(s, L, fx);
  for (const asker of waiting) L.reads.push(pendingRead(asker, index, seq));
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
 * Whether the leader's lease holds (dissertation §6.4.1): a majority of the configuration
 * in effect answered a round that started less than `electionTimeoutMin -
 * leaseDriftMargin` ago, this leader has sent no TimeoutNow in its term, and CheckQuorum
 * (hence leader stickiness) is on.
 *
 * The argument. Let this leader L hold term T, and let Q be the voters that answered
 * round r, which L started at time t0. Each voter in Q heard from L at t0 or later and
 * so believes in L (`believesInLeader`) until at least t0 + electionTimeoutMin by its
 * own clock; the drift margin covers clocks that run at different rates. A read served
 * from the lease is stale only if another leader of a term above T committed an entry L
 * lacks; that leader needed the votes of a majority of some configuration, and every
 * way to get them inside the window is excluded:
 *
 * 1. RequestVote from a candidate whose own timer ran out: a voter in Q disregards it,
 *    without adopting its term (leader stickiness, `ignoresVoteRequest`).
 * 2. Pre-votes, even ones granted before round r and delivered late: a pre-vote only
 *    lets a node campaign; it still needs RequestVote grants, which is case 1.
 * 3. TimeoutNow: the one campaign voters grant while they believe in L. Only L sends
 *    TimeoutNow in term T (a stale one from an older leader campaigns in a term no
 *    higher than T, which voters at term T refuse or cannot grant: L holds a majority
 *    of term T's votes), and once L has sent it, `leaseRevoked` ends lease reads for
 *    the rest of T — also after the transfer is abandoned, since the message may still
 *    arrive.
 * 4. Restarts: a voter in Q that restarts forgets when it last heard from L, so it
 *    believes in a leader for `electionTimeoutMin` after it starts (`startedAt`), which
 *    is later than when it answered.
 * 5. Membership changes: Q is counted in the configuration in effect here (the latest
 *    in L's log, committed or not), and only voters that answered count, so a voter
 *    added since the round counts only once it answers. A candidate may count votes in
 *    an older configuration, but a single-server change keeps every majority of the
 *    old and the new configuration intersecting, and a configuration two changes back
 *    can no longer elect anyone (the intermediate one committed on a majority whose
 *    logs it lacks).
 * 6. Joint configurations: a joint quorum is a majority of both halves, so Q meets every
 *    majority of either.
 * 7. A candidate of term T itself cannot win: L holds a majority of term T's votes.
 * 8. Quiescence: a quiet follower hears nothing, so its veto lapses `electionTimeoutMin`
 *    after the leader's last heartbeat. A quiet leader has no lease, and after waking
 *    dates one only from a round started on waking (`leaseFloor`), whose answerers heard
 *    from it at or after that round's start; the host's wake-up only arms timers (any
 *    campaign still goes through PreVote and votes). See docs/notes/quiescence.md.
 *
 * Scenario tests: `test/scenarios/leaseSafety.test.ts`, one per case.
 */
export function leaseHolds(s: RaftState, L: LeaderState): boolean {
  if (!s.options.checkQuorum || (L.leaseRevoked && s.plantedBug !== 'stale-lease')) return false;
  const round = quorumRound(s, L);
  if (s.quiet || round < L.leaseFloor) return false; // no lease across quiescence (see core/quiescence.ts)
  const start = L.roundStarts.get(round);
  return start !== undefined && s.now < start + s.options.electionTimeoutMin - s.options.leaseDriftMargin;
}

function answer(s: RaftState, read: PendingRead, fx: Effects): void {
  if (read.from === null) fx.push({ type: 'readReady', requestId: read.requestId, index: read.index });
  else {
    fx.send(read.from, { type: 'ReadIndexResponse', term: s.term, requestId: read.requestId, success: true, readIndex: read.index });
    // The follower serves the read once it applies `read.index`: it must hear that it is committed.
    wantCommit(s, read.from, read.index, fx);
  }
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
