import { Observable, OperatorFunction } from 'rxjs';

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
  return (source) =>
    new Observable<T>((subscriber) => {
      const queue: T[] = [];
      let head = 0;
      let running = false;
      const drain = () => {
        running = true;
        try {
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
      return source.subscribe({
        next(value) {
          queue.push(value);
          if (!running) drain();
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
