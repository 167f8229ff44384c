import type { Entry } from './entry';

export type NodeId = string;

/** Invoked by candidates to gather votes (Raft §5.2). */
export interface RequestVote {
  readonly type: 'RequestVote';
  readonly term: number;
  readonly candidateId: NodeId;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

export interface RequestVoteResponse {
  readonly type: 'RequestVoteResponse';
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
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
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
}

/** Every message peers exchange, discriminated by `type`. */
export type RaftMessage = RequestVote | RequestVoteResponse | AppendEntries | AppendEntriesResponse;
export type MessageType = RaftMessage['type'];

/** A message with its addressing, as transports carry it. */
export interface Envelope<M extends RaftMessage = RaftMessage> {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: M;
}
