import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { serializeTurns } from '../../src/operators/serializeTurns';

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
