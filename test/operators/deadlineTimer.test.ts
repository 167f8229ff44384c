import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { deadlineTimer } from '../../src/operators/deadlineTimer';
import { stalled } from './stalledScheduler';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('deadlineTimer', () => {
  it('emits a deadline once the scheduler reaches it', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      expectObservable(cold('a', { a: 15 }).pipe(deadlineTimer(s))).toBe('15ms a', { a: 15 });
    });
  });

  it('follows the latest deadline, later or earlier than the pending one', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      // 20 at 0; at 5 moved later to 30; at 8 moved earlier to 18: only 18 passes
      const deadlines = hot('a----b--c', { a: 20, b: 30, c: 18 });
      expectObservable(deadlines.pipe(deadlineTimer(s))).toBe('18ms c', { c: 18 });
    });
  });

  it('emits a deadline moved later only at its new time, and each deadline once', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      // 10 at 0, moved to 25 at 4; then 40 arrives at 30
      const deadlines = hot('a---b 25ms c', { a: 10, b: 25, c: 40 });
      expectObservable(deadlines.pipe(deadlineTimer(s))).toBe('25ms b 14ms c', { b: 25, c: 40 });
    });
  });

  it('never emits for Infinity, which cancels a pending deadline', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('a--n 20ms b', { a: 10, n: Infinity, b: 30 });
      expectObservable(deadlines.pipe(deadlineTimer(s))).toBe('30ms b', { b: 30 });
    });
  });

  it('emits a deadline already past at once, in the same frame', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const deadlines = hot('----------a', { a: 3 });
      expectObservable(deadlines.pipe(deadlineTimer(s))).toBe('----------a', { a: 3 });
    });
  });

  it('never emits synchronously on subscription, even for a past deadline', () => {
    const s = scheduler();
    const deadlines = new Subject<number>();
    const seen: number[] = [];
    deadlines.pipe(deadlineTimer(s)).subscribe((d) => seen.push(d));
    deadlines.next(-5);
    expect(seen).toEqual([]);
    s.flush();
    expect(seen).toEqual([-5]);
  });

  it('completes after the source has completed and the pending deadline has passed', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: 10 }).pipe(deadlineTimer(s))).toBe('10ms (a|)', { a: 10 });
      expectObservable(cold('n|', { n: Infinity }).pipe(deadlineTimer(s))).toBe('-|');
    });
  });

  it('forwards an error of the source', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-#', { a: 10 }).pipe(deadlineTimer(s))).toBe('--#');
    });
  });

  it('unsubscribes from the source and cancels the pending deadline when unsubscribed', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const deadlines = hot('a', { a: 10 });
      expectObservable(deadlines.pipe(deadlineTimer(s)), '^----!').toBe('');
      expectSubscriptions(deadlines.subscriptions).toBe('^----!');
    });
  });

  it('cancels its scheduled check when unsubscribed', () => {
    const s = scheduler();
    const deadlines = new Subject<number>();
    const subscription = deadlines.pipe(deadlineTimer(s)).subscribe();
    deadlines.next(10);
    expect(s.actions.filter((a) => !a.closed)).toHaveLength(1);
    subscription.unsubscribe();
    expect(s.actions.filter((a) => !a.closed)).toHaveLength(0);
    expect(deadlines.observed).toBe(false);
  });

  describe('with stallGrace: a check that runs late gives the source one more chance', () => {
    it('waits the grace once more when the check runs more than the grace late, then emits', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        // deadline 10; the process stalls from 8 to 20, so the check runs 10 late
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 20), { stallGrace: 5 }))).toBe('25ms a', { a: 10 });
      });
    });

    it('emits nothing when the source moves the deadline during the grace (the heartbeat read after the stall)', () => {
      const s = scheduler();
      s.run(({ hot, expectObservable }) => {
        const deadlines = hot('a 21ms b', { a: 10, b: 60 });
        expectObservable(deadlines.pipe(deadlineTimer(stalled(s, 8, 20), { stallGrace: 5 }))).toBe('60ms b', { b: 60 });
      });
    });

    it('emits at once when the check is late by no more than the grace', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 13), { stallGrace: 5 }))).toBe('13ms a', { a: 10 });
      });
    });

    it('gives no grace for a deadline that was already past when it arrived', () => {
      const s = scheduler();
      s.run(({ hot, expectObservable }) => {
        expectObservable(hot('----------a', { a: 3 }).pipe(deadlineTimer(s, { stallGrace: 5 }))).toBe('----------a', { a: 3 });
      });
    });

    it('with stallAfter, a check later than stallAfter gets the whole stallGrace', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        // deadline 10, the check runs at 20: 10 late, more than stallAfter 3 (and less than the grace 15)
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 20), { stallAfter: 3, stallGrace: 15 }))).toBe('35ms a', { a: 10 });
      });
    });

    it('with stallAfter, a check late by no more than stallAfter emits at once', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 12), { stallAfter: 3, stallGrace: 15 }))).toBe('12ms a', { a: 10 });
      });
    });

    it('with skipGrace answering true at the late check, emits at once (a follower told its leader\'s host went silent)', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 20), { stallGrace: 5, skipGrace: () => true }))).toBe('20ms a', { a: 10 });
      });
    });

    it('with skipGrace answering false, the grace as before', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 20), { stallGrace: 5, skipGrace: () => false }))).toBe('25ms a', { a: 10 });
      });
    });

    it('without the option, a late check emits at once', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        expectObservable(cold('a', { a: 10 }).pipe(deadlineTimer(stalled(s, 8, 20)))).toBe('20ms a', { a: 10 });
      });
    });
  });
});
