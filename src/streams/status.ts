import type { LeaderInfo, Membership, NodeStatus } from '../api';
import type { ConfigAt } from '../messages/config';




/** The `members$` view of a configuration, given the commit index. */
export function toMembership(at: ConfigAt, commitIndex: number): Membership {
  const { voters, learners, oldVoters, addresses } = at.config;
  return {
    voters,
    learners,
    index: at.index,
    term: at.term,
    committed: at.index <= commitIndex,
    ...(oldVoters ? { joint: { oldVoters } } : {}),
    addresses,
  };
}

export function sameStatus(a: NodeStatus, b: NodeStatus): boolean {
  return (
    a.role === b.role &&
    a.term === b.term &&
    a.leaderId === b.leaderId &&
    a.commitIndex === b.commitIndex &&
    a.appliedIndex === b.appliedIndex &&
    a.lastIndex === b.lastIndex &&
    a.stopped === b.stopped
  );
}

export function sameLeader(a: LeaderInfo | null, b: LeaderInfo | null): boolean {
  return a === b || (a !== null && b !== null && a.id === b.id && a.term === b.term);
}
