import { EMPTY_DATA, EntryKind } from '../messages/entry';
import type { NodeId } from '../messages/types';
import { Effects } from './effects';
import { Progress } from './progress';
import { abandonReads } from './reads';
import { quorumReached } from './quorum';
import { isVoter, members } from '../messages/config';
import { resetElectionDeadline } from './electionDeadline';
import { currentConfig, RaftState } from './state';
import { broadcastAppend } from './send';

/**
 * Role transitions (Raft §5.2). Each one replaces the role state wholesale and bumps the
 * epoch, so nothing of the old role (votes, progress, reads, timers) survives it.
 */

/**
 * Adopts `term` if it is newer (clearing the vote) and follows `leaderId` (or nobody
 * yet). A follower or candidate that only learns of a newer term keeps its election
 * deadline (Figure 2 moves it only on hearing from a leader or granting a vote, which
 * their handlers do): candidates that cannot win must not keep postponing the elections
 * of those that can. A leader stepping down draws a deadline, and so does a
 * pre-candidate: a newer term there means another node passed its pre-vote and is being
 * elected, and keeping the old deadline would let this node pre-vote again at once and be
 * granted it by a follower that has not yet heard from the new leader, deposing the
 * leader just elected (found by the simulator: seed 40330 took 1.2 s to settle instead of
 * 0.3 s). etcd restarts its timer there too.
 */
export function becomeFollower(s: RaftState, term: number, leaderId: NodeId | null, fx: Effects): void {
  if (term < s.term) throw new Error(`becomeFollower: term ${term} is older than ${s.term}`);
  if (term === s.term) abortTransferOnStepDown(s, fx);
  if (term > s.term) {
    s.term = term;
    s.votedFor = null;
    fx.saveHardState(s.term, s.votedFor);
  }
  const was = s.role.name;
  leave(s, fx);
  if (s.quiet) {
    s.quiet = false;
    if (was === 'follower') resetElectionDeadline(s);
  }
  s.role = { name: 'follower' };
  s.leaderId = leaderId;
  if (was !== 'follower') s.epoch++;
  if (was === 'leader' || was === 'precandidate') resetElectionDeadline(s);
}

/**
 * Asks every voter whether it would vote, without raising the term (PreVote, §9.6).
 * Forgets the leader: a node that campaigns no longer vetoes others' pre-votes on its
 * old leader's behalf (the PreVote + CheckQuorum livelock).
 */
export function becomePreCandidate(s: RaftState, fx: Effects): void {
  if (s.role.name === 'leader') throw new Error('becomePreCandidate: a leader does not campaign');
  s.leaderId = null;
  s.quiet = false;
  s.role = { name: 'precandidate', votes: new Set([s.id]) };
  s.epoch++;
  if (hasQuorum(s, s.role.votes)) {
    becomeCandidate(s, fx);
    return;
  }
  resetElectionDeadline(s);
  for (const peer of votersExceptSelf(s)) {
    fx.sendNow(peer, { type: 'PreVote', term: s.term + 1, candidateId: s.id, lastLogIndex: s.log.lastIndex, lastLogTerm: s.log.lastTerm });
  }
}

/**
 * Starts an election: new term, vote for self, ask every other voter (§5.2). A campaign
 * that TimeoutNow started says so (`leadershipTransfer`), so that voters still hearing
 * from the old leader grant it (§3.10, §4.2.3).
 *
 * The requests leave at once, while the new term and vote are being written: asking is
 * safe before they are durable, counting the own vote is not. The candidate counts
 * itself only on `hardStateSaved` (see `handleHardStateSaved`), so it never wins on a vote that a
 * crash could take back. Waiting for the write before asking would add a whole fsync to
 * every election, and give the other candidates that long to time out too (split votes).
 */
export function becomeCandidate(s: RaftState, fx: Effects, leadershipTransfer = false): void {
  if (s.role.name === 'leader') throw new Error('becomeCandidate: a leader does not campaign');
  s.term++;
  s.votedFor = s.id;
  s.leaderId = null;
  s.quiet = false;
  s.role = { name: 'candidate', votes: new Set() };
  s.epoch++;
  resetElectionDeadline(s);
  fx.saveHardState(s.term, s.votedFor);
  for (const peer of votersExceptSelf(s)) {
    fx.sendNow(peer, {
      type: 'RequestVote',
      term: s.term,
      candidateId: s.id,
      lastLogIndex: s.log.lastIndex,
      lastLogTerm: s.log.lastTerm,
      leadershipTransfer,
    });
  }
}

/** A follower's or candidate's timer ran out: campaign, asking first if PreVote is on. */
export function campaign(s: RaftState, fx: Effects): void {
  if (s.options.preVote) becomePreCandidate(s, fx);
  else becomeCandidate(s, fx);
}

/**
 * Takes office: a fresh progress for every follower, then a no-op entry of the new term,
 * which commits every earlier entry with it (§5.4.2, §8).
 */
export function becomeLeader(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'candidate') throw new Error(`becomeLeader: only a candidate can win, not a ${s.role.name}`);
  const progress = new Map<NodeId, Progress>();
  for (const peer of members(currentConfig(s))) {
    if (peer === s.id) continue;
    const pr = new Progress(s.log.lastIndex, s.now);
    pr.heardFrom(s.now); // taking office counts as contact for CheckQuorum
    progress.set(peer, pr);
  }
  s.role = {
    name: 'leader',
    progress,
    since: s.now,
    seq: 1,
    roundStarts: new Map([[1, s.now]]),
    reads: [],
    readsBeforeCommit: [],
    transfer: null,
    leaseRevoked: false,
    leaseFloor: 0,
    idleTicks: s.options.quiesceAfterTicks,
    forwarded: new Map(),
    uncommitted: { base: Math.min(s.commitIndex, s.durableIndex), through: Math.min(s.commitIndex, s.durableIndex), bytes: 0, sizes: [], head: 0 },
  };
  s.leaderId = s.id;
  s.epoch++;
  s.electionDeadline = Infinity;
  const noop = { index: s.log.lastIndex + 1, term: s.term, kind: EntryKind.Noop, data: EMPTY_DATA };
  s.log.append([noop]);
  fx.persistEntries([noop]);
  broadcastAppend(s, fx);
}

export function hasQuorum(s: RaftState, granted: ReadonlySet<NodeId>): boolean {
  return quorumReached(currentConfig(s), (v) => granted.has(v));
}

function votersExceptSelf(s: RaftState): NodeId[] {
  const config = currentConfig(s);
  return members(config).filter((id) => id !== s.id && isVoter(config, id));
}

/** Settles what the old role owed its callers before its state is dropped. */
/**
 * A leader that steps down in its own term (CheckQuorum, or its removal committed) while a
 * transfer is under way ends the transfer at once: no newer term means nobody is taking
 * over. Stepping down for a newer term leaves it to the caller's side, which completes it
 * when a leader is known (the target, or whoever won) and fails it when this node
 * campaigns again (`MembershipRequests.afterStep`).
 */
function abortTransferOnStepDown(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader' || !s.role.transfer) return;
  const { requestId, to } = s.role.transfer;
  fx.push({ type: 'transferAborted', requestId, reason: `stepped down in term ${s.term} before ${to} took over` });
}

function leave(s: RaftState, fx: Effects): void {
  if (s.role.name === 'leader') abandonReads(s, s.role, fx);
}
