import { Observable, OperatorFunction } from 'rxjs';
import { listenTo } from './listenTo';

/**
 * Hands values downstream one at a time, each to completion: a value that arrives while
 * the subscriber is still handling the previous one (an effect that feeds an event back,
 * a listener reacting synchronously) waits in a queue and is delivered right after,
 * never inside. This is the node's event loop: no two turns interleave and no handler
 * re-enters its node (DESIGN.md invariant 1). The queue holds only what one turn feeds
 * back, so it is bounded by the work of a turn.
 *
 * ```
 * source:  a(b fed back while a is handled)c
 * output:  a . . . . . b . . . . . . . . . c     (b starts after a returns)
 * ```
 *
 * @example
 * const events = new Subject<string>();
 * events.pipe(serializeTurns()).subscribe((e) => {
 *   log.push(`start ${e}`);
 *   if (e === 'a') events.next('b');
 *   log.push(`end ${e}`);
 * });
 * events.next('a'); // log: start a, end a, start b, end b
 */
export function serializeTurns<T>(): OperatorFunction<T, T> {
  return (source) => mergeTurns(source);
}

/**
 * `merge(...sources).pipe(serializeTurns())` in one subscriber: every source's values
 * enter one queue and go downstream one at a time, each to completion. Completes when
 * every source has, fails with the first error, and unsubscribes every source when
 * unsubscribed. The node's loop merges half a dozen sources; this takes one plain
 * subscription per source where `merge` adds an inner subscriber with its closures (and
 * none for a `Broadcast` or an `Inlet`: see `listenTo`), and a host runs a loop per group.
 *
 * ```
 * a:       -1---3(fed back while 3 is handled: 4)-|
 * b:       ---2-----------------------------------|
 * output:  -1-2-3 . . . 4 ------------------------|
 * ```
 *
 * @example
 * mergeTurns(inbound$, timers$, feedback$).subscribe((event) => step(event));
 */
export function mergeTurns<T>(...sources: Observable<T>[]): Observable<T> {
  return new Observable<T>((subscriber) => {
    const queue: T[] = [];
    let head = 0;
    let running = false;
    let open = sources.length;
    /** Hands on `first` (which never waits in the queue: no allocation per turn), then what arrived meanwhile. */
    const run = (first: T) => {
      running = true;
      try {
        subscriber.next(first);
        while (head < queue.length && !subscriber.closed) {
          const next = queue[head];
          queue[head++] = undefined as T;
          subscriber.next(next);
        }
      } finally {
        queue.length = 0;
        head = 0;
        running = false;
      }
    };
    // One observer for every source: it holds no per-source state. A broadcast or an inlet
    // (the node's feedback) takes it in as a listener, with no subscriber of its own.
    const observer = {
      next(value: T) {
        if (running) queue.push(value);
        else if (!subscriber.closed) run(value);
      },
      error: (e: unknown) => subscriber.error(e),
      complete: () => {
        if (--open === 0) subscriber.complete();
      },
    };
    if (open === 0) subscriber.complete();
    for (const source of sources) {
      if (subscriber.closed) break;
      subscriber.add(listenTo(source, observer));
    }
  });
}
