import type { NodeId } from '../messages/types';
import { RaftLog } from './log';
import { Progress } from './progress';

export type RoleName = 'follower' | 'candidate' | 'leader';

/** State that exists only while the node holds a role; created by becomeX, dropped on leaving. */
export type RoleState =
  | { readonly name: 'follower' }
  | { readonly name: 'candidate'; readonly votes: Set<NodeId> }
  | { readonly name: 'leader'; readonly progress: Map<NodeId, Progress> };

/** Tunables the rules read. */
export interface ProtocolOptions {
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  readonly maxInflight: number;
  /** Heartbeat ticks without progress before a follower is probed afresh. */
  readonly stallTicks: number;
}

/**
 * Everything the Raft rules read and write. Changed only inside the node's serialized
 * event loop (DESIGN.md invariant 1).
 */
export interface RaftState {
  readonly id: NodeId;
  /** The voting members, this node included. */
  voters: readonly NodeId[];
  // Persistent (Figure 2): saved before anything depending on them is sent.
  term: number;
  votedFor: NodeId | null;
  readonly log: RaftLog;
  // Volatile.
  /** Invariant: commitIndex only grows (within one run of the node). */
  commitIndex: number;
  /** Highest index whose entry is durable here with the term the log holds now. */
  durableIndex: number;
  /** Invariant: appliedIndex <= min(commitIndex, durableIndex). */
  appliedIndex: number;
  leaderId: NodeId | null;
  role: RoleState;
  /** Bumped at every role or term change; timer events of an older epoch are stale. */
  epoch: number;
  readonly options: ProtocolOptions;
}

export function createState(
  id: NodeId,
  voters: readonly NodeId[],
  persisted: { term: number; votedFor: NodeId | null; log: RaftLog },
  options: ProtocolOptions,
): RaftState {
  return {
    id,
    voters,
    term: persisted.term,
    votedFor: persisted.votedFor,
    log: persisted.log,
    commitIndex: 0,
    durableIndex: persisted.log.lastIndex,
    appliedIndex: 0,
    leaderId: null,
    role: { name: 'follower' },
    epoch: 0,
    options,
  };
}

/** The smallest number of voters that is a majority. */
export function quorumSize(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1;
}
