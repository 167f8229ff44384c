import { isVoter, members } from '../messages/config';
import type { NodeId } from '../messages/types';
import { drawElectionDeadline } from './electionDeadline';
import { currentConfig, RaftState } from './state';

/*
 * Who campaigns first when the host says a group's leader host went silent (issue 19,
 * failover). Told by the same host-level silence, the surviving voters of every group the
 * dead host led would otherwise draw random deadlines from the same moment; on a loaded
 * machine, where a PreVote round takes longer than the spread of the draws, many groups
 * then split their votes, once or several times (measured: half of 100 groups needed two
 * or more rounds). Instead the group's live voters agree on an order without a message (a
 * hash of the group and of each voter id): the first campaigns after its random timeout
 * from the news, each next one a whole maximum election timeout later than the one before
 * it, plus its random timeout. The first ones of all the groups keep their random
 * timeouts: a version that had every first voter campaign exactly `electionTimeoutMin`
 * after the news sent hundreds of elections at once, and on a loaded machine their vote
 * rounds outlasted the candidates' timeouts, every group needing three or more rounds.
 * Timing only: PreVote, the vote rules and CheckQuorum decide as always, so a wrong guess
 * (the first cannot win, or the leader was alive after all and answers the WakeUp first)
 * costs at most one round.
 */

/** What the failover order reads of the host's wake-up (`RaftEvent` 'wake'). */
export interface LeaderHostNews {
  readonly hosts?: readonly NodeId[];
  readonly silent?: readonly NodeId[];
  readonly group?: string;
}

/**
 * The election deadline of a voter that follows a leader whose host the host just found
 * silent (`news.hosts` and `news.silent` name it): the live voters of the configuration
 * (neither the leader nor silent) sorted by `failoverRank`, the k-th (from 0) at
 * `now + k × electionTimeoutMax` plus a random timeout.
 * Null when the news is not that, or this node is not such a voter, is under repair, or
 * its deadlines are switched off.
 *
 * @example
 * failoverDeadline(s, { hosts: ['h1'], silent: ['h1'], group: 'g7' }); // s.now + 150..300 on one of h2, h3; s.now + 300 + 150..300 on the other
 */
export function failoverDeadline(s: RaftState, news: LeaderHostNews): number | null {
  const leader = s.leaderId;
  const range = s.electionRange;
  if (s.role.name !== 'follower' || leader === null || range === 'never' || s.repair) return null;
  if (!news.hosts?.includes(leader) || !news.silent?.includes(leader)) return null;
  const config = currentConfig(s);
  const silent = news.silent;
  const live = members(config).filter((id) => isVoter(config, id) && id !== leader && !silent.includes(id));
  const order = live.map((id) => [failoverRank(news.group ?? '', id), id] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const k = order.findIndex(([, id]) => id === s.id);
  if (k < 0) return null;
  return drawElectionDeadline(s.now + k * range.max, range, s.options.random);
}

/**
 * A voter's place in its group's failover order: 32-bit FNV-1a of the group, a separator
 * and the voter id, then the id (ties). The same on every replica; different groups order
 * their voters differently, so the new leaders spread over the live hosts.
 *
 * @example
 * failoverRank('g1', 'h2') < failoverRank('g1', 'h3'); // the same answer on every host
 */
export function failoverRank(group: string, voter: NodeId): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) h = Math.imul(h ^ group.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ 0, 0x01000193) >>> 0;
  for (let i = 0; i < voter.length; i++) h = Math.imul(h ^ voter.charCodeAt(i), 0x01000193) >>> 0;
  return `${h.toString(16).padStart(8, '0')}:${voter}`;
}
