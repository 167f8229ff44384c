import { Observable } from 'rxjs';
import { Broadcast } from './broadcast';

/**
 * A `Broadcast` that holds its latest value, as a `BehaviorSubject` does: a new
 * subscriber gets the current value at once, then every later one. For state the runtime
 * republishes every turn (status, the applied index), without `BehaviorSubject.next`'s
 * garbage (see `Broadcast`). After `complete` or `error` a new subscriber gets only that.
 *
 * @example
 * const applied = new BroadcastValue(0);
 * applied.observable.subscribe((i) => console.log(i)); // 0
 * applied.next(3);                                      // 3
 * applied.value;                                        // 3
 */
export class BroadcastValue<T> {
  private readonly changes = new Broadcast<T>();
  private current: T;

  constructor(initial: T) {
    this.current = initial;
  }

  /** The stream: the value at the time of subscribing, then each new one. */
  readonly observable: Observable<T> = new Observable<T>((subscriber) => {
    const subscription = this.changes.observable.subscribe(subscriber);
    subscriber.next(this.current); // ignored when the stream had ended: the subscriber is closed by then
    return subscription;
  });

  /** The latest value. */
  get value(): T {
    return this.current;
  }

  /** Makes `value` the latest and pushes it to every subscriber. */
  next(value: T): void {
    this.current = value;
    this.changes.next(value);
  }

  complete(): void {
    this.changes.complete();
  }

  error(error: unknown): void {
    this.changes.error(error);
  }

  /** Whether anyone is subscribed. */
  get observed(): boolean {
    return this.changes.observed;
  }
}
