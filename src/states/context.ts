import type { Observable, SchedulerLike } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { RoleName } from '../core/state';
import type { TimeoutRange } from '../operators/electionTimer';

/** What a role pipeline may use: time, chance, and the signals the driver raises. */
export interface RoleContext {
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly electionTimeout: TimeoutRange;
  readonly heartbeatInterval: number;
  /** Emits when a follower hears from its leader or grants a vote. */
  readonly electionResets$: Observable<void>;
}

/**
 * A role pipeline decides *when* things happen while the node holds the role: it emits
 * the timer events that the event loop then handles. Subscribed on entering the role
 * (for one epoch) and unsubscribed on leaving it, which cancels all of its timers.
 */
export type RolePipeline = (ctx: RoleContext, epoch: number) => Observable<RaftEvent>;

export type RolePipelines = Record<RoleName, RolePipeline>;
