import { Observable, Unsubscribable } from 'rxjs';
import { Broadcast, BroadcastListener, BroadcastView } from './broadcast';
import { Inlet } from './inlet';

/**
 * `source.subscribe(listener)` for a runtime's own consumer, which needs no subscriber
 * object: a `Broadcast` or an `Inlet` (the node's feedback, its role switch's state) takes
 * the listener in directly (`listen`; a broadcast's `asObservable()` too), any other observable is subscribed. A subscriber
 * with its consumer observer and finalizer arrays is about 300 bytes; the node's loop
 * and its parts take a dozen sources per group, and a host runs one node per group.
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
export function listenTo<T>(source: Observable<T>, listener: BroadcastListener<T>): Unsubscribable | undefined {
  if (source instanceof Broadcast || source instanceof BroadcastView || source instanceof Inlet) return source.listen(listener);
  return source.subscribe(listener);
}
