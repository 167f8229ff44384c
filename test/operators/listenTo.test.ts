import { of, Subject } from 'rxjs';
import { Broadcast } from '../../src/operators/broadcast';
import { BroadcastValue } from '../../src/operators/broadcastValue';
import { Inlet } from '../../src/operators/inlet';
import { listenTo } from '../../src/operators/listenTo';

function recorder() {
  const seen: string[] = [];
  return { seen, listener: { next: (v: unknown) => seen.push(`next ${String(v)}`), error: (e: unknown) => seen.push(`error ${String(e)}`), complete: () => seen.push('complete') } };
}

describe('listenTo: a runtime consumer on a source, as a subscriber would get it', () => {
  it.each([
    ['a Broadcast', () => new Broadcast<number>()],
    ["a Broadcast's asObservable()", () => new Broadcast<number>()],
    ['an Inlet', () => new Inlet<number>()],
    ['a Subject (subscribed)', () => new Subject<number>()],
  ])('%s: values until let go', (name, make) => {
    const source = make();
    const { seen, listener } = recorder();
    const observed = name.includes('asObservable') ? (source as Broadcast<number>).asObservable() : source;
    const handle = listenTo(observed, listener);
    source.next(1);
    handle?.unsubscribe();
    source.next(2);
    expect(seen).toEqual(['next 1']);
  });

  it('a BroadcastValue hands its current value at once, then each change; its end once', () => {
    const value = new BroadcastValue(0);
    const { seen, listener } = recorder();
    listenTo(value, listener);
    value.next(1);
    value.error('boom');
    value.next(2);
    expect(seen).toEqual(['next 0', 'next 1', 'error boom']);
  });

  it('a broadcast that ended tells a new listener at once and gives no handle', () => {
    const broadcast = new Broadcast<number>();
    broadcast.complete();
    const { seen, listener } = recorder();
    expect(listenTo(broadcast, listener)).toBeUndefined();
    expect(seen).toEqual(['complete']);
  });

  it('any other observable is subscribed', () => {
    const { seen, listener } = recorder();
    listenTo(of(1, 2), listener);
    expect(seen).toEqual(['next 1', 'next 2', 'complete']);
  });
});
