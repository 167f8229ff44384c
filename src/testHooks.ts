import type { ClusterConfig } from './messages/config';
import type { PlantedBug, RoleName } from './core/state';

export type { PlantedBug } from './core/state';
import type { NodeId } from './messages/types';
import type { TimeoutRange } from './api';

/*
 * Test-only access to a running node, for `rxraft/testing` (TestCluster.campaign,
 * setElectionTimeout, replication). Not part of the public API of a node: it is reached
 * through a symbol, never through `RaftNode`'s declared members.
 */

/** The key under which a node created by `createRaftNode` exposes its test hooks. */
export const TEST_HOOKS: unique symbol = Symbol('rxraft.testHooks');

/** How far the leader knows one follower's log to be replicated (etcd's Progress). */
export interface PeerReplication {
  readonly id: NodeId;
  /** Highest index known durable on the follower. Invariant: match < next. */
  readonly match: number;
  /** The next index the leader sends it. */
  readonly next: number;
  /**
   * `probe`: finding where the logs match, one AppendEntries at a time; `replicate`:
   * streaming optimistically; `snapshot`: sending it a snapshot.
   */
  readonly state: 'probe' | 'replicate' | 'snapshot';
  /** AppendEntries sent and not yet acknowledged (a probe counts as one). */
  readonly inflight: number;
  /** Whether nothing more may be sent to it until an answer arrives. */
  readonly paused: boolean;
  /** When it last answered (scheduler time; -Infinity: never). */
  readonly lastContact: number;
  /** Payload bytes read back from storage for it and not sent yet (replicating from storage, at most `maxInflightBytes` and one entry). */
  readonly readAheadBytes: number;
  /** Set while it is being sent a snapshot: which one, the chunk awaited, and whether the transfer is parked (waits for the follower's answer). */
  readonly snapshot: { readonly index: number; readonly term: number; readonly chunk: number; readonly parked: boolean } | null;
}

/**
 * A copy of a node's Raft state at one instant, for tests: changing it changes nothing.
 * Indexes satisfy appliedIndex <= applyingIndex <= min(commitIndex, durableIndex) and durableIndex <= lastIndex.
 */
export interface ReplicationView {
  readonly id: NodeId;
  readonly role: RoleName;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  /** The (index, term) of every entry in the log after the snapshot, in order. */
  readonly log: readonly { readonly index: number; readonly term: number }[];
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly snapshotIndex: number;
  /** How many entries the node holds in memory (the kept tail behind the snapshot included), and their payload bytes. */
  readonly held: { readonly entries: number; readonly bytes: number; /** The first index held in memory (older ones are read from storage). */ readonly from: number };
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Highest index handed to the application (`appliedIndex`: acknowledged by it). */
  readonly applyingIndex: number;
  /** Highest index durable here with the term the log now holds. */
  readonly durableIndex: number;
  /** Entries appended but not yet durable (etcd's unstable entries): after `durableIndex`. */
  readonly unstable: readonly { readonly index: number; readonly term: number }[];
  /** The configuration in effect (the latest in the log, committed or not). */
  readonly config: ClusterConfig;
  /** On a leader, each follower's replication; null on any other role. */
  readonly progress: ReadonlyMap<NodeId, PeerReplication> | null;
  /** On a leader, a leadership transfer under way (to whom, and whether TimeoutNow went out). */
  readonly transfer: { readonly to: NodeId; readonly timeoutNowSent: boolean } | null;
  /** When this node last heard from a leader (scheduler time; -Infinity: never). */
  readonly lastLeaderContact: number;
}

/** What a node offers `rxraft/testing`. */
export interface NodeTestHooks {
  /**
   * Fires the node's election timer now, as if it had run out (etcd's MsgHup): a follower
   * or candidate campaigns (with PreVote first when it is on); a leader, a learner or a
   * stopped node does nothing. Returns whether the node was running.
   */
  campaign(): boolean;
  /**
   * Replaces the range this node's election deadlines are drawn from, and draws a fresh
   * deadline for a running follower or candidate. `'never'`: no deadline; the node
   * campaigns only when asked (`campaign`). The protocol windows that every node must agree on (the pre-vote veto, the
   * lease, the transfer deadline) keep the configured `electionTimeout`.
   */
  setElectionTimeout(range: TimeoutRange | 'never'): void;
  /** A copy of the node's state; null before it has loaded its storage. */
  inspect(): ReplicationView | null;
  /** The configuration in effect (the latest in the log, committed or not), without copying the log; null before the node has loaded its storage. */
  config(): ClusterConfig | null;
  /**
   * On a leader, the payload bytes of its own term's entries past what is both committed
   * and durable here (what `maxUncommittedBytes` bounds), summed from the log now, and
   * that limit; null on any other role or before the node has loaded its storage.
   * Entries of earlier terms are left out: a new leader inherits them (its commit index
   * lags until an entry of its term commits), it did not admit them.
   */
  leaderUnsettledBytes(): { readonly bytes: number; readonly limit: number } | null;
  /**
   * Plants a known bug in this node, for a test that the simulator catches it (see
   * `RaftState.plantedBug`); it lasts for this run of the node.
   */
  plantBug(bug: PlantedBug): void;
}

/** A node that carries test hooks. */
export interface HasTestHooks {
  [TEST_HOOKS](): NodeTestHooks;
}

/**
 * The test hooks of a node made by `createRaftNode`.
 *
 * @example
 * testHooksOf(node).campaign(); // node n1 starts an election now
 */
export function testHooksOf(node: object): NodeTestHooks {
  const hooks = (node as Partial<HasTestHooks>)[TEST_HOOKS];
  if (typeof hooks !== 'function') throw new TypeError('not a node made by createRaftNode: it has no test hooks');
  return hooks.call(node);
}
