import type { Unsubscribable } from 'rxjs';
import { Broadcast, BroadcastListener } from './broadcast';

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

  /** Takes a listener in (see `Broadcast.listen`) and hands it the latest value at once, unless the stream had ended. */
  override listen(listener: BroadcastListener<T>): Unsubscribable | undefined {
    const teardown = super.listen(listener);
    if (teardown) listener.next(this.current);
    return teardown;
  }
}
