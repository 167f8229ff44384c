import type { LeaderInfo, Membership, NodeStatus } from '../api';
import type { ConfigAt } from '../messages/config';
import type { RaftState } from '../core/state';




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

/**
 * Whether the `status$` value of `s` differs from `published`, the last one: compared
 * field by field without building the new one (it runs after every turn, and most
 * turns change none of them).
 *
 * @example
 * if (statusDiffers(status.value, state)) status.next(statusOf(state));
 */
export function statusDiffers(published: NodeStatus, s: RaftState): boolean {
  return (
    published.role !== s.role.name ||
    published.term !== s.term ||
    published.leaderId !== s.leaderId ||
    published.commitIndex !== s.commitIndex ||
    published.appliedIndex !== s.appliedIndex ||
    published.lastIndex !== s.log.lastIndex ||
    published.stopped
  );
}

export function sameLeader(a: LeaderInfo | null, b: LeaderInfo | null): boolean {
  return a === b || (a !== null && b !== null && a.id === b.id && a.term === b.term);
}
