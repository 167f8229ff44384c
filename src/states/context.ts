import type { Observable, SchedulerLike } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { RoleName } from '../core/state';

/** What a role pipeline may use: time, and the deadlines the rules set. */
export interface RoleContext {
  readonly scheduler: SchedulerLike;
  readonly heartbeatInterval: number;
  /**
   * The node's election deadline (`RaftState.electionDeadline`, scheduler time; `Infinity`:
   * none), replayed on subscription and emitted whenever a step moves it.
   */
  readonly electionDeadline$: Observable<number>;
}

/**
 * A role pipeline decides *when* things happen while the node holds the role: it emits
 * the timer events that the event loop then handles. Subscribed on entering the role
 * (for one epoch) and unsubscribed on leaving it, which cancels all of its timers.
 */
export type RolePipeline = (ctx: RoleContext, epoch: number) => Observable<RaftEvent>;

export type RolePipelines = Record<RoleName, RolePipeline>;
