import { filter, map, merge } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { deadlineTimer } from '../operators/deadlineTimer';
import type { RolePipeline } from './context';
import { isResponse, VoteResponse } from './responses';

/**
 * A campaign of one epoch: it takes the answers to its vote requests as events (the rules
 * count them, `core/election.ts`), and, if it neither wins nor loses by its election
 * deadline, drawn afresh when it started campaigning, campaigns again (§5.2). Answers that
 * arrive once the campaign is over — won, lost, or followed by a new one in a new epoch —
 * find no pipeline and are dropped, like lost messages.
 *
 * A deadline check that runs more than a heartbeat interval late (the process stalled:
 * its timers fire before it reads what arrived meanwhile) waits one heartbeat interval
 * more (`stallGrace`, as a follower's): the answers that arrived during the stall are
 * counted first. Without it, a host of many groups that stalled mid-election started
 * every campaign over and dropped the votes already in its socket, and under load the
 * next round stalled as long again (issue 19's 1,000-group failover).
 *
 * ```
 * deadline:  a-------------------
 * answers:   ---v---v------------    (RequestVoteResponse, or PreVoteResponse for a pre-candidate)
 * output:    ---v---v-----t          (t: electionTimeout of this epoch at a)
 * ```
 */
function campaign(answers: VoteResponse): RolePipeline {
  return (ctx, epoch) =>
    merge(
      ctx.electionDeadline$.pipe(
        deadlineTimer(ctx.scheduler, { stallGrace: ctx.heartbeatInterval }),
        map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
      ),
      ctx.voteResponses$.pipe(filter(isResponse(answers))),
    );
}

/** A candidate counts RequestVote answers (§5.2). */
export const candidate: RolePipeline = campaign('RequestVoteResponse');

/** A pre-candidate counts PreVote answers (§9.6); a RequestVote answer is not for it. */
export const precandidate: RolePipeline = campaign('PreVoteResponse');
