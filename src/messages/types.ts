import type { ClusterConfig } from './config';
import type { Entry } from './entry';
import type { NodeId } from './nodeId';

export type { NodeId } from './nodeId';

/** Invoked by candidates to gather votes (Raft §5.2). */
export interface RequestVote {
  readonly type: 'RequestVote';
  readonly term: number;
  readonly candidateId: NodeId;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /**
   * The campaign was started by the leader's TimeoutNow (§3.10): voters grant it even
   * while they still hear from that leader, which they otherwise refuse (§4.2.3).
   */
  readonly leadershipTransfer: boolean;
}

export interface RequestVoteResponse {
  readonly type: 'RequestVoteResponse';
  readonly term: number;
  readonly voteGranted: boolean;
}

/**
 * PreVote (dissertation §9.6): "could I win an election?" asked before raising the term,
 * so a node that cannot win never disrupts the cluster. `term` is the term the candidate
 * would campaign in (its current term + 1); receivers never adopt it.
 */
export interface PreVote {
  readonly type: 'PreVote';
  readonly term: number;
  readonly candidateId: NodeId;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

/** Reply to PreVote: `term` is the requested term when granted, else the voter's own term. */
export interface PreVoteResponse {
  readonly type: 'PreVoteResponse';
  readonly term: number;
  readonly voteGranted: boolean;
}

/** Invoked by the leader to replicate entries (§5.3); also the heartbeat (§5.2). */
export interface AppendEntries {
  readonly type: 'AppendEntries';
  readonly term: number;
  readonly leaderId: NodeId;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  /**
   * Received over TCP, a getter that makes the entries on its first read (the follower's
   * rules read them as a run of their block instead: `ReceivedAppendEntries`). Still an
   * own enumerable property: a spread copy has them.
   */
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
  /** The leader's heartbeat round; echoed in the reply to confirm leadership for reads. */
  readonly seq: number;
  /**
   * The leader's last heartbeat before it goes quiet (quiescence, `core/quiescence.ts`): a
   * follower at this term whose log ends at `leaderCommit` stops its election timer until
   * anything of the group wakes it. Absent (or false) on every other AppendEntries.
   */
  readonly quiesce?: boolean;
}

/**
 * Reply to AppendEntries.
 * - success: `matchIndex` is the last index now known to match the leader's log.
 * - failure (consistency check): `rejectedIndex` is the request's prevLogIndex, and the
 *   conflict hint lets the leader skip a whole term at once: `conflictTerm` is the
 *   follower's term at rejectedIndex (0 when its log is shorter) and `conflictIndex`
 *   the first index of that term (or the follower's lastIndex + 1 when shorter).
 */
export interface AppendEntriesResponse {
  readonly type: 'AppendEntriesResponse';
  readonly term: number;
  readonly success: boolean;
  readonly matchIndex: number;
  readonly rejectedIndex: number;
  readonly conflictIndex: number;
  readonly conflictTerm: number;
  /** The request's `seq`. */
  readonly seq: number;
}

/**
 * One chunk of the leader's snapshot (dissertation ch. 5), sent to a follower whose
 * next entry the leader has compacted away. Chunks go one at a time, `chunk` counting
 * from 0; `done` marks the last. Every chunk repeats the snapshot's identity and
 * configuration, so a receiver can tell a new transfer from the old one.
 */
export interface InstallSnapshot {
  readonly type: 'InstallSnapshot';
  readonly term: number;
  readonly leaderId: NodeId;
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
  readonly config: ClusterConfig;
  readonly chunk: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

/**
 * Reply to InstallSnapshot: `success` acknowledges chunk `chunk` (stored; the last one
 * installed); `installed` says the follower now holds everything up to
 * lastIncludedIndex. A failure asks the leader to start the transfer over. `installing`
 * answers a repeat of a chunk of the snapshot the follower is installing (its last chunk
 * stored, its state machine restoring): no acknowledgement, only a sign that the transfer
 * is not stuck (`installed` follows). Absent means false.
 */
export interface InstallSnapshotResponse {
  readonly type: 'InstallSnapshotResponse';
  readonly term: number;
  readonly lastIncludedIndex: number;
  readonly chunk: number;
  readonly success: boolean;
  readonly installed: boolean;
  readonly installing?: boolean;
}

/** The leader asks the target of a leadership transfer to campaign now (§3.10). */
export interface TimeoutNow {
  readonly type: 'TimeoutNow';
  readonly term: number;
}

/**
 * A node that lost its hard state asks a member for its current term (see
 * `core/termRecovery.ts`). `term` is the asker's own term, for information only: the
 * receiver never adopts it, and answering changes nothing in the receiver's state.
 */
export interface TermQuery {
  readonly type: 'TermQuery';
  readonly term: number;
}

/** The answer to TermQuery: the receiver's current term. */
export interface TermReport {
  readonly type: 'TermReport';
  readonly term: number;
}

/**
 * A quiet follower that woke (quiescence, `core/quiescence.ts`) wakes its leader: its
 * election timer runs again, and must not run while its leader sends no heartbeats.
 * Changes nothing else in the receiver's state.
 *
 * @example
 * const wake: WakeUp = { type: 'WakeUp', term: 4 };
 */
export interface WakeUp {
  readonly type: 'WakeUp';
  readonly term: number;
}

/** A follower asks the leader for a read index on behalf of its caller (ReadIndex, dissertation §6.4). */
export interface ReadIndexRequest {
  readonly type: 'ReadIndexRequest';
  readonly term: number;
  readonly requestId: number;
  /** Whether an answer from the leader's lease is acceptable. */
  readonly lease: boolean;
}

/** The leader's answer: reads are linearizable once the asker has applied `readIndex`. */
export interface ReadIndexResponse {
  readonly type: 'ReadIndexResponse';
  readonly term: number;
  readonly requestId: number;
  readonly success: boolean;
  readonly readIndex: number;
}

/** A command forwarded by a follower to the leader (dissertation §6.2). */
export interface ForwardedCommand {
  readonly kind: number;
  readonly data: Uint8Array;
}

/** A follower forwards its callers' commands to the leader. */
export interface ProposeRequest {
  readonly type: 'ProposeRequest';
  readonly term: number;
  readonly requestId: number;
  readonly commands: readonly ForwardedCommand[];
}

/**
 * Where the leader appended forwarded commands (success), or that it did not: it no
 * longer leads, or it is `overloaded` (over `maxUncommittedBytes`).
 */
export interface ProposeResponse {
  readonly type: 'ProposeResponse';
  readonly term: number;
  readonly requestId: number;
  readonly success: boolean;
  readonly firstIndex: number;
  readonly overloaded: boolean;
}

/**
 * Every message peers exchange, discriminated by `type`.
 *
 * @example
 * transport.inbound$.subscribe(({ from, message }) => { if (message.type === 'RequestVote') log.debug(`${from} campaigns in term ${message.term}`); });
 */
export type RaftMessage =
  | RequestVote
  | RequestVoteResponse
  | PreVote
  | PreVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | ReadIndexRequest
  | ReadIndexResponse
  | ProposeRequest
  | ProposeResponse
  | TimeoutNow
  | InstallSnapshot
  | InstallSnapshotResponse
  | TermQuery
  | TermReport
  | WakeUp;
export type MessageType = RaftMessage['type'];

/**
 * A message with its addressing, as transports carry it.
 *
 * @example
 * const e: Envelope = { from: 'n1', to: 'n2', message: { type: 'TimeoutNow', term: 3 } };
 */
export interface Envelope<M extends RaftMessage = RaftMessage> {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: M;
}
