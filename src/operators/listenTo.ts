import { Observable, Unsubscribable } from 'rxjs';
import { Listenable, Listener } from './listenable';

/**
 * `source.subscribe(listener)` for a runtime's own consumer, which needs no subscriber
 * object: a `Listenable` — a `Broadcast` (and its `asObservable()`), an `Inlet` (the node's
 * feedback), a leader's per-follower channel — takes the listener in directly (`listen`);
 * any other observable is subscribed. A subscriber with its consumer observer and
 * finalizer arrays is a few hundred bytes; the node's loop and its parts take a dozen
 * sources per group, and a host runs one node per group.
 *
 * The listener gets what a subscriber would: values until the source ends, then
 * `complete` or `error` once; the handle (undefined when the source had ended already)
 * lets it go. Unlike a subscriber it is not guarded: it must ignore what still comes
 * once its own downstream has closed (a broadcast hands a value to everyone it held when
 * `next` began, even one let go meanwhile: check `subscriber.closed`), and must not throw.
 *
 * @example
 * subscriber.add(listenTo(feedback, { next: (e) => loop(e), error: (e) => subscriber.error(e), complete: ended }));
 */
export function listenTo<T>(source: Observable<T>, listener: Listener<T>): Unsubscribable | undefined {
  if (source instanceof Listenable) return source.listen(listener);
  return source.subscribe(listener);
}
