/**
 * The failover order (`core/failoverOrder.ts`) and the quiet follower's veto
 * (`maybeWake`, `core/quiescence.ts`): who campaigns when when the host says a group's
 * leader host went silent, and why a host that alone took a leader host for dead cannot
 * depose it. Feed one event, compare the state.
 */
import { failoverDeadline, failoverRank } from '../../src/core/failoverOrder';
import type { RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import type { AppendEntries } from '../../src/messages/types';
import { makeState, msg, sent } from './helpers';

const QUIESCE = { quiesce: true, checkQuorum: true, preVote: true };

/** `id`, a voter of `voters`, follows n1 in term 1 and went quiet on its quiesce heartbeat; now is 10,000. */
function quietFollower(id: string, voters = ['n1', 'n2', 'n3']): RaftState {
  const s = makeState({ id, voters, term: 1, log: [1], options: QUIESCE });
  step(s, { kind: 'persisted', index: 1, term: 1 });
  const hb: AppendEntries = { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1, seq: 3, quiesce: true };
  msg(s, 'n1', hb);
  expect(s.quiet).toBe(true);
  s.now = 10_000;
  return s;
}

/** The live voters of `voters` but n1 (the leader) and `silent`, in `group`'s failover order. */
const order = (group: string, voters: string[], silent: string[] = []) =>
  voters.filter((v) => v !== 'n1' && !silent.includes(v)).sort((a, b) => (failoverRank(group, a) < failoverRank(group, b) ? -1 : 1));

describe('the failover order', () => {
  test('told that its leader\'s host went silent, the first live voter of the group\'s order campaigns after its random timeout, the next a whole electionTimeoutMax later plus its random timeout', () => {
    const [first, second] = order('g7', ['n1', 'n2', 'n3']);
    const news = { kind: 'wake', hosts: ['n1'], silent: ['n1'], group: 'g7' } as const;
    const a = quietFollower(first);
    step(a, news);
    expect(a.quiet).toBe(false);
    expect(a.electionDeadline).toBe(10_000 + 225); // the helpers' random() is 0.5
    const b = quietFollower(second);
    step(b, news);
    expect(b.electionDeadline).toBeGreaterThanOrEqual(10_000 + 300 + 150);
    expect(b.electionDeadline).toBeLessThanOrEqual(10_000 + 300 + 300);
  });

  test('no hurry unless the leader\'s host is silent: news of another host, or of the leader\'s host answering again, keeps the random timeout', () => {
    const [first] = order('g7', ['n1', 'n2', 'n3']);
    const s = quietFollower(first);
    expect(failoverDeadline(s, { hosts: ['n3'], silent: ['n3'], group: 'g7' })).toBeNull();
    expect(failoverDeadline(s, { hosts: ['n1'], silent: [], group: 'g7' })).toBeNull();
    expect(failoverDeadline(s, { hosts: ['n1'], silent: ['n1'], group: 'g7' })).toBe(10_000 + 225);
  });

  test('a deadline set by that news is marked for no stall grace; any deadline drawn later (hearing from a leader) is not', () => {
    const [first] = order('g7', ['n1', 'n2', 'n3']);
    const s = quietFollower(first);
    step(s, { kind: 'wake', hosts: ['n1'], silent: ['n1'], group: 'g7' });
    expect(s.electionDeadlineOnNews).toBe(true);
    const hb: AppendEntries = { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1, seq: 4 };
    msg(s, 'n1', hb); // the leader's host was alive after all
    expect(s.electionDeadlineOnNews).toBe(false);
    expect(s.electionDeadline).toBe(10_000 + 225);
  });

  test('news that does not set the failover order leaves the deadline unmarked', () => {
    const [first] = order('g7', ['n1', 'n2', 'n3']);
    const s = quietFollower(first);
    step(s, { kind: 'wake', hosts: ['n1'], silent: [], group: 'g7' });
    expect(s.quiet).toBe(false);
    expect(s.electionDeadlineOnNews).toBe(false);
  });

  test('silent voters are skipped: of 5 voters with n1 (the leader) and n2 silent, the first of n3, n4, n5 in the order goes first', () => {
    const voters = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const [first, second, third] = order('g9', voters, ['n2']);
    const news = { hosts: ['n1', 'n2'], silent: ['n1', 'n2'], group: 'g9' };
    expect(failoverDeadline(quietFollower(first, voters), news)).toBe(10_000 + 225);
    expect(failoverDeadline(quietFollower(second, voters), news)).toBeGreaterThanOrEqual(10_000 + 300 + 150);
    expect(failoverDeadline(quietFollower(third, voters), news)).toBeGreaterThanOrEqual(10_000 + 600 + 150);
  });

  test('the order differs from group to group, so the new leaders spread over the live hosts', () => {
    const firsts = Array.from({ length: 200 }, (_, i) => order(`kv-${i}`, ['n1', 'n2', 'n3'])[0]);
    expect(firsts.filter((f) => f === 'n2').length).toBeGreaterThan(70);
    expect(firsts.filter((f) => f === 'n3').length).toBeGreaterThan(70);
  });
});

describe('a quiet follower\'s veto', () => {
  const preVote = { type: 'PreVote', term: 2, candidateId: 'n3', lastLogIndex: 1, lastLogTerm: 1 } as const;

  test('woken by a pre-vote while its host still hears its leader\'s host, it refuses (the leader is as good as heard from) and wakes the leader', () => {
    const s = quietFollower('n2');
    const fx = msg(s, 'n3', preVote);
    expect(sent(fx)).toContainEqual({ to: 'n3', afterPersist: false, message: { type: 'PreVoteResponse', term: 1, voteGranted: false } });
    expect(sent(fx)).toContainEqual({ to: 'n1', afterPersist: true, message: { type: 'WakeUp', term: 1 } });
  });

  test('once its host says the leader\'s host is silent, it grants', () => {
    const s = quietFollower('n2');
    step(s, { kind: 'wake', hosts: ['n1'], silent: ['n1'], group: 'g7' });
    expect(sent(msg(s, 'n3', preVote))).toContainEqual({ to: 'n3', afterPersist: false, message: { type: 'PreVoteResponse', term: 2, voteGranted: true } });
  });
});
