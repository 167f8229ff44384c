import { map } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { deadlineTimer } from '../operators/deadlineTimer';
import type { RolePipeline } from './context';

/**
 * A candidate (or pre-candidate) that neither wins nor loses by its election deadline,
 * drawn afresh when it started campaigning, campaigns again (§5.2).
 */
export const candidate: RolePipeline = (ctx, epoch) =>
  ctx.electionDeadline$.pipe(
    deadlineTimer(ctx.scheduler),
    map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
  );
