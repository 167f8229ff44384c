import { Observable } from 'rxjs';
import type { Transport } from '../transports/transport';
import type { NodeScheduler } from './simulatorClock';

/**
 * Wraps a node's transport so that messages reaching a paused node wait instead of being
 * handled: while `scheduler` is paused, each arriving message becomes an action of that
 * scheduler, held with the node's timers and storage syncs and handled, in arrival
 * order, when the node resumes. While it runs, messages pass straight through (the
 * network already delivered them asynchronously).
 *
 * Nothing is lost by pausing: a paused process's socket buffers keep what arrives.
 *
 * @example
 * const view = clock.view();
 * const transport = pausableTransport(hub.connect('n1'), view);
 * view.pause();   // messages to n1 now wait
 * view.resume();  // and are handled now, in order
 */
export function pausableTransport(inner: Transport, scheduler: NodeScheduler): Transport {
  return {
    inbound$: heldWhilePaused(inner.inbound$, scheduler),
    errors$: inner.errors$,
    lost$: inner.lost$ && heldWhilePaused(inner.lost$, scheduler),
    send: (to, message) => inner.send(to, message),
    close: () => inner.close(),
  };
}

/** `source`, with what it emits while the node is paused handed over when it resumes. */
function heldWhilePaused<T>(source: Observable<T>, scheduler: NodeScheduler): Observable<T> {
  return new Observable<T>((subscriber) =>
    source.subscribe({
      next(value) {
        if (!scheduler.paused) subscriber.next(value);
        else scheduler.schedule(() => subscriber.next(value));
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    }),
  );
}
