import { BehaviorSubject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BroadcastValue } from '../../src/operators/broadcastValue';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('BroadcastValue', () => {
  it('gives a new subscriber the current value at once, then each new one', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const v = new BroadcastValue('a');
      cold('--b-c|').subscribe({ next: (x) => v.next(x), complete: () => v.complete() });
      expectObservable(v).toBe('a-b-c|');
      expectObservable(v, '---^').toBe('---bc|');
    });
  });

  it('holds the latest value', () => {
    const v = new BroadcastValue(1);
    v.next(2);
    expect(v.value).toBe(2);
  });

  it('behaves as a BehaviorSubject for the same pushes and subscriptions, ending included', () => {
    const log = (into: string[], name: string) => ({ next: (x: number) => into.push(`${name} ${x}`), complete: () => into.push(`${name} done`), error: (e: Error) => into.push(`${name} ${e.message}`) });
    const run = (target: { next(x: number): void; complete(): void; error(e: unknown): void }, source: { subscribe: BehaviorSubject<number>['subscribe'] }, into: string[]) => {
      const a = source.subscribe(log(into, 'a'));
      target.next(1);
      source.subscribe(log(into, 'b'));
      a.unsubscribe();
      target.next(2);
      target.complete();
      source.subscribe(log(into, 'late'));
    };
    const viaSubject: string[] = [];
    const viaBroadcast: string[] = [];
    const subject = new BehaviorSubject(0);
    const broadcast = new BroadcastValue(0);
    run(subject, subject, viaSubject);
    run(broadcast, broadcast, viaBroadcast);
    expect(viaBroadcast).toEqual(viaSubject);
    expect(viaBroadcast).toEqual(['a 0', 'a 1', 'b 1', 'b 2', 'b done', 'late done']);
  });

  it('a subscriber that pushes a new value on the current one gets both, in order', () => {
    const v = new BroadcastValue(0);
    const seen: number[] = [];
    v.subscribe((x) => {
      seen.push(x);
      if (x === 0) v.next(1);
    });
    expect(seen).toEqual([0, 1]);
  });

  it('takes a listener in as a subscriber: the current value at once, then each new one, until it unsubscribes; after the end it is told at once', () => {
    const v = new BroadcastValue(1);
    const seen: string[] = [];
    const listener = (name: string) => ({ next: (x: number) => seen.push(`${name} ${x}`), error: () => seen.push(`${name} error`), complete: () => seen.push(`${name} done`) });
    const leave = v.listen(listener('a'));
    v.next(2);
    const stayed = v.listen(listener('b'));
    leave?.unsubscribe();
    v.next(3);
    v.complete();
    expect(v.listen(listener('c'))).toBeUndefined();
    expect(typeof stayed?.unsubscribe).toBe('function');
    expect(seen).toEqual(['a 1', 'a 2', 'b 2', 'b 3', 'b done', 'c done']);
    expect(v.observed).toBe(false);
  });
});
