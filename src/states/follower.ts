import { EMPTY, map, merge } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { deadlineTimer } from '../operators/deadlineTimer';
import type { RolePipeline } from './context';
import { unlessQuiet } from './quiet';

/**
 * A follower campaigns when its election deadline passes (§5.2); the rules move the
 * deadline whenever it hears from its leader or grants a vote. A quiet follower has no
 * deadline (`Infinity`) and listens for the host's wake-ups (`unlessQuiet`).
 */
export const follower: RolePipeline = (ctx, epoch) =>
  merge(
    ctx.electionDeadline$.pipe(
      deadlineTimer(ctx.scheduler, { stallGrace: ctx.heartbeatInterval }),
      map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
    ),
    unlessQuiet(ctx, EMPTY),
  );
