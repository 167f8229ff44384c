import type { Observable, SchedulerLike } from 'rxjs';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import type { RoleName } from '../core/state';
import type { AppendEntries, NodeId } from '../messages/types';
import type { Storage } from '../storage/storage';
import type { Transport } from '../transports/transport';

/** What a role pipeline may use: time, the deadlines the rules set, and what the leader's pipelines carry. */
export interface RoleContext {
  readonly scheduler: SchedulerLike;
  readonly heartbeatInterval: number;
  /**
   * How long a follower whose own election timer ran more than a heartbeat interval late
   * (its process was stalled) still waits for its leader before campaigning; default
   * `heartbeatInterval`. The node gives `electionTimeout.min` (see `follower`).
   */
  readonly stallGrace?: number;
  /**
   * Whether the current election deadline is the node's place in the failover order after
   * its host said the leader's host went silent (`RaftState.electionDeadlineOnNews`): then a
   * late timer gets no stall grace. Absent: never.
   */
  readonly electionDeadlineOnNews?: () => boolean;
  /**
   * What a leader heartbeats on; absent: every `heartbeatInterval` on `scheduler`. A host
   * of groups gives all its groups one clock, so their heartbeats leave in the same turn
   * and travel to each host in one frame (`RaftNodeOptions.heartbeatTicks`).
   */
  readonly heartbeats$?: Observable<unknown>;
  /**
   * The node's election deadline (`RaftState.electionDeadline`, scheduler time; `Infinity`:
   * none), replayed on subscription and emitted whenever a step moves it.
   */
  readonly electionDeadline$: Observable<number>;
  /** Whether the node is quiet (`RaftState.quiet`), replayed on subscription and emitted when it changes. */
  readonly quiet$: Observable<boolean>;
  /** What wakes a quiet node (`RaftNodeOptions.wakeups`): a host's suspicion of a failure. */
  readonly wakeups$?: Observable<unknown>;
  /** This node's id: the leader id in what the leader sends. */
  readonly id: NodeId;
  /**
   * The peers a leader replicates to (its progress entries: the other members of the
   * latest configuration, and removed ones until they have stored their removal); empty
   * while not leading. Replays the latest list; emits only when the list changes.
   */
  readonly followers$: Observable<readonly NodeId[]>;
  /**
   * The rules' requests for follower `peer` that its `replicateTo` carries out with
   * storage, as the turns produce them: send a snapshot chunk or park a transfer
   * (`sendSnapshotChunk`, `parkSnapshotTransfer` effects), read entries back
   * (`readEntries`). Routed by peer (`PeerChannels`). `followers$` is published at the
   * end of the turn (or earlier, by an AppendEntries of the turn: see
   * `RoleSwitch.replicate`), so a snapshot request made in the turn that creates a
   * follower's progress could find no pipeline; the rules make none there (a new progress
   * starts at the end of the log, past every compacted entry, so its first transfer comes
   * in a later turn). Entry reads are published with the pipelines brought up to the turn
   * that asked (`RoleSwitch.readEntries`).
   */
  readonly requestsTo: (peer: NodeId) => Observable<FollowerRequest>;
  /**
   * The leader's AppendEntries to follower `peer` (probes, replication, heartbeats,
   * commit notices), in the order the rules produced them; that follower's `replicateTo`
   * sends them. Routed by peer (`PeerChannels`): one lookup per message.
   */
  readonly sendsTo: (peer: NodeId) => Observable<LeaderSend>;
  /**
   * The AppendEntries and InstallSnapshot responses of follower `peer`, for that
   * follower's `replicateTo`. Only a listening pipeline gets them, so a response that
   * arrives for a role or a follower no longer there is dropped.
   */
  readonly responsesFrom: (peer: NodeId) => Observable<InboundMessage>;
  /** The vote responses (`PreVoteResponse`, `RequestVoteResponse`), for the candidate's pipelines. */
  readonly voteResponses$: Observable<InboundMessage>;
  /** Where the leader's current snapshot is read from. */
  readonly snapshotSource: Pick<Storage, 'readSnapshot'>;
  /** Where entries no longer held in memory are read back from for lagging followers. */
  readonly entrySource: Pick<Storage, 'readEntries'>;
  /** Where the leader's pipelines send what they read (InstallSnapshot). */
  readonly transport: Pick<Transport, 'send'>;
}

/**
 * A leader's AppendEntries to one follower. The rules send these at once (`sendNow`,
 * `sendNotice`), never after this node's writes (`afterPersist`): the leader replicates
 * while its own write runs, and counts itself only once that write is durable.
 */
export interface LeaderSend {
  readonly to: NodeId;
  readonly message: AppendEntries;
}

/** An inbound message, as the event the loop steps. */
export type InboundMessage = Extract<RaftEvent, { kind: 'message' }>;

/** Send chunk `chunk` of the current snapshot to `to` (see the `sendSnapshotChunk` effect). */
export type SnapshotChunkRequest = Extract<Effect, { type: 'sendSnapshotChunk' }>;

/** A request to the snapshot transfer to one follower: send a chunk, or park (see the `parkSnapshotTransfer` effect). */
export type SnapshotTransferRequest = SnapshotChunkRequest | Extract<Effect, { type: 'parkSnapshotTransfer' }>;

/** Read entries back from storage for follower `to` (see the `readEntries` effect). */
export type EntryReadRequest = Extract<Effect, { type: 'readEntries' }>;

/** What a follower's `replicateTo` is asked to do with storage: a snapshot transfer's step, or an entry read. */
export type FollowerRequest = SnapshotTransferRequest | EntryReadRequest;

/**
 * A role pipeline decides *when* things happen while the node holds the role: it emits
 * the timer events that the event loop then handles. Subscribed on entering the role
 * (for one epoch) and unsubscribed on leaving it, which cancels all of its timers.
 */
export type RolePipeline = (ctx: RoleContext, epoch: number) => Observable<RaftEvent>;

export type RolePipelines = Record<RoleName, RolePipeline>;
