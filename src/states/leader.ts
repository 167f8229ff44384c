import { interval, map } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { RolePipeline } from './context';

/** A leader ticks every heartbeat interval: heartbeats, and re-probes of stalled followers (§5.2). */
export const leader: RolePipeline = (ctx, epoch) =>
  interval(ctx.heartbeatInterval, ctx.scheduler).pipe(map((): RaftEvent => ({ kind: 'heartbeatTick', epoch })));
