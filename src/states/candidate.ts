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
        deadlineTimer(ctx.scheduler),
        map((): RaftEvent => ({ kind: 'electionTimeout', epoch })),
      ),
      ctx.voteResponses$.pipe(filter(isResponse(answers))),
    );
}

/** A candidate counts RequestVote answers (§5.2). */
export const candidate: RolePipeline = campaign('RequestVoteResponse');

/** A pre-candidate counts PreVote answers (§9.6); a RequestVote answer is not for it. */
export const precandidate: RolePipeline = campaign('PreVoteResponse');
