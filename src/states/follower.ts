import { map } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { deadlineTimer } from '../operators/deadlineTimer';
import type { RolePipeline } from './context';
import { unlessQuiet } from './quiet';

/**
 * A follower campaigns when its election deadline passes (§5.2); the rules move the
 * deadline whenever it hears from its leader or grants a vote. A quiet follower has no
 * deadline (`Infinity`, `core/quiescence.ts`), so its timer is not even subscribed while
 * it is quiet: it listens for the host's wake-ups only (`unlessQuiet`). An idle group's
 * followers are quiet almost always, and what a quiet follower subscribes is what each
 * of them costs in memory.
 */
export const follower: RolePipeline = (ctx, epoch) =>
  unlessQuiet(
    ctx,
    ctx.electionDeadline$.pipe(
      deadlineTimer(ctx.scheduler, { stallGrace: ctx.heartbeatInterval }),
      map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
    ),
  );
