import { Observable, Unsubscribable } from 'rxjs';
import { Listenable, Listener, Listening } from './listenable';

/** The subscribers of a broadcast nobody has joined: shared, never changed. */
const NOBODY: readonly BroadcastListener<never>[] = Object.freeze([]);

/** What a broadcast pushes to: each subscriber, or a listener added with `listen`. */
export type BroadcastListener<T> = Listener<T>;

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
 * subscriber ignores values). It is its own observable, and costs one object until
 * someone subscribes (a host runs one node per group).
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
export class Broadcast<T> extends Listenable<T> {
  private subscribers: readonly BroadcastListener<T>[] = NOBODY;
  private ended: { readonly error: unknown } | 'complete' | null = null;

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

  /** The stream without the pushing side (an observable of its own, holding no closure: a host makes several per group). */
  asObservable(): Observable<T> {
    return new BroadcastView(this);
  }

  /**
   * Takes a listener in as if it subscribed, without a subscriber of its own: for a stream
   * derived per subscriber (a node's `leader$` is one per subscription of each group),
   * whose own subscriber then holds just the listener and the returned teardown, which
   * lets it go. When the stream has ended the listener is told at once and nothing is
   * returned. The handle is a small object, not a closure with its context (about 60
   * bytes less per subscription; a host's groups hold a dozen or more each).
   *
   * @example
   * const listening = committed.listen({ next: (e) => console.log(e.index), error: report, complete: done });
   * listening?.unsubscribe(); // no more values
   */
  listen(listener: BroadcastListener<T>): Unsubscribable | undefined {
    if (this.ended) {
      if (this.ended === 'complete') listener.complete();
      else listener.error(this.ended.error);
      return undefined;
    }
    this.subscribers = [...this.subscribers, listener];
    return new Listening(this, listener);
  }

  /** Lets `listener` go (what `Listening.unsubscribe` calls); nothing when it has gone already. */
  leave(listener: BroadcastListener<T>): void {
    if (!this.subscribers.includes(listener)) return;
    const rest = this.subscribers.filter((s) => s !== listener);
    this.subscribers = rest.length > 0 ? rest : NOBODY;
  }

  private end(how: { readonly error: unknown } | 'complete', tell: (s: BroadcastListener<T>) => void): void {
    if (this.ended) return;
    this.ended = how;
    const subscribers = this.subscribers;
    this.subscribers = NOBODY;
    for (const s of subscribers) tell(s);
  }
}

/** `Broadcast.asObservable()`: subscribing subscribes to the broadcast, through one function shared by every view. */
export class BroadcastView<T> extends Listenable<T> {
  constructor(private readonly of: Broadcast<T>) {
    super();
  }

  /** `Broadcast.listen` on the broadcast viewed: the runtime's own consumers take it in without a subscriber (`listenTo`). */
  listen(listener: BroadcastListener<T>): Unsubscribable | undefined {
    return this.of.listen(listener);
  }
}
