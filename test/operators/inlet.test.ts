import { Inlet } from '../../src/operators/inlet';

describe('Inlet: values into a stream with one subscriber', () => {
  it('hands each value to its subscriber, in order, and drops what comes while none listens', () => {
    const inlet = new Inlet<number>();
    const seen: number[] = [];
    inlet.next(0); // nobody yet: dropped, as a subject drops it
    const subscription = inlet.subscribe((v) => seen.push(v));
    inlet.next(1);
    inlet.next(2);
    subscription.unsubscribe();
    inlet.next(3);
    expect(seen).toEqual([1, 2]);
  });

  it('serves only its latest subscriber', () => {
    const inlet = new Inlet<string>();
    const first: string[] = [];
    const second: string[] = [];
    inlet.subscribe((v) => first.push(v));
    inlet.next('a');
    inlet.subscribe((v) => second.push(v));
    inlet.next('b');
    expect([first, second]).toEqual([['a'], ['b']]);
  });

  it('complete() completes the subscriber; later values are ignored', () => {
    const inlet = new Inlet<number>();
    const seen: string[] = [];
    inlet.subscribe({ next: (v) => seen.push(`next ${v}`), complete: () => seen.push('complete') });
    inlet.next(1);
    inlet.complete();
    inlet.next(2);
    expect(seen).toEqual(['next 1', 'complete']);
  });

  it('works through operators, as the node pipes its durable steps', () => {
    const inlet = new Inlet<number>();
    const seen: number[] = [];
    inlet.pipe((source) => source).subscribe((v) => seen.push(v));
    inlet.next(5);
    expect(seen).toEqual([5]);
  });
});

describe('Inlet.listen: a listener served without a subscriber', () => {
  it('hands values to the listener until its handle lets it go, and completes it once', () => {
    const inlet = new Inlet<number>();
    const seen: string[] = [];
    const listener = { next: (v: number) => seen.push(`next ${v}`), error: () => seen.push('error'), complete: () => seen.push('complete') };
    const listening = inlet.listen(listener);
    inlet.next(1);
    inlet.complete();
    inlet.next(2); // after complete: nobody is served
    expect(seen).toEqual(['next 1', 'complete']);
    listening.unsubscribe();
    const later = inlet.listen(listener);
    inlet.next(3);
    later.unsubscribe();
    inlet.next(4);
    expect(seen).toEqual(['next 1', 'complete', 'next 3']);
  });

  it("an earlier listener's handle does not let a later one go", () => {
    const inlet = new Inlet<number>();
    const seen: number[] = [];
    const first = inlet.listen({ next: () => seen.push(-1), error: () => undefined, complete: () => undefined });
    inlet.listen({ next: (v) => seen.push(v), error: () => undefined, complete: () => undefined });
    first.unsubscribe();
    inlet.next(7);
    expect(seen).toEqual([7]);
  });
});
