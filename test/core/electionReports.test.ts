/**
 * Elections explain themselves (`core/electionReports.ts`): each campaign, granted vote
 * and step-down comes with a report an operator can read the cause from.
 */
import type { Effect } from '../../src/core/effects';
import type { ElectionReport } from '../../src/core/electionReports';
import { step } from '../../src/core/step';
import { elect, leaderHeardAt1000, makeState, msg, ok } from './helpers';

const reports = (effects: readonly Effect[]): ElectionReport[] =>
  effects.flatMap((e) => (e.type === 'electionReport' ? [e.report] : []));

const heartbeat = (term: number, leaderId: string) => ({ type: 'AppendEntries' as const, term, leaderId, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 1 });

describe('election reports', () => {
  test('a follower that times out says how long ago it heard its leader, the timeout it drew and how late its timer ran', () => {
    const s = makeState({ term: 1, options: { preVote: true } });
    s.now = 1000;
    msg(s, 'n2', heartbeat(1, 'n2')); // deadline 1000 + 225 (random 0.5)
    s.now = 1400; // the timer's event handled 175 ms late
    const fx = step(s, { kind: 'electionTimeout', epoch: s.epoch });
    expect(reports(fx.list)).toEqual([
      { kind: 'campaign', preVote: true, term: 2, leaderId: 'n2', sinceLeaderMs: 400, timeoutMs: 225, lateMs: 175, transfer: false },
    ]);
  });

  test('a node that never heard a leader reports null, not a huge number', () => {
    const s = makeState({});
    s.now = s.electionDeadline;
    const [report] = reports(step(s, { kind: 'electionTimeout', epoch: s.epoch }).list);
    expect(report).toMatchObject({ kind: 'campaign', preVote: false, leaderId: null, sinceLeaderMs: null, lateMs: 0 });
  });

  test('a granted pre-vote and a granted vote say how long the voter had not heard from a leader', () => {
    const s = makeState({ id: 'n3', term: 1, options: { preVote: true } });
    s.startedAt = -1000;
    s.now = 0;
    msg(s, 'n1', heartbeat(1, 'n1'));
    s.now = 300;
    const preVote = msg(s, 'n2', { type: 'PreVote', term: 2, candidateId: 'n2', lastLogIndex: 0, lastLogTerm: 0 });
    expect(reports(preVote)).toEqual([{ kind: 'voteGranted', preVote: true, term: 2, candidate: 'n2', sinceLeaderMs: 300 }]);
    const vote = msg(s, 'n2', { type: 'RequestVote', term: 2, candidateId: 'n2', lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false });
    expect(reports(vote)).toEqual([{ kind: 'voteGranted', preVote: false, term: 2, candidate: 'n2', sinceLeaderMs: 300 }]);
  });

  test('a refused pre-vote reports nothing', () => {
    const s = makeState({ id: 'n3', term: 1, options: { preVote: true } });
    s.now = 0;
    msg(s, 'n1', heartbeat(1, 'n1'));
    s.now = 100; // heard its leader 100 ms ago: refuses
    expect(reports(msg(s, 'n2', { type: 'PreVote', term: 2, candidateId: 'n2', lastLogIndex: 0, lastLogTerm: 0 }))).toEqual([]);
  });

  test('a leader failing CheckQuorum names the followers it counted silent, and for how long', () => {
    const s = leaderHeardAt1000();
    let fx: Effect[] = [];
    for (const at of [1050, 1100, 1150]) {
      s.now = at;
      if (at === 1100) msg(s, 'n2', ok(s.term, 1));
      fx = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    }
    expect(s.role.name).toBe('leader'); // n2 answers: with the leader, a majority
    for (const at of [1200, 1250]) {
      s.now = at;
      fx = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    }
    expect(s.role.name).toBe('follower'); // n2 silent too: 150 ms and four ticks
    expect(reports(fx)).toEqual([
      { kind: 'stepDown', reason: 'checkQuorum', term: 1, ledMs: 1250, silent: [{ id: 'n2', ms: 150, ticks: 4 }, { id: 'n3', ms: 250, ticks: 5 }] },
    ]);
  });

  test('a leader that hears a newer term names the message and its sender', () => {
    const s = makeState({ options: { checkQuorum: false } });
    s.now = 0;
    elect(s);
    s.now = 500;
    const fx = msg(s, 'n3', { type: 'RequestVote', term: 2, candidateId: 'n3', lastLogIndex: 5, lastLogTerm: 1, leadershipTransfer: true });
    expect(s.role.name).toBe('follower');
    expect(reports(fx)).toContainEqual({ kind: 'stepDown', reason: 'higherTerm', term: 1, ledMs: 500, newTerm: 2, from: 'n3', message: 'RequestVote', transfer: true });
  });

  test('TimeoutNow starts a campaign reported as a transfer, with no lateness', () => {
    const s = makeState({ id: 'n2', term: 1 });
    s.now = 0;
    msg(s, 'n1', heartbeat(1, 'n1'));
    s.now = 40;
    const [report] = reports(msg(s, 'n1', { type: 'TimeoutNow', term: 1 }));
    expect(report).toEqual({ kind: 'campaign', preVote: false, term: 2, leaderId: 'n1', sinceLeaderMs: 40, timeoutMs: 225, lateMs: 0, transfer: true });
  });
});
