import { Observable } from 'rxjs';
import type { Envelope } from '../messages/types';
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
  const inbound$ = new Observable<Envelope>((subscriber) =>
    inner.inbound$.subscribe({
      next(envelope) {
        if (!scheduler.paused) subscriber.next(envelope);
        else scheduler.schedule(() => subscriber.next(envelope));
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    }),
  );
  return {
    inbound$,
    errors$: inner.errors$,
    send: (to, message) => inner.send(to, message),
    close: () => inner.close(),
  };
}
