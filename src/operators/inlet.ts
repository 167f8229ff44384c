import type { Unsubscribable } from 'rxjs';
import { Listenable, Listener, Listening } from './listenable';

/**
 * Where values enter a stream that has exactly one subscriber, as a subject's `next`
 * would — the node's feedback into its loop, its durable writes, its applier's input.
 * Unlike a `Subject` it keeps no observer list and no subscription object per subscriber
 * (about 450 bytes less per use; a host runs one node per group). A value sent while
 * nobody is subscribed is dropped, as a subject drops it; a later subscriber replaces
 * the earlier one (only one is ever served). The runtime's own consumers take it in with
 * `listen` (see `listenTo`), without a subscriber object at all.
 *
 * @example
 * const feedback = new Inlet<RaftEvent>();
 * mergeTurns(inbound$, feedback).subscribe(step);
 * feedback.next({ kind: 'applied', index: 7 }); // handed to step, after the current turn
 */
export class Inlet<T> extends Listenable<T> {
  private out: Listener<T> | null = null;

  /**
   * Makes `listener` the one served, as a subscriber would be, without a subscriber of
   * its own; unsubscribing the handle lets it go (unless a later one replaced it).
   *
   * @example
   * const listening = inlet.listen({ next: (v) => console.log(v), error: report, complete: done });
   * inlet.next(1); // 1
   * listening.unsubscribe();
   */
  listen(listener: Listener<T>): Unsubscribable {
    this.out = listener;
    return new Listening(this, listener);
  }

  /** Lets `listener` go if it is the one served (what `Listening.unsubscribe` calls). */
  leave(listener: Listener<T>): void {
    if (this.out === listener) this.out = null;
  }

  next(value: T): void {
    this.out?.next(value);
  }

  /** Completes the one served, which then gets nothing more. */
  complete(): void {
    const out = this.out;
    this.out = null;
    out?.complete();
  }
}
