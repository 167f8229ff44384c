import { Observable, OperatorFunction, Subject, Subscription } from 'rxjs';

/**
 * Builds a pipeline over the source's values at the source's first value, not at
 * subscription: until then only the source is subscribed. Over a hot source whose
 * pipeline does nothing before a value arrives, the output is the same as
 * `build(source)`'s, but a subscriber that never sees a value keeps one subscription
 * instead of the whole pipeline — what a host of many idle groups saves per group (a
 * leader's snapshot transfer to each follower, mostly never used). The built pipeline
 * gets the values from the first on, and the source's completion or error.
 *
 * ```
 * source:  ------a----b--|
 * build:   v$ => v$.pipe(map(toUpperCase))
 * output:  ------A----B--|
 * (subscribed to build only from a on)
 * ```
 *
 * @example
 * requests$.pipe(buildOnFirst((r$) => r$.pipe(share(), heavyTransfer)))
 *   .subscribe((e) => loop.next(e));
 */
export function buildOnFirst<T, R>(build: (values$: Observable<T>) => Observable<R>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let values: Subject<T> | null = null;
      const built = new Subscription();
      const upstream = source.subscribe({
        next(value) {
          if (!values) {
            values = new Subject<T>();
            built.add(build(values).subscribe(subscriber));
          }
          values.next(value);
        },
        error: (e: unknown) => (values ? values.error(e) : subscriber.error(e)),
        complete: () => (values ? values.complete() : subscriber.complete()),
      });
      return () => {
        upstream.unsubscribe();
        built.unsubscribe();
      };
    });
}
