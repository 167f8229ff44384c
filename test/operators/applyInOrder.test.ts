import { Observable, of, Subject, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { applyInOrder } from '../../src/operators/applyInOrder';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('applyInOrder', () => {
  it('handles items in order and acknowledges the last item of each batch (sync handler)', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable, expectSubscriptions }) => {
      const handled: string[] = [];
      const source = cold('-x--y-|', { x: ['a', 'b'], y: ['c'] });
      expectObservable(source.pipe(applyInOrder((item: string) => void handled.push(item)))).toBe('-b--c-|');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
      s.flush();
      expect(handled).toEqual(['a', 'b', 'c']);
    });
  });

  it('waits for an asynchronous handler before the next item, and acknowledges progress before each wait', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const started: string[] = [];
      // b takes 3 frames; batch [de] arrives while b is running and waits for it.
      const source = cold('-x-y-----|', { x: ['a', 'b', 'c'], y: ['d', 'e'] });
      const handler = (item: string): void | Observable<unknown> => {
        started.push(`${item}@${s.now()}`);
        return item === 'b' ? cold('---v', { v: 0 }) : undefined;
      };
      expectObservable(source.pipe(applyInOrder(handler))).toBe('-a--(ce)-|');
      s.flush();
      expect(started).toEqual(['a@1', 'b@1', 'c@4', 'd@4', 'e@4']);
    });
  });

  it('counts an observable that completes without a value as finished when it completes', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const source = cold('-x|', { x: [1, 2] });
      expectObservable(source.pipe(applyInOrder((n: number) => (n === 1 ? cold('--|') : undefined)))).toBe('---(b|)', { b: 2 });
    });
  });

  it('waits for a promise result', async () => {
    const acks: number[] = [];
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const input = new Subject<number[]>();
    input.pipe(applyInOrder((n: number) => (order.push(`start ${n}`), n === 1 ? gate.then(() => void order.push('end 1')) : undefined))).subscribe((n) => acks.push(n));
    input.next([1, 2]);
    await Promise.resolve();
    expect(order).toEqual(['start 1']); // 2 waits for 1
    expect(acks).toEqual([]);
    release();
    await gate;
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['start 1', 'end 1', 'start 2']);
    expect(acks).toEqual([2]);
  });

  it('takes the synchronous fast path without a microtask per item, and a synchronous observable without recursion', () => {
    const acks: number[] = [];
    const items = Array.from({ length: 100_000 }, (_, i) => i);
    const input = new Subject<number[]>();
    input.pipe(applyInOrder((n: number) => (n % 2 ? of(n) : undefined))).subscribe((n) => acks.push(n));
    input.next(items);
    // Everything handled before this line runs: nothing waited for a microtask.
    expect(acks[acks.length - 1]).toBe(99_999);
  });

  it('ends with the error of a throwing handler and handles nothing after it', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable, expectSubscriptions }) => {
      const handled: string[] = [];
      const source = cold('-x-y-|', { x: ['a', 'b', 'c'], y: ['d'] });
      const handler = (item: string) => {
        handled.push(item);
        if (item === 'b') throw new Error('bad b');
      };
      expectObservable(source.pipe(applyInOrder(handler))).toBe('-#', undefined, new Error('bad b'));
      expectSubscriptions(source.subscriptions).toBe('^!');
      s.flush();
      expect(handled).toEqual(['a', 'b']);
    });
  });

  it('ends with the error of an asynchronous result', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const source = cold('-x', { x: [1, 2] });
      const handler = (n: number) => (n === 2 ? cold('--#', undefined, new Error('late')) : undefined);
      expectObservable(source.pipe(applyInOrder(handler))).toBe('-a-#', { a: 1 }, new Error('late'));
    });
  });

  it('ends with the error of a synchronously failing observable', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const source = cold('-x', { x: [1, 2, 3] });
      expectObservable(source.pipe(applyInOrder((n: number) => (n === 2 ? throwError(() => new Error('now')) : undefined)))).toBe('-(a#)', { a: 1 }, new Error('now'));
    });
  });

  it('unsubscribes the source and the result being waited for on teardown', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-x---y', { x: [1], y: [2] });
      const slow = cold('------v');
      expectObservable(source.pipe(applyInOrder(() => slow)), '^--!').toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(slow.subscriptions).toBe('-^-!');
    });
  });

  it('completes after the last batch is handled', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const source = cold('-x|', { x: [1] });
      expectObservable(source.pipe(applyInOrder(() => cold('---v')))).toBe('----(a|)', { a: 1 });
    });
  });
});
