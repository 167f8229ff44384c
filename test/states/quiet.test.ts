import { TestScheduler } from 'rxjs/testing';
import type { RaftEvent } from '../../src/core/events';
import type { RoleContext } from '../../src/states/context';
import { unlessQuiet, wakeEvents } from '../../src/states/quiet';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const tick: RaftEvent = { kind: 'heartbeatTick', epoch: 1 };
const W: RaftEvent = { kind: 'wake' };
const flags = { f: false, t: true };

describe('unlessQuiet', () => {
  it('passes the awake events while awake, nothing while quiet, and subscribes them only while awake (wake-ups reach every role: wakeEvents)', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const quiet$ = hot('f--------t---------f------', flags);
      const awake$ = hot('--a--a--------a-----a--a--', { a: tick });
      const wakeups$ = hot('--w-----------w---w-------');
      const ctx = { quiet$, wakeups$ } as unknown as RoleContext;
      expectObservable(unlessQuiet(ctx, awake$)).toBe('--a--a--------------a--a--', { a: tick });
      expectSubscriptions(awake$.subscriptions).toBe(['^--------!', '-------------------^------']);
      expectSubscriptions(wakeups$.subscriptions).toBe([]);
    });
  });

  it("turns the host's wake-ups into wake events, naming the hosts when the host did", () => {
    marbles().run(({ hot, expectObservable }) => {
      const news = { hosts: ['h1'], silent: ['h1'], group: 'g1' };
      const wakeups$ = hot('--w--x-', { w: news, x: undefined });
      expectObservable(wakeEvents({ wakeups$ } as unknown as RoleContext)).toBe('--W--X-', { W: { kind: 'wake', hosts: ['h1'], silent: ['h1'], group: 'g1' }, X: W });
    });
  });

  it('ignores a repeated quiet flag (the awake events are not resubscribed)', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const quiet$ = hot('f--f--f--', flags);
      const awake$ = hot('-a--a--a-', { a: tick });
      expectObservable(unlessQuiet({ quiet$ } as unknown as RoleContext, awake$)).toBe('-a--a--a-', { a: tick });
      expectSubscriptions(awake$.subscriptions).toBe('^--------');
    });
  });

  it('without wake-ups a quiet node emits nothing; completes once quiet$ and the current inner have', () => {
    marbles().run(({ hot, cold, expectObservable }) => {
      const quiet$ = hot('f---t---f--|', flags);
      const awake$ = cold('-a-----|', { a: tick });
      expectObservable(unlessQuiet({ quiet$ } as unknown as RoleContext, awake$)).toBe('-a-------a-----|', { a: tick });
    });
  });

  it('fails with an error of the awake events', () => {
    marbles().run(({ hot, expectObservable }) => {
      const awake$ = hot<RaftEvent>('--#');
      expectObservable(unlessQuiet({ quiet$: hot('f', flags) } as unknown as RoleContext, awake$)).toBe('--#');
    });
  });
});
