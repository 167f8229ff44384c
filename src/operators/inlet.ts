import { Observable, Subscriber, TeardownLogic } from 'rxjs';

/**
 * Where values enter a stream that has exactly one subscriber, as a subject's `next`
 * would — the node's feedback into its loop, its durable writes, its applier's input.
 * Unlike a `Subject` it keeps no observer list and no subscription object per subscriber
 * (about 450 bytes less per use; a host runs one node per group). A value sent while
 * nobody is subscribed is dropped, as a subject drops it; a later subscriber replaces
 * the earlier one (only one is ever served).
 *
 * @example
 * const feedback = new Inlet<RaftEvent>();
 * mergeTurns(inbound$, feedback).subscribe(step);
 * feedback.next({ kind: 'applied', index: 7 }); // handed to step, after the current turn
 */
export class Inlet<T> extends Observable<T> {
  private out: Subscriber<T> | null = null;

  constructor() {
    super(Inlet.serveThis);
  }

  /**
   * How every inlet takes its subscriber: one function for all (`Observable` calls it as a
   * method of the inlet subscribed to), not a closure per inlet. No teardown: once
   * unsubscribed, the subscriber is closed and ignores what `next` hands it.
   */
  private static serveThis<T>(this: Observable<T>, subscriber: Subscriber<T>): TeardownLogic {
    (this as Inlet<T>).out = subscriber;
  }

  next(value: T): void {
    this.out?.next(value);
  }

  complete(): void {
    this.out?.complete();
  }
}
