import type { NodeId, PreVote, PreVoteResponse, RequestVote, RequestVoteResponse } from '../messages/types';
import { resetElectionDeadline } from './electionDeadline';
import { Effects } from './effects';
import { voteGrantedReport } from './electionReports';
import { isVoter } from '../messages/config';
import { becomeCandidate, becomeFollower, becomeLeader, hasQuorum } from './roles';
import { currentConfig, RaftState } from './state';

/**
 * RequestVote receiver (Figure 2), for a request of the current term: grant when this
 * node has not voted for someone else in this term and the candidate's log is at least
 * as up-to-date as its own (§5.2, §5.4.1). The vote is saved before the reply leaves.
 */
export function handleRequestVote(s: RaftState, from: NodeId, m: RequestVote, fx: Effects): void {
  const free = s.votedFor === null || s.votedFor === m.candidateId;
  // A node under repair may lack committed entries it acknowledged: its vote could elect a leader without them.
  const granted = !s.repair && free && from === m.candidateId && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  if (granted && s.votedFor === null) {
    s.votedFor = m.candidateId;
    fx.saveHardState(s.term, s.votedFor);
  }
  const report = granted ? voteGrantedReport(s, m.candidateId, m.term, false) : null;
  if (granted) resetElectionDeadline(s);
  fx.send(from, { type: 'RequestVoteResponse', term: s.term, voteGranted: granted });
  if (report) fx.report(report);
}

/**
 * The hard state (term, votedFor) is durable. A candidate whose own vote of this term it
 * holds counts itself now; with the votes already in, that may be a majority.
 */
export function handleHardStateSaved(s: RaftState, term: number, votedFor: NodeId | null, fx: Effects): void {
  if (s.role.name !== 'candidate' || term !== s.term || votedFor !== s.id) return;
  s.role.votes.add(s.id);
  if (hasQuorum(s, s.role.votes)) becomeLeader(s, fx);
}

/**
 * Counts a vote of the current term; a majority makes this candidate the leader, once its
 * own vote counts too (its term and vote are durable: `handleHardStateSaved` then takes
 * office), even when the others' votes alone are a majority. A leader whose term a crash
 * could take back might, restarted, win that term again from the same voters (they voted
 * for it) with another log: two different entries at one index and term.
 */
export function handleVoteResponse(s: RaftState, from: NodeId, m: RequestVoteResponse, fx: Effects): void {
  if (s.role.name !== 'candidate' || !m.voteGranted || !isVoter(currentConfig(s), from)) return;
  s.role.votes.add(from);
  if (s.role.votes.has(s.id) && hasQuorum(s, s.role.votes)) becomeLeader(s, fx);
}

/**
 * Whether this node still believes in a leader (dissertation §4.2.3): it leads, or it is
 * a follower that heard from its leader less than `electionTimeoutMin` ago, or one that
 * started less than that ago (before a restart it may have been inside a leader's lease,
 * and it cannot remember). Such a node refuses pre-votes and, with CheckQuorum on,
 * ignores RequestVote of a newer term: the leader lease rests on this (see `leaseHolds`).
 */
export function believesInLeader(s: RaftState): boolean {
  const window = s.options.electionTimeoutMin;
  if (s.role.name === 'leader') return true;
  if (s.role.name !== 'follower') return false;
  return (s.leaderId !== null && s.now - s.lastLeaderContact < window) || s.now - s.startedAt < window;
}

/**
 * Leader stickiness (dissertation §4.2.3): with CheckQuorum on, a RequestVote of a newer
 * term is disregarded — no reply, no term change — while this node believes in a leader,
 * unless the campaign was started by that leader's TimeoutNow. Without it a voter inside
 * a leader's lease could help elect another leader, and a lease read on the old one would
 * miss what the new one commits.
 */
export function ignoresVoteRequest(s: RaftState, m: RequestVote): boolean {
  return s.options.checkQuorum && m.term > s.term && !m.leadershipTransfer && believesInLeader(s) && s.plantedBug !== 'stale-lease';
}

/**
 * PreVote receiver (§9.6). Grants when the asked-for term is newer than ours, the
 * candidate's log is at least as up-to-date, and this node does not believe in a leader
 * (`believesInLeader`). Changes no state: a pre-vote neither adopts the term nor counts
 * as a vote.
 */
export function handlePreVote(s: RaftState, from: NodeId, m: PreVote, fx: Effects): void {
  const granted = !s.repair && m.term > s.term && from === m.candidateId && !believesInLeader(s) && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  fx.sendNow(from, { type: 'PreVoteResponse', term: granted ? m.term : s.term, voteGranted: granted });
  if (granted) fx.report(voteGrantedReport(s, m.candidateId, m.term, true));
}

/**
 * Counts a pre-vote for the term this pre-candidate would campaign in; a majority starts
 * the real election. A refusal that carries a newer term makes this node adopt it, so a
 * node whose term fell behind learns the current one and can campaign again.
 */
export function handlePreVoteResponse(s: RaftState, from: NodeId, m: PreVoteResponse, fx: Effects): void {
  if (!m.voteGranted) {
    if (m.term > s.term) becomeFollower(s, m.term, null, fx);
    return;
  }
  if (s.role.name !== 'precandidate' || m.term !== s.term + 1 || !isVoter(currentConfig(s), from)) return;
  s.role.votes.add(from);
  if (hasQuorum(s, s.role.votes)) becomeCandidate(s, fx);
}
