import { isObservable, Observable, OperatorFunction, Subscription } from 'rxjs';

/**
 * What a handler of `applyInOrder` may return: nothing (it finished synchronously), a
 * promise (it finished when the promise resolves), or an observable (it finished at its
 * first value or, if it has none, at its completion).
 */
export type ApplyResult = void | PromiseLike<unknown> | Observable<unknown>;

/**
 * Runs `handler` for every item of every incoming batch, one item at a time in order,
 * waiting for each asynchronous result before starting the next, and emits
 * acknowledgements: an emitted item means the handler has finished with it and with every
 * item before it. It emits the last finished item of each batch, and before waiting for
 * an asynchronous result also the last item finished before it, so progress is reported
 * as soon as the next wait starts, but not once per item.
 *
 * A handler that returns nothing is the fast path: a batch of such items is handled in
 * one synchronous loop, without a promise or a microtask per item. Batches that arrive
 * while the handler is busy wait in order; a batch that arrives from within the handler
 * (a re-entrant push) is handled after the current item. A handler that throws, a
 * promise that rejects or an observable that errors ends the output with that error;
 * nothing after the failed item is handled. Unsubscribing stops the source and the
 * observable being waited for; a promise being waited for is ignored from then on.
 *
 * The operator holds every batch it has not finished: bound the source (rxraft's engine
 * hands out at most `maxApplyingEntries` / `maxApplyingBytes` beyond the acknowledged index).
 *
 * ```
 * source:   -[ab]----[c]-[de]|       handler: a, b, d sync; c takes 3 frames; e sync
 * handler:   ab      c--  de
 * output:   -b-----------c-e|        (b: end of batch [ab]; c when done; e: end of [de])
 * ```
 *
 * @example
 * batches$.pipe(applyInOrder((n: number) => (n % 2 ? undefined : sleep(1)))).subscribe((n) => console.log('done up to', n));
 * // batches$.next([1, 2, 3]) → logs "done up to 1" at once, "done up to 3" after the sleep
 */
export function applyInOrder<T>(handler: (item: T) => ApplyResult): OperatorFunction<readonly T[], T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const queue: (readonly T[])[] = [];
      /** Next item of queue[0] to hand to the handler. */
      let position = 0;
      /** Inside the synchronous loop, or waiting for an asynchronous result. */
      let busy = false;
      let sourceDone = false;
      let closed = false;
      let waiting: Subscription | null = null;
      /** The last item finished and not yet emitted. */
      let unacknowledged: { item: T } | null = null;

      const acknowledge = () => {
        if (!unacknowledged) return;
        const { item } = unacknowledged;
        unacknowledged = null;
        subscriber.next(item);
      };
      const fail = (error: unknown) => {
        closed = true;
        subscriber.error(error);
      };
      const finished = (item: T) => {
        waiting = null;
        if (closed) return;
        unacknowledged = { item };
        busy = false;
        drain();
      };
      /**
       * Waits for an asynchronous result; `finished` continues the loop. Returns true when
       * an observable finished synchronously (then the loop just goes on, without recursion).
       */
      const wait = (item: T, result: PromiseLike<unknown> | Observable<unknown>): boolean => {
        if (!isObservable(result)) {
          result.then(
            () => finished(item),
            (e: unknown) => {
              if (!closed) fail(e);
            },
          );
          return false;
        }
        let subscribing = true;
        let done = false;
        const inner = new Subscription();
        const end = () => {
          if (done) return;
          done = true;
          inner.unsubscribe();
          if (!subscribing) finished(item);
        };
        const error = (e: unknown) => {
          done = true;
          if (!closed) fail(e);
        };
        inner.add(result.subscribe({ next: end, complete: end, error }));
        subscribing = false;
        if (done) {
          inner.unsubscribe();
          return true;
        }
        waiting = inner;
        return false;
      };
      const drain = () => {
        if (busy || closed) return;
        busy = true;
        while (queue.length > 0) {
          const batch = queue[0];
          while (position < batch.length) {
            const item = batch[position++];
            let result: ApplyResult;
            try {
              result = handler(item);
            } catch (e) {
              return fail(e);
            }
            if (closed) return;
            if (result !== undefined && result !== null && (isObservable(result) || typeof (result as PromiseLike<unknown>).then === 'function')) {
              acknowledge();
              if (closed) return;
              if (!wait(item, result as PromiseLike<unknown> | Observable<unknown>)) return; // busy until `finished`
              if (closed) return;
            }
            unacknowledged = { item };
          }
          queue.shift();
          position = 0;
          acknowledge();
          if (closed) return;
        }
        busy = false;
        if (sourceDone) subscriber.complete();
      };

      const upstream = source.subscribe({
        next: (batch) => {
          if (batch.length === 0) return;
          queue.push(batch);
          drain();
        },
        error: (e: unknown) => fail(e),
        complete: () => {
          sourceDone = true;
          if (!busy && queue.length === 0) subscriber.complete();
        },
      });
      return () => {
        closed = true;
        upstream.unsubscribe();
        (waiting as Subscription | null)?.unsubscribe();
        queue.length = 0;
      };
    });
}

