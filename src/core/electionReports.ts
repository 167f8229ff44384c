import type { NodeId } from '../messages/types';
import type { LeaderState, RaftState } from './state';

/**
 * Why a node campaigned, voted or stopped leading, with the numbers that decided it: what
 * an operator reads to tell a dead leader from a stalled process or a slow disk. The rules
 * report them as effects (`Effects.report`, pure); the runtime publishes them on
 * `RaftNode.elections$`. Times are in ms of the node's scheduler.
 *
 * @example
 * node.elections$.subscribe((r) => console.log(r));
 * // { kind: 'campaign', preVote: true, term: 8, leaderId: 'n2', sinceLeaderMs: 412, timeoutMs: 231, lateMs: 181, transfer: false }
 */
export type ElectionReport =
  /**
   * This node's election timer ran out (or TimeoutNow arrived: `transfer`) and it asks
   * for votes: `preVote` asks without raising the term. `leaderId` is the leader it last
   * followed, `sinceLeaderMs` how long ago it last heard from one (null: never since it
   * started), `timeoutMs` the timeout it drew, `lateMs` how much later than its deadline
   * the timer's event was handled (a stalled or starved process shows here; the
   * follower's stall grace adds up to one heartbeat interval).
   */
  | {
      readonly kind: 'campaign';
      readonly preVote: boolean;
      readonly term: number;
      readonly leaderId: NodeId | null;
      readonly sinceLeaderMs: number | null;
      readonly timeoutMs: number;
      readonly lateMs: number;
      readonly transfer: boolean;
    }
  /**
   * This node granted `candidate` its (pre-)vote for `term`: it had not heard from a
   * leader for `sinceLeaderMs` (null: never since it started). A new leader needs a
   * majority of these, so they show who agreed that the old leader was gone.
   */
  | { readonly kind: 'voteGranted'; readonly preVote: boolean; readonly term: number; readonly candidate: NodeId; readonly sinceLeaderMs: number | null }
  /**
   * This leader stopped leading in `term`. `checkQuorum`: a majority did not answer within
   * the minimum election timeout; `silent` lists the followers counted silent, with how
   * long ago (`ms`) and how many heartbeat ticks ago each last answered. `higherTerm`: a
   * `message` of `newTerm` came from `from` (`transfer`: a campaign this leader's
   * TimeoutNow started). `removed`: the configuration it committed has it no longer a voter.
   */
  | {
      readonly kind: 'stepDown';
      readonly reason: 'checkQuorum';
      readonly term: number;
      readonly ledMs: number;
      readonly silent: readonly { readonly id: NodeId; readonly ms: number; readonly ticks: number }[];
    }
  | {
      readonly kind: 'stepDown';
      readonly reason: 'higherTerm';
      readonly term: number;
      readonly ledMs: number;
      readonly newTerm: number;
      readonly from: NodeId;
      readonly message: string;
      readonly transfer: boolean;
    }
  | { readonly kind: 'stepDown'; readonly reason: 'removed'; readonly term: number; readonly ledMs: number };

/** How long ago this node last heard from a leader, or null if never since it started. */
function sinceLeader(s: RaftState): number | null {
  return Number.isFinite(s.lastLeaderContact) ? ms(s.now - s.lastLeaderContact) : null;
}

/** A duration for people: whole ms (the production clock has fractions). */
const ms = (duration: number) => Math.round(duration);

/**
 * A campaign about to start (taken before the role transition forgets the leader and
 * draws a new deadline).
 *
 * @example
 * const report = campaignReport(s, { preVote: true, transfer: false });
 * campaign(s, fx);
 * fx.report(report); // after the transition's own effects
 */
export function campaignReport(s: RaftState, how: { preVote: boolean; transfer: boolean }): ElectionReport {
  const deadline = s.electionDeadline;
  return {
    kind: 'campaign',
    preVote: how.preVote,
    term: s.term + 1,
    leaderId: s.leaderId,
    sinceLeaderMs: sinceLeader(s),
    timeoutMs: Number.isFinite(deadline) ? ms(deadline - s.electionDeadlineFrom) : 0,
    lateMs: Number.isFinite(deadline) && !how.transfer ? ms(Math.max(0, s.now - deadline)) : 0,
    transfer: how.transfer,
  };
}

/** A (pre-)vote granted to `candidate` for `term`. */
export function voteGrantedReport(s: RaftState, candidate: NodeId, term: number, preVote: boolean): ElectionReport {
  return { kind: 'voteGranted', preVote, term, candidate, sinceLeaderMs: sinceLeader(s) };
}

/**
 * A leader failing CheckQuorum, naming the followers it counted silent.
 *
 * @example
 * const report = quorumLostReport(s, L, (id) => !answeredLately(s, L, id));
 * becomeFollower(s, s.term, null, fx);
 * fx.report(report);
 */
export function quorumLostReport(s: RaftState, L: LeaderState, isSilent: (id: NodeId) => boolean): ElectionReport {
  const silent: { id: NodeId; ms: number; ticks: number }[] = [];
  for (const [id, pr] of L.progress) if (isSilent(id)) silent.push({ id, ms: ms(s.now - pr.lastContact), ticks: pr.ticksSinceContact });
  return { kind: 'stepDown', reason: 'checkQuorum', term: s.term, ledMs: ms(s.now - L.since), silent };
}

/** A leader stepping down for a message of a newer term (taken before the term changes). */
export function higherTermReport(s: RaftState, L: LeaderState, from: NodeId, message: { type: string; term: number; leadershipTransfer?: boolean }): ElectionReport {
  return {
    kind: 'stepDown', reason: 'higherTerm', term: s.term, ledMs: ms(s.now - L.since), newTerm: message.term, from,
    message: message.type, transfer: message.leadershipTransfer === true,
  };
}

/** A leader stepping down because the committed configuration no longer has it as a voter. */
export function removedReport(s: RaftState, L: LeaderState): ElectionReport {
  return { kind: 'stepDown', reason: 'removed', term: s.term, ledMs: ms(s.now - L.since) };
}
