import type { NodeId, RequestVote, RequestVoteResponse } from '../messages/types';
import { Effects } from './effects';
import { becomeLeader, hasQuorum } from './roles';
import { RaftState } from './state';

/**
 * RequestVote receiver (Figure 2), for a request of the current term: grant when this
 * node has not voted for someone else in this term and the candidate's log is at least
 * as up-to-date as its own (§5.2, §5.4.1). The vote is saved before the reply leaves.
 */
export function handleRequestVote(s: RaftState, from: NodeId, m: RequestVote, fx: Effects): void {
  const free = s.votedFor === null || s.votedFor === m.candidateId;
  const granted = free && from === m.candidateId && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  if (granted && s.votedFor === null) {
    s.votedFor = m.candidateId;
    fx.saveHardState(s.term, s.votedFor);
  }
  if (granted) fx.resetElectionTimer();
  fx.send(from, { type: 'RequestVoteResponse', term: s.term, voteGranted: granted });
}

/** Counts a vote of the current term; a majority makes this candidate the leader. */
export function handleVoteResponse(s: RaftState, from: NodeId, m: RequestVoteResponse, fx: Effects): void {
  if (s.role.name !== 'candidate' || !m.voteGranted || !s.voters.includes(from)) return;
  s.role.votes.add(from);
  if (hasQuorum(s, s.role.votes)) becomeLeader(s, fx);
}
