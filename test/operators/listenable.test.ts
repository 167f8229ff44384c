import { map, take } from 'rxjs';
import { Listenable, Listener, Listening } from '../../src/operators/listenable';

/** The smallest listenable: one listener at a time, values pushed by the test, an end it remembers. */
class Ticks extends Listenable<number> {
  listener: Listener<number> | null = null;
  listens = 0;
  ended = false;

  listen(listener: Listener<number>): Listening<number> | undefined {
    this.listens++;
    if (this.ended) {
      listener.complete();
      return undefined;
    }
    this.listener = listener;
    return new Listening(this, listener);
  }

  leave(listener: Listener<number>): void {
    if (this.listener === listener) this.listener = null;
  }

  push(n: number): void {
    this.listener?.next(n);
  }

  end(): void {
    this.ended = true;
    this.listener?.complete();
    this.listener = null;
  }
}

describe('Listenable: an observable whose subscribers are its listeners', () => {
  it('takes each subscriber in through listen, once, and gives it what it pushes', () => {
    const ticks = new Ticks();
    const seen: number[] = [];
    ticks.pipe(map((n) => n * 10)).subscribe((n) => seen.push(n));
    ticks.push(1);
    ticks.push(2);
    expect(seen).toEqual([10, 20]);
    expect(ticks.listens).toBe(1);
  });

  it('lets the listener go when the subscriber unsubscribes, through the Listening handle', () => {
    const ticks = new Ticks();
    const seen: number[] = [];
    ticks.pipe(take(2)).subscribe((n) => seen.push(n));
    ticks.push(1);
    ticks.push(2); // take(2) unsubscribes here
    expect(ticks.listener).toBeNull();
    ticks.push(3);
    expect(seen).toEqual([1, 2]);
  });

  it('completes a subscriber that arrives after the end, with nothing to let go', () => {
    const ticks = new Ticks();
    ticks.end();
    let completed = false;
    const subscription = ticks.subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(subscription.closed).toBe(true);
    expect(() => subscription.unsubscribe()).not.toThrow();
  });
});
