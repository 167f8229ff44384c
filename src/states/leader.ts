import { interval, map, merge } from 'rxjs';
import { unlessQuiet } from './quiet';
import type { RaftEvent } from '../core/events';
import type { NodeId } from '../messages/types';
import { mergeKeyed } from '../operators/mergeKeyed';
import type { RolePipeline } from './context';
import { replicateTo } from './replicateTo';

/**
 * A leader ticks every heartbeat interval (or on its host's shared clock, `heartbeats$`) —
 * heartbeats, and re-probes of stalled followers (§5.2) — and runs one `replicateTo` pipeline per follower, keyed off the
 * configuration: a follower that stays across a change keeps its pipeline, a removed one
 * has its pipeline (and any snapshot reader) closed at once, a new one gets its own.
 * While the group is quiet it does not tick (`unlessQuiet`). Leaving the role
 * unsubscribes all of it.
 *
 * ```
 * followers$:  [n2,n3]--------[n3]------
 * heartbeat:   ----t----t----t----t----t
 * n2:          ^--------------!            (replicateTo n2)
 * n3:          ^--------------------------
 * ```
 */
export const leader: RolePipeline = (ctx, epoch) =>
  merge(
    unlessQuiet(ctx, (ctx.heartbeats$ ?? interval(ctx.heartbeatInterval, ctx.scheduler)).pipe(map((): RaftEvent => ({ kind: 'heartbeatTick', epoch })))),
    ctx.followers$.pipe(mergeKeyed((peer: NodeId) => replicateTo(ctx, peer))),
  );
