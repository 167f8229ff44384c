import { Observable, Subscriber, TeardownLogic, Unsubscribable } from 'rxjs';

/** What a `Listenable` pushes to: a subscriber, or a plain listener taken in with `listen`. */
export interface Listener<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * An observable the runtime's own consumers can also take a plain listener from, with no
 * subscriber object in between (`listenTo`): the broadcasts and inlets the node pushes
 * into, and the leader's per-follower channels. A subscriber with its consumer observer
 * and finalizer arrays is a few hundred bytes, and a host runs one node per group.
 *
 * @example
 * class Ticks extends Listenable<number> {
 *   private listener: Listener<number> | null = null;
 *   listen(listener: Listener<number>) { this.listener = listener; return { unsubscribe: () => (this.listener = null) }; }
 * }
 */
export abstract class Listenable<T> extends Observable<T> {
  constructor() {
    super(Listenable.listenThis);
  }

  /**
   * How every listenable takes a subscriber: `listen`, through one function for all of them
   * (`Observable` calls it as a method of the observable subscribed to), where an arrow
   * function per instance cost each a closure; a host makes a dozen per group.
   */
  private static listenThis<T>(this: Observable<T>, subscriber: Subscriber<T>): TeardownLogic {
    return (this as Listenable<T>).listen(subscriber);
  }

  /**
   * Takes `listener` in as a subscriber would be, and gives it what a subscriber would get;
   * the handle lets it go (undefined when the stream had ended and the listener was told).
   */
  abstract listen(listener: Listener<T>): Unsubscribable | undefined;
}

/**
 * The handle a `Listenable` hands back for a listener: unsubscribing asks its source to let
 * the listener go. One small object, not a closure with its context (a host holds a dozen
 * per group).
 *
 * @example
 * listen(listener: Listener<T>): Unsubscribable { this.out = listener; return new Listening(this, listener); }
 */
export class Listening<T> implements Unsubscribable {
  constructor(
    private readonly source: { leave(listener: Listener<T>): void },
    private readonly listener: Listener<T>,
  ) {}

  unsubscribe(): void {
    this.source.leave(this.listener);
  }
}
