import { TestScheduler } from 'rxjs/testing';
import type { RaftEvent } from '../../src/core/events';
import type { RoleContext } from '../../src/states/context';
import { unlessQuiet } from '../../src/states/quiet';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const tick: RaftEvent = { kind: 'heartbeatTick', epoch: 1 };
const W: RaftEvent = { kind: 'wake' };
const flags = { f: false, t: true };

describe('unlessQuiet', () => {
  it('passes the awake events while awake, only wake-ups while quiet, and subscribes each only then', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const quiet$ = hot('f--------t---------f------', flags);
      const awake$ = hot('--a--a--------a-----a--a--', { a: tick });
      const wakeups$ = hot('--w-----------w---w-------');
      const ctx = { quiet$, wakeups$ } as unknown as RoleContext;
      expectObservable(unlessQuiet(ctx, awake$)).toBe('--a--a--------W---W-a--a--', { a: tick, W });
      expectSubscriptions(awake$.subscriptions).toBe(['^--------!', '-------------------^------']);
      expectSubscriptions(wakeups$.subscriptions).toBe('---------^---------!');
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
