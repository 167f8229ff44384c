import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { mergeKeyed } from '../../src/operators/mergeKeyed';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('mergeKeyed', () => {
  it('starts one inner per new key, tears down a removed key at that frame, and keeps a key that stays', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const a = hot('-1--2--3---4--5');
      const b = hot('-6--7--8---9--0');
      const keys = hot('x----y----z----', { x: ['a'], y: ['a', 'b'], z: ['b'] });
      const inners: Record<string, typeof a> = { a, b };
      expectObservable(keys.pipe(mergeKeyed((k: string) => inners[k]))).toBe('-1--2--(38)9--0');
      expectSubscriptions(a.subscriptions).toBe('^---------!');
      expectSubscriptions(b.subscriptions).toBe('-----^---------');
    });
  });

  it('does not resubscribe a kept key when the key set is emitted again, in another order or with duplicates', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const a = hot('--1---2---3-');
      const b = hot('--4---5---6-');
      const keys = hot('x--y--z-----', { x: ['a', 'b'], y: ['b', 'a'], z: ['a', 'a', 'b'] });
      const inners: Record<string, typeof a> = { a, b };
      expectObservable(keys.pipe(mergeKeyed((k: string) => inners[k]))).toBe('--(14)(25)(36)');
      expectSubscriptions(a.subscriptions).toBe('^-----------');
      expectSubscriptions(b.subscriptions).toBe('^-----------');
    });
  });

  it('starts a fresh inner for a key that comes back after it was removed', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const a = hot('-1--2-3-4-5');
      const keys = hot('x--y---x---', { x: ['a'], y: [] as string[] });
      expectObservable(keys.pipe(mergeKeyed(() => a))).toBe('-1------4-5');
      expectSubscriptions(a.subscriptions).toBe(['^--!', '-------^']);
    });
  });

  it('does not restart an inner that completed while its key stays, and completes when the source and every inner have', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const short = cold('-s|');
      const long = cold('---l----|');
      const keys = hot('x--y-|', { x: ['short'], y: ['short', 'long'] });
      const inners: Record<string, typeof short> = { short, long };
      expectObservable(keys.pipe(mergeKeyed((k: string) => inners[k]))).toBe('-s----l----|');
      expectSubscriptions(short.subscriptions).toBe('^-!');
      expectSubscriptions(long.subscriptions).toBe('---^-------!');
    });
  });

  it('passes an inner error on and tears down the source and the other inners', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const ok = hot('-1--2--3');
      const failing = cold('--#', undefined, new Error('boom'));
      const keys = hot('x--y----', { x: ['ok'], y: ['ok', 'bad'] });
      expectObservable(keys.pipe(mergeKeyed((k: string) => (k === 'ok' ? ok : failing)))).toBe('-1--2#', undefined, new Error('boom'));
      expectSubscriptions(ok.subscriptions).toBe('^----!');
      expectSubscriptions(keys.subscriptions).toBe('^----!');
    });
  });

  it('unsubscribing the result tears down the source and every inner', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const a = hot('-1----2----3');
      const b = hot('-4----5----6');
      const keys = hot('x-----------', { x: ['a', 'b'] });
      const inners: Record<string, typeof a> = { a, b };
      expectObservable(keys.pipe(mergeKeyed((k: string) => inners[k])), '^-------!').toBe('-(14)-(25)');
      expectSubscriptions(a.subscriptions).toBe('^-------!');
      expectSubscriptions(b.subscriptions).toBe('^-------!');
      expectSubscriptions(keys.subscriptions).toBe('^-------!');
    });
  });

  it('delivers values an inner emits synchronously on subscription', () => {
    const keys = new Subject<string[]>();
    const seen: string[] = [];
    keys.pipe(mergeKeyed((k: string) => [k + '!'])).subscribe((v) => seen.push(v));
    keys.next(['a', 'b']);
    keys.next(['a', 'b', 'c']);
    expect(seen).toEqual(['a!', 'b!', 'c!']);
  });
});
