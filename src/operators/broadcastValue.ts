import { Subscriber, TeardownLogic } from 'rxjs';
import { Broadcast } from './broadcast';

/**
 * A `Broadcast` that holds its latest value, as a `BehaviorSubject` does: a new
 * subscriber gets the current value at once, then every later one. For state the runtime
 * republishes every turn (status, the applied index, the role switch's deadline), without
 * `BehaviorSubject.next`'s garbage (see `Broadcast`). After `complete` or `error` a new
 * subscriber gets only that.
 *
 * @example
 * const applied = new BroadcastValue(0);
 * applied.subscribe((i) => console.log(i)); // 0
 * applied.next(3);                          // 3
 * applied.value;                            // 3
 */
export class BroadcastValue<T> extends Broadcast<T> {
  private current: T;

  constructor(initial: T) {
    super();
    this.current = initial;
  }

  /** The latest value. */
  get value(): T {
    return this.current;
  }

  /** Makes `value` the latest and pushes it to every subscriber. */
  override next(value: T): void {
    this.current = value;
    super.next(value);
  }

  protected override join(subscriber: Subscriber<T>): TeardownLogic {
    const teardown = super.join(subscriber);
    subscriber.next(this.current); // ignored when the stream had ended: the subscriber is closed by then
    return teardown;
  }
}
