import { Observable, Subscriber, TeardownLogic } from 'rxjs';

/** The subscribers of a broadcast nobody has joined: shared, never changed. */
const NOBODY: readonly Subscriber<never>[] = Object.freeze([]);

/**
 * A hot stream the runtime pushes into, for its busiest fan-outs (committed entries,
 * inbound messages, the leader's per-follower channels): what a `Subject` does with
 * `next`, `complete` and `error`, without a `Subject`'s garbage per value. The CommonJS
 * build of RxJS 7, the one Node loads, runs every `Subject.next` through a closure and a
 * down-levelled iterator that allocates a step object per observer; on a follower
 * applying tens of thousands of entries a second that was about a quarter of everything
 * it allocated. Here the subscribers are an array replaced, never changed, when one joins
 * or leaves, so `next` walks the array it read with an index: a subscriber that joins
 * during `next` gets the next value, one that leaves gets nothing more (a closed
 * subscriber ignores values). It is its own observable, and costs one object and one
 * closure until someone subscribes (a host runs one node per group).
 *
 * After `complete` or `error`, `next` does nothing and a new subscriber is told at once,
 * as with a `Subject`. Hand out `asObservable()` where the pushing side must stay private.
 *
 * @example
 * const committed = new Broadcast<number>();
 * committed.subscribe((i) => console.log('applied', i));
 * committed.next(1); // applied 1
 * committed.complete();
 */
export class Broadcast<T> extends Observable<T> {
  private subscribers: readonly Subscriber<T>[] = NOBODY;
  private ended: { readonly error: unknown } | 'complete' | null = null;

  constructor() {
    super((subscriber) => this.join(subscriber));
  }

  /** Pushes `value` to every subscriber, in the order they subscribed. */
  next(value: T): void {
    const subscribers = this.subscribers;
    for (let i = 0; i < subscribers.length; i++) subscribers[i].next(value);
  }

  /** Ends the stream for every subscriber, present and future. */
  complete(): void {
    this.end('complete', (s) => s.complete());
  }

  /** Fails the stream for every subscriber, present and future. */
  error(error: unknown): void {
    this.end({ error }, (s) => s.error(error));
  }

  /** Whether anyone is subscribed. */
  get observed(): boolean {
    return this.subscribers.length > 0;
  }

  /** The stream without the pushing side. */
  asObservable(): Observable<T> {
    return new Observable<T>((subscriber) => this.subscribe(subscriber));
  }

  /** Takes a new subscriber in (or tells it the stream ended); its teardown lets it go. */
  protected join(subscriber: Subscriber<T>): TeardownLogic {
    if (this.ended === 'complete') return subscriber.complete();
    if (this.ended) return subscriber.error(this.ended.error);
    this.subscribers = [...this.subscribers, subscriber];
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== subscriber);
    };
  }

  private end(how: { readonly error: unknown } | 'complete', tell: (s: Subscriber<T>) => void): void {
    if (this.ended) return;
    this.ended = how;
    const subscribers = this.subscribers;
    this.subscribers = NOBODY;
    for (const s of subscribers) tell(s);
  }
}
