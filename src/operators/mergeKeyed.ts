import { from, Observable, ObservableInput, OperatorFunction, Subscription } from 'rxjs';

/**
 * Keeps one inner stream per key of the latest key set, and merges their values. Each
 * emission of the source is the full set of keys wanted now: a new key gets
 * `project(key)` subscribed, a key that is gone has its inner unsubscribed at that
 * moment, and a key that stays keeps its inner untouched (never resubscribed). Duplicate
 * keys count once. An inner that completes on its own is not restarted while its key
 * stays. Completes when the source has completed and every inner it still holds has
 * completed; an error anywhere is passed on and tears everything down.
 *
 * Like `switchMap` for each key rather than for the whole set: a `members$`-style stream
 * of the peers to talk to becomes one pipeline per peer.
 *
 * ```
 * keys$:       a----(ab)----b-----
 * project(a):  ^---------!              (unsubscribed when a leaves)
 * project(b):       ^-----------------  (kept across the emission that still has b)
 * ```
 *
 * @example
 * followers$.pipe(mergeKeyed((peer) => interval(100).pipe(map(() => `ping ${peer}`)))).subscribe(console.log);
 * // with followers$ = ['n2', 'n3'], every 100 ms: 'ping n2', 'ping n3'; after ['n3']: only 'ping n3'
 */
export function mergeKeyed<K, R>(project: (key: K) => ObservableInput<R>): OperatorFunction<Iterable<K>, R> {
  return (keys$) =>
    new Observable<R>((subscriber) => {
      /** The inner of each key; `done` once it completed by itself. */
      const inners = new Map<K, { readonly subscription: Subscription; done: boolean }>();
      let sourceDone = false;
      const maybeComplete = () => {
        if (!sourceDone) return;
        for (const inner of inners.values()) if (!inner.done) return;
        subscriber.complete();
      };
      const start = (key: K) => {
        const inner = { subscription: new Subscription(), done: false };
        inners.set(key, inner); // before subscribing: the inner may complete synchronously
        inner.subscription.add(
          from(project(key)).subscribe({
            next: (value) => subscriber.next(value),
            error: (e: unknown) => subscriber.error(e),
            complete: () => {
              inner.done = true;
              maybeComplete();
            },
          }),
        );
      };
      const source = keys$.subscribe({
        next: (keys) => {
          const wanted = new Set(keys);
          for (const [key, inner] of inners) {
            if (wanted.has(key)) continue;
            inners.delete(key);
            inner.subscription.unsubscribe();
          }
          for (const key of wanted) if (!inners.has(key) && !subscriber.closed) start(key);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          maybeComplete();
        },
      });
      return () => {
        source.unsubscribe();
        for (const inner of inners.values()) inner.subscription.unsubscribe();
        inners.clear();
      };
    });
}
