import { map } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { electionTimer } from '../operators/electionTimer';
import type { RolePipeline } from './context';

/** A follower campaigns when its leader has been silent for an election timeout (§5.2). */
export const follower: RolePipeline = (ctx, epoch) =>
  electionTimer(ctx.electionResets$, ctx.electionTimeout, ctx.random, ctx.scheduler).pipe(
    map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
  );
