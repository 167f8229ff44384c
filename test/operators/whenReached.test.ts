import { BehaviorSubject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { whenReached } from '../../src/operators/whenReached';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const expired = () => new Error('expired');

describe('whenReached', () => {
  it('emits the first value at or above the target, then completes and unsubscribes', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const progress = hot('3-5--8-9', { 3: 3, 5: 5, 8: 8, 9: 9 });
      expectObservable(whenReached(progress, 7, { ms: 10, scheduler: s, expired })).toBe('-----(8|)', { 8: 8 });
      expectSubscriptions(progress.subscriptions).toBe('^----!');
    });
  });

  it('fails with the given error when the target is not reached in time', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const progress = hot('3-5--8-9', { 3: 3, 5: 5, 8: 8, 9: 9 });
      expectObservable(whenReached(progress, 10, { ms: 6, scheduler: s, expired })).toBe('------#', undefined, new Error('expired'));
      expectSubscriptions(progress.subscriptions).toBe('^-----!');
    });
  });

  it('emits at once when the progress is already past the target', () => {
    const seen: number[] = [];
    whenReached(new BehaviorSubject(12), 7, { ms: 10, scheduler: scheduler(), expired }).subscribe((v) => seen.push(v));
    expect(seen).toEqual([12]);
  });
});
