import { Observable, OperatorFunction, SchedulerLike, Subscription } from 'rxjs';

/**
 * Collects the values that arrive before `scheduler` gets its next turn and emits them
 * as one array. With `asapScheduler` that is everything emitted in the same event-loop
 * turn: 256 proposals made in one turn become one log append, one fsync and one
 * AppendEntries per follower.
 *
 * A turn without values emits nothing. When the source completes, the values still
 * waiting are emitted at once as a last batch, then the completion; when it errors, they
 * are dropped and the error passes through at once. Unsubscribing cancels the pending turn.
 *
 * ```
 * (a turn here ends 5 frames after the value that started it)
 * source:  -a-b-c------d-e---|      -a-b|       -a-#
 * output:  ------x----------y|      ----(z|)    ---#
 *          x = [a, b, c]  y = [d, e]  z = [a, b]
 * ```
 *
 * @example
 * proposals$.pipe(batchPerTurn(asapScheduler)).subscribe(batch => console.log(batch.length));
 * // proposals$.next(1); proposals$.next(2);  → logs 2 on the next microtask
 */
export function batchPerTurn<T>(scheduler: SchedulerLike): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let flush: Subscription | null = null;
      const emit = () => {
        flush = null;
        const batch = buffer;
        buffer = [];
        subscriber.next(batch);
      };
      const upstream = source.subscribe({
        next(value) {
          buffer.push(value);
          flush ??= scheduler.schedule(emit);
        },
        error: (e) => subscriber.error(e),
        complete() {
          flush?.unsubscribe();
          if (buffer.length > 0) emit();
          subscriber.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        flush?.unsubscribe();
      };
    });
}
