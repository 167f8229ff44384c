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
 *
 * A timer that runs more than a heartbeat interval late means this process was stalled,
 * and a stall of the whole machine stalls the leader too, which may get the CPU back
 * later than this follower: the follower then waits `stallGrace` (the node gives the
 * minimum election timeout) of its own running time for the leader's heartbeat before it
 * campaigns. One heartbeat interval of grace was too little: in the memory benchmark with
 * 300 ms stalls of all three servers, woken one by one up to 80 ms apart, followers that
 * woke first campaigned 80-190 ms after their deadlines and deposed a leader that was
 * about to send (docs/notes/deposed-leaders.md). No grace when the deadline is the
 * follower's place in the failover order after its host said the leader's host went silent
 * (`electionDeadlineOnNews`): the host's own ticks ran while that host answered nothing, so
 * no heartbeat of it waits to be read, and in the 1,000-group failover bench a busy survivor's
 * late timers each waited 500 ms more, hundreds at once (docs/notes/failover-1000.md).
 */
export const follower: RolePipeline = (ctx, epoch) =>
  unlessQuiet(
    ctx,
    ctx.electionDeadline$.pipe(
      deadlineTimer(ctx.scheduler, { stallAfter: ctx.heartbeatInterval, stallGrace: ctx.stallGrace ?? ctx.heartbeatInterval, skipGrace: ctx.electionDeadlineOnNews }),
      map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
    ),
  );
