import { NEVER, Observable, of, switchMap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { RoleName } from '../../src/core/state';
import { InboundMessage, RoleContext, rolePipelines } from '../../src/states';
import { routeByPeer } from './routeByPeer';
import { stalled } from '../operators/stalledScheduler';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function context(s: TestScheduler, electionDeadline$: Observable<number>, responses$: Observable<InboundMessage> = NEVER): RoleContext {
  return {
    ...{ scheduler: s, heartbeatInterval: 10, electionDeadline$, quiet$: of(false), ...routeByPeer(NEVER, responses$) },
    // no followers: the leader's per-follower pipelines are tested in leader.test.ts and replicateTo.test.ts
    ...{ id: 'n1', followers$: NEVER, requestsTo: () => NEVER, entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) }, snapshotSource: { readSnapshot: () => null }, transport: { send: () => undefined } },
  };
}

const timeout = (epoch: number) => ({ kind: 'electionTimeout', epoch });
const vote = (from: string, term: number): InboundMessage => ({ kind: 'message', from, message: { type: 'RequestVoteResponse', term, voteGranted: true } });
const preVote = (from: string, term: number): InboundMessage => ({ kind: 'message', from, message: { type: 'PreVoteResponse', term, voteGranted: true } });
const appendAnswer = (from: string): InboundMessage => ({
  kind: 'message',
  from,
  message: { type: 'AppendEntriesResponse', term: 2, success: true, matchIndex: 0, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 0 },
});
const tick = (epoch: number) => ({ kind: 'heartbeatTick', epoch });

describe('role pipelines', () => {
  it.each(['follower', 'precandidate', 'candidate'] as const)('a %s times out at its election deadline, with its epoch', (role) => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a', { a: 25 });
      expectObservable(rolePipelines[role](context(s, deadlines), 3)).toBe('25ms t', { t: timeout(3) });
    });
  });

  it('a follower follows a deadline moved by hearing from its leader, and times out only at the last one', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a 9ms b 9ms c', { a: 25, b: 35, c: 45 }); // heartbeats at 10 and 20
      expectObservable(rolePipelines.follower(context(s, deadlines), 1)).toBe('45ms t', { t: timeout(1) });
    });
  });

  it('a candidate follows a deadline moved earlier', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a----b', { a: 40, b: 12 });
      expectObservable(rolePipelines.candidate(context(s, deadlines), 2)).toBe('12ms t', { t: timeout(2) });
    });
  });

  it('a follower whose timer runs late waits the stall grace for its leader, unless the deadline is its place in the failover order (its leader\'s host is silent)', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const base = { ...context(stalled(s, 20, 40) as TestScheduler, hot('a', { a: 25 })), stallGrace: 30 };
      // deadline 25, the check runs at 40: 15 late, more than the heartbeat interval (10)
      expectObservable(rolePipelines.follower({ ...base, electionDeadlineOnNews: () => false }, 1)).toBe('70ms t', { t: timeout(1) });
      expectObservable(rolePipelines.follower({ ...base, electionDeadlineOnNews: () => true }, 1)).toBe('40ms t', { t: timeout(1) });
    });
  });

  it('a follower without a deadline (Infinity) never times out', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a', { a: Infinity });
      expectObservable(rolePipelines.follower(context(s, deadlines), 1), '^ 500ms !').toBe('');
    });
  });

  it('a leader given a shared heartbeat clock ticks on it, not on its own timer', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const clock = hot('---c---c--c', { c: 0 }); // a host's clock: shared by its groups' leaders
      const ctx = { ...context(s, hot('a', { a: 5 })), heartbeats$: clock };
      expectObservable(rolePipelines.leader(ctx, 2), '^ 20ms !').toBe('---t---t--t', { t: tick(2) });
    });
  });

  it('a leader ticks every heartbeat interval, with its epoch', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a', { a: 5 }); // a leader ignores election deadlines
      expectObservable(rolePipelines.leader(context(s, deadlines), 4), '^ 34ms !').toBe('10ms t 9ms t 9ms t', { t: tick(4) });
    });
  });

  it('switching role unsubscribes the old pipeline in that frame: a follower that became leader does not time out', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const deadlines = hot('a', { a: 30 });
      const roles = cold<{ role: RoleName; epoch: number }>('f 19ms l', { f: { role: 'follower', epoch: 1 }, l: { role: 'leader', epoch: 2 } });
      const ctx = context(s, deadlines);
      const events = roles.pipe(switchMap((r) => rolePipelines[r.role](ctx, r.epoch)));
      expectObservable(events, '^ 45ms !').toBe('30ms t 9ms t', { t: tick(2) });
      expectSubscriptions(deadlines.subscriptions).toBe('^ 19ms !');
    });
  });

  it('a new epoch of the same role restarts the pipeline: the old epoch never fires', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const deadlines = hot('a 14ms b', { a: 10, b: 40 });
      const roles = cold<{ role: RoleName; epoch: number }>('c 4ms d', { c: { role: 'candidate', epoch: 5 }, d: { role: 'candidate', epoch: 6 } });
      const ctx = context(s, deadlines);
      const events = roles.pipe(switchMap((r) => rolePipelines[r.role](ctx, r.epoch)));
      // epoch 6 subscribes at 5, after the deadline 10 was emitted: it waits for the next deadline (40)
      expectObservable(events).toBe('40ms t', { t: timeout(6) });
      expectSubscriptions(deadlines.subscriptions).toBe(['^ 4ms !', '5ms ^']);
    });
  });

  it('a candidate takes the answers to its RequestVotes as events, a pre-candidate those to its PreVotes; neither takes the other\'s, nor a leader\'s answers', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a', { a: 30 });
      const answers = hot<InboundMessage>('-v-p-a-w', { v: vote('n2', 2), p: preVote('n3', 2), a: appendAnswer('n2'), w: vote('n3', 2) });
      expectObservable(rolePipelines.candidate(context(s, deadlines, answers), 5)).toBe('-v-----w 22ms t', { v: vote('n2', 2), w: vote('n3', 2), t: timeout(5) });
      expectObservable(rolePipelines.precandidate(context(s, deadlines, answers), 4)).toBe('---p 26ms t', { p: preVote('n3', 2), t: timeout(4) });
    });
  });

  it('followers and leaders take no vote answers: once a campaign ends, its late answers are dropped by the switch, not stepped', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const deadlines = hot('a', { a: 100 });
      const answers = hot<InboundMessage>('--v---w---x', { v: vote('n2', 2), w: vote('n3', 2), x: vote('n3', 2) });
      // a candidate of epoch 5 wins at frame 4 (leader, epoch 6), then steps down at frame 8 (follower, epoch 7)
      const roles = cold<{ role: RoleName; epoch: number }>('c---l---f', {
        c: { role: 'candidate', epoch: 5 },
        l: { role: 'leader', epoch: 6 },
        f: { role: 'follower', epoch: 7 },
      });
      const ctx = context(s, deadlines, answers);
      expectObservable(roles.pipe(switchMap((r) => rolePipelines[r.role](ctx, r.epoch))), '^ 20ms !').toBe('--v', { v: vote('n2', 2) });
      // only the campaign listens: the leader's answers come through its per-follower pipelines (none here), a follower takes none
      expectSubscriptions(answers.subscriptions).toBe('^ 3ms !');
    });
  });
});
