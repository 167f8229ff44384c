import type { Observable, SchedulerLike } from 'rxjs';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import type { RoleName } from '../core/state';
import type { NodeId } from '../messages/types';
import type { Storage } from '../storage/storage';
import type { Transport } from '../transports/transport';

/** What a role pipeline may use: time, the deadlines the rules set, and what the leader's pipelines carry. */
export interface RoleContext {
  readonly scheduler: SchedulerLike;
  readonly heartbeatInterval: number;
  /**
   * The node's election deadline (`RaftState.electionDeadline`, scheduler time; `Infinity`:
   * none), replayed on subscription and emitted whenever a step moves it.
   */
  readonly electionDeadline$: Observable<number>;
  /** This node's id: the leader id in what the leader sends. */
  readonly id: NodeId;
  /**
   * The peers a leader replicates to (its progress entries: the other members of the
   * latest configuration, and removed ones until they have stored their removal); empty
   * while not leading. Replays the latest list; emits only when the list changes.
   */
  readonly followers$: Observable<readonly NodeId[]>;
  /**
   * The rules' requests to send a snapshot chunk (`sendSnapshotChunk` effects), as the
   * turns produce them; each follower's `replicateTo` takes its own. `followers$` is
   * published at the end of the turn, so a request made in the turn that creates a
   * follower's progress would find no pipeline; the rules make none there (a new progress
   * starts at the end of the log, past every compacted entry, so its first transfer comes
   * in a later turn).
   */
  readonly snapshotChunks$: Observable<SnapshotChunkRequest>;
  /** Where the leader's current snapshot is read from. */
  readonly snapshotSource: Pick<Storage, 'readSnapshot'>;
  /** Where the leader's pipelines send what they read (InstallSnapshot). */
  readonly transport: Pick<Transport, 'send'>;
}

/** Send chunk `chunk` of the current snapshot to `to` (see the `sendSnapshotChunk` effect). */
export type SnapshotChunkRequest = Extract<Effect, { type: 'sendSnapshotChunk' }>;

/**
 * A role pipeline decides *when* things happen while the node holds the role: it emits
 * the timer events that the event loop then handles. Subscribed on entering the role
 * (for one epoch) and unsubscribed on leaving it, which cancels all of its timers.
 */
export type RolePipeline = (ctx: RoleContext, epoch: number) => Observable<RaftEvent>;

export type RolePipelines = Record<RoleName, RolePipeline>;
