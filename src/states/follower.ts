import { map } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { deadlineTimer } from '../operators/deadlineTimer';
import type { RolePipeline } from './context';

/**
 * A follower campaigns when its election deadline passes (§5.2); the rules move the
 * deadline whenever it hears from its leader or grants a vote.
 */
export const follower: RolePipeline = (ctx, epoch) =>
  ctx.electionDeadline$.pipe(
    deadlineTimer(ctx.scheduler, { stallGrace: ctx.heartbeatInterval }),
    map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
  );
