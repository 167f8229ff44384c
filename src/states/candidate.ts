import { defer, map, timer } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { drawElectionTimeout } from '../operators/electionTimer';
import type { RolePipeline } from './context';

/**
 * A candidate (or pre-candidate) that neither wins nor loses within a fresh random
 * timeout campaigns again (§5.2).
 */
export const candidate: RolePipeline = (ctx, epoch) =>
  defer(() => {
    const delay = drawElectionTimeout(ctx.electionTimeout, ctx.random);
    ctx.electionTimerArmed(ctx.scheduler.now() + delay);
    return timer(delay, ctx.scheduler);
  }).pipe(map((): RaftEvent => ({ kind: 'electionTimeout', epoch })));
