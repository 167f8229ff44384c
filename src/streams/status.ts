import type { ConfigAt } from '../messages/config';
import type { RoleName } from '../core/state';
import type { NodeId } from '../messages/types';

/** A snapshot of a node's state, as `status$` emits it. */
export interface NodeStatus {
  readonly id: NodeId;
  readonly role: RoleName;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** True once the node has stopped (by `stop()` or a storage failure). */
  readonly stopped: boolean;
}

/** Who leads, as `leader$` emits it: `self` tells a node it is the leader. */
export interface LeaderInfo {
  readonly id: NodeId;
  readonly term: number;
  readonly self: boolean;
}

/** The cluster configuration, as `members$` emits it. */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Log index of the configuration entry (0: the initial configuration from options). */
  readonly index: number;
  readonly term: number;
  /** False while the entry is only appended; the configuration is in effect either way. */
  readonly committed: boolean;
  /** Set during a joint-consensus change: decisions need a majority of these too. */
  readonly joint?: { readonly oldVoters: readonly NodeId[] };
  /** Transport addresses of members added while running. */
  readonly addresses: Readonly<Record<NodeId, string>>;
}

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
