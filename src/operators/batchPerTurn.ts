import { Observable, OperatorFunction, SchedulerLike, Subscription } from 'rxjs';

/**
 * A cap on one batch: at most `max` of the values' weight (one value always fits).
 *
 * @example
 * commands$.pipe(batchPerTurn(immediateScheduler, { max: 1 << 20, weigh: (c: Uint8Array) => c.length })); // at most 1 MiB a turn
 */
export interface BatchLimit<T> {
  readonly max: number;
  readonly weigh: (value: T) => number;
}

/**
 * Collects the values that arrive before `scheduler` gets its next turn and emits them
 * as one array. With `asapScheduler` that is everything emitted in the same event-loop
 * turn: 256 proposals made in one turn become one log append, one fsync and one
 * AppendEntries per follower.
 *
 * With a `limit`, one batch weighs at most `limit.max` (a single heavier value goes
 * alone): the values beyond it wait, in order, for the next turn, so one turn never
 * hands on more than a bounded amount of work.
 *
 * A turn without values emits nothing. When the source completes, the values still
 * waiting are emitted at once as last batches, then the completion; when it errors, they
 * are dropped and the error passes through at once. Unsubscribing cancels the pending turn.
 *
 * ```
 * (a turn here ends 5 frames after the value that started it)
 * source:  -a-b-c------d-e---|      -a-b|       -a-#
 * output:  ------x----------y|      ----(z|)    ---#
 *          x = [a, b, c]  y = [d, e]  z = [a, b]
 *
 * (with limit { max: 2, weigh: () => 1 }; a turn ends 1 frame after it is asked for)
 * source:  (abcde)-----|
 * output:  -xyz--------|
 *          x = [a, b]  y = [c, d]  z = [e]
 * ```
 *
 * @example
 * proposals$.pipe(batchPerTurn(asapScheduler)).subscribe(batch => console.log(batch.length));
 * // proposals$.next(1); proposals$.next(2);  → logs 2 on the next microtask
 * proposals$.pipe(batchPerTurn(asapScheduler, { max: 4 << 20, weigh: (p) => p.data.length }));
 * // → batches of at most 4 MiB of data; the rest follows on the next turns, in order
 */
export function batchPerTurn<T>(scheduler: SchedulerLike, limit?: BatchLimit<T>): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let flush: Subscription | null = null;
      /** Takes the next batch off the front of `buffer`. */
      const take = (): T[] => {
        if (!limit) {
          const all = buffer;
          buffer = [];
          return all;
        }
        let weight = 0;
        let n = 0;
        while (n < buffer.length) {
          weight += limit.weigh(buffer[n]);
          if (n > 0 && weight > limit.max) break;
          n++;
        }
        return buffer.splice(0, n);
      };
      const emit = () => {
        flush = null;
        const batch = take();
        if (buffer.length > 0) flush = scheduler.schedule(emit);
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
          flush = null;
          while (buffer.length > 0) subscriber.next(take());
          subscriber.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        flush?.unsubscribe();
      };
    });
}
