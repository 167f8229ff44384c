import { EMPTY, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Broadcast } from '../../src/operators/broadcast';
import { Inlet } from '../../src/operators/inlet';
import { mergeTurns, serializeTurns } from '../../src/operators/serializeTurns';

describe('serializeTurns', () => {
  it('passes values through unchanged when nothing re-enters', () => {
    const s = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-|');
      expectObservable(source.pipe(serializeTurns())).toBe('-a-b-|');
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('delivers a value fed back during a turn after that turn, never inside it', () => {
    const events = new Subject<string>();
    const log: string[] = [];
    events.pipe(serializeTurns()).subscribe((e) => {
      log.push(`start ${e}`);
      if (e === 'a') {
        events.next('b');
        events.next('c');
      }
      log.push(`end ${e}`);
    });
    events.next('a');
    events.next('d');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
  });

  it('drops what was queued when the subscriber unsubscribes during a turn', () => {
    const events = new Subject<string>();
    const seen: string[] = [];
    const subscription = events.pipe(serializeTurns()).subscribe((e) => {
      seen.push(e);
      if (e === 'a') {
        events.next('b');
        subscription.unsubscribe();
      }
    });
    events.next('a');
    expect(seen).toEqual(['a']);
  });
});

describe('mergeTurns', () => {
  const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('merges its sources, completing once every one has, and unsubscribes them all', () => {
    marbles().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const a = hot('-a---c--|');
      const b = cold('--b-----d--|');
      expectObservable(mergeTurns(a, b, EMPTY)).toBe('-ab--c--d--|');
      expectSubscriptions(a.subscriptions).toBe('^-------!');
      expectSubscriptions(b.subscriptions).toBe('^----------!');
    });
  });

  it('fails with the first error and unsubscribes the other sources', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const a = hot('-a---#');
      const b = hot('--b-----c');
      expectObservable(mergeTurns(a, b)).toBe('-ab--#');
      expectSubscriptions(b.subscriptions).toBe('^----!');
    });
  });

  it('completes at once without sources', () => {
    marbles().run(({ expectObservable }) => expectObservable(mergeTurns()).toBe('|'));
  });

  it('a value of any source that arrives during a turn waits for the end of that turn', () => {
    const a = new Subject<string>();
    const b = new Subject<string>();
    const log: string[] = [];
    mergeTurns(a, b).subscribe((e) => {
      log.push(`start ${e}`);
      if (e === 'a1') {
        b.next('b1');
        a.next('a2');
      }
      log.push(`end ${e}`);
    });
    a.next('a1');
    b.next('b2');
    expect(log).toEqual(['start a1', 'end a1', 'start b1', 'end b1', 'start a2', 'end a2', 'start b2', 'end b2']);
  });

  it('takes a Broadcast and an Inlet in as listeners: turns stay serialized, and unsubscribing lets both go', () => {
    const inbound = new Broadcast<string>();
    const feedback = new Inlet<string>();
    const log: string[] = [];
    const subscription = mergeTurns<string>(inbound, feedback).subscribe((e) => {
      log.push(`start ${e}`);
      if (e === 'a') feedback.next('b'); // fed back during a turn: after it
      log.push(`end ${e}`);
    });
    inbound.next('a');
    subscription.unsubscribe();
    inbound.next('c');
    feedback.next('d');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(inbound.observed).toBe(false);
  });

  it('completes when a Broadcast source and a subscribed source have both completed', () => {
    const inbound = new Broadcast<number>();
    const other = new Subject<number>();
    let completed = false;
    mergeTurns(inbound, other).subscribe({ complete: () => (completed = true) });
    inbound.complete();
    expect(completed).toBe(false);
    other.complete();
    expect(completed).toBe(true);
  });
});
