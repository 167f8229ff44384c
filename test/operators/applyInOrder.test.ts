import { Observable, of, queueScheduler, Subject, throwError } from 'rxjs';
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

  describe('with a slice: yields to the slice scheduler after each slice of work', () => {
    const slice = (scheduler: TestScheduler | typeof queueScheduler, maxItems: number, maxBytes = Infinity) => ({ scheduler, maxItems, maxBytes, bytesOf: (item: string) => item.length });

    it('handles a long batch two items at a time and acknowledges each slice', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        const handled: string[] = [];
        const source = cold('-x', { x: ['a', 'b', 'c', 'd', 'e'] });
        expectObservable(source.pipe(applyInOrder((item: string) => void handled.push(item), slice(s, 2)))).toBe('-(bde)', { b: 'b', d: 'd', e: 'e' });
        s.flush();
        expect(handled).toEqual(['a', 'b', 'c', 'd', 'e']);
      });
    });

    it('yields between slices to work scheduled meanwhile: a heartbeat is handled before the rest of a backlog', () => {
      const s = scheduler();
      s.run(({ cold }) => {
        const log: string[] = [];
        const source = cold('-x', { x: ['a', 'b', 'c', 'd', 'e'] });
        source.pipe(applyInOrder((item: string) => {
          log.push(item);
          if (item === 'a') s.schedule(() => log.push('heartbeat'), 0); // a message read while the first slice runs
        }, slice(s, 2))).subscribe();
        s.flush();
        expect(log).toEqual(['a', 'b', 'heartbeat', 'c', 'd', 'e']);
      });
    });

    it('counts what arrives from within its own acknowledgements into the same slice (a synchronous apply handing out more)', () => {
      const s = scheduler();
      s.run(() => {
        const log: string[] = [];
        const input = new Subject<string[]>();
        const more = [['c', 'd'], ['e', 'f'], []];
        input.pipe(applyInOrder((item: string) => void log.push(item), slice(s, 3))).subscribe((done) => {
          log.push(`ack ${done}`);
          const next = more.shift();
          if (next) input.next(next);
        });
        s.schedule(() => input.next(['a', 'b']), 1);
        s.schedule(() => log.push('heartbeat'), 1);
        s.flush();
        expect(log).toEqual(['a', 'b', 'ack b', 'c', 'ack c', 'heartbeat', 'd', 'ack d', 'e', 'f', 'ack f']);
      });
    });

    it('bounds a slice by bytes too, and always takes one item however large', () => {
      const s = scheduler();
      s.run(({ cold, expectObservable }) => {
        const source = cold('-x', { x: ['aaaa', 'b', 'cc', 'dddddd'] });
        // 3 bytes a slice: 'aaaa' alone (oversized), then 'b' + 'cc', then 'dddddd' alone.
        expectObservable(source.pipe(applyInOrder(() => undefined, slice(s, 100, 3)))).toBe('-(acd)', { a: 'aaaa', c: 'cc', d: 'dddddd' });
      });
    });

    it('goes on at once with a scheduler that runs zero-delay work at once (nothing to yield to, nothing stuck)', () => {
      const acks: string[] = [];
      of(['a', 'b', 'c']).pipe(applyInOrder(() => undefined, slice(queueScheduler, 1))).subscribe((n) => acks.push(n));
      expect(acks).toEqual(['a', 'b', 'c']);
    });

    it('cancels the pending slice on teardown: nothing more is handled', () => {
      const s = scheduler();
      s.run(({ cold }) => {
        const handled: string[] = [];
        const sub = cold('-x', { x: ['a', 'b', 'c'] }).pipe(applyInOrder((item: string) => void handled.push(item), slice(s, 1))).subscribe();
        s.schedule(() => sub.unsubscribe(), 1);
        s.flush();
        expect(handled).toEqual(['a']);
      });
    });
  });
});
