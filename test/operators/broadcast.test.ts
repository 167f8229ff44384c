import { Subject, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Broadcast } from '../../src/operators/broadcast';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('Broadcast', () => {
  it('gives each subscriber the values pushed after it subscribed, like a Subject', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const b = new Broadcast<string>();
      // Push a, b, c at frames 1, 3, 5; subscribers join at frames 0 and 2.
      cold('-a-b-c|').subscribe({ next: (v) => b.next(v), complete: () => b.complete() });
      expectObservable(b).toBe('-a-b-c|');
      expectObservable(b, '--^').toBe('---b-c|');
    });
  });

  it('tells a subscriber that comes after the end at once, as a Subject does', () => {
    const b = new Broadcast<number>();
    b.complete();
    b.next(1);
    const seen: string[] = [];
    b.subscribe({ next: (v) => seen.push(`next ${v}`), complete: () => seen.push('complete') });
    const failed = new Broadcast<number>();
    failed.error(new Error('boom'));
    failed.subscribe({ error: (e: Error) => seen.push(`error ${e.message}`) });
    expect(seen).toEqual(['complete', 'error boom']);
  });

  it('delivers in subscription order; one that leaves during next gets nothing more, one that joins gets the next value', () => {
    const b = new Broadcast<number>();
    const seen: string[] = [];
    let second: Subscription | null = null;
    b.subscribe((v) => {
      seen.push(`first ${v}`);
      if (v === 1) second!.unsubscribe();
      if (v === 1) b.subscribe((w) => seen.push(`late ${w}`));
    });
    second = b.subscribe((v) => seen.push(`second ${v}`));
    b.next(0);
    b.next(1);
    b.next(2);
    expect(seen).toEqual(['first 0', 'second 0', 'first 1', 'first 2', 'late 2']);
    expect(b.observed).toBe(true);
  });

  it('behaves as a Subject for the same pushes and subscriptions', () => {
    const log = (into: string[], name: string) => ({ next: (v: number) => into.push(`${name} ${v}`), complete: () => into.push(`${name} done`) });
    const viaSubject: string[] = [];
    const viaBroadcast: string[] = [];
    const subject = new Subject<number>();
    const broadcast = new Broadcast<number>();
    for (const [target, into] of [[subject, viaSubject], [broadcast, viaBroadcast]] as const) {
      const source = target;
      const a = source.subscribe(log(into, 'a'));
      target.next(1);
      source.subscribe(log(into, 'b'));
      target.next(2);
      a.unsubscribe();
      target.next(3);
      target.complete();
      target.next(4);
    }
    expect(viaBroadcast).toEqual(viaSubject);
    expect(viaBroadcast).toEqual(['a 1', 'a 2', 'b 2', 'b 3', 'b done']);
  });

  it('hands out a view without the pushing side', () => {
    const b = new Broadcast<number>();
    const view = b.asObservable();
    const seen: number[] = [];
    view.subscribe((v) => seen.push(v));
    b.next(7);
    expect(seen).toEqual([7]);
    expect('next' in view).toBe(false);
  });

  it('forgets a subscriber when it unsubscribes', () => {
    const b = new Broadcast<number>();
    const s = b.subscribe(() => undefined);
    expect(b.observed).toBe(true);
    s.unsubscribe();
    expect(b.observed).toBe(false);
  });
});
