import { map } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { electionTimer } from '../operators/electionTimer';
import type { RolePipeline } from './context';

/**
 * A follower campaigns when its leader has been silent for an election timeout (§5.2).
 * A former candidate's timer runs on (`resume`) until the first reset.
 */
export const follower: RolePipeline = (ctx, epoch, resume) =>
  electionTimer(ctx.electionResets$, ctx.electionTimeout, ctx.random, ctx.scheduler, resume && Math.max(0, resume.at - ctx.scheduler.now())).pipe(
    map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
  );
