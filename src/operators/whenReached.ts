import { first, Observable, SchedulerLike, throwError, timeout } from 'rxjs';

/**
 * Emits `progress$`'s first value at or above `target`, then completes; fails with
 * `expired()` if none comes within `ms` (on `scheduler`). With a `BehaviorSubject` already
 * past `target` it emits at once. A read barrier: a read confirmed at index i is answered
 * once this node has applied i, and never waits forever.
 *
 * ```
 * progress$: 3--5---8--
 * whenReached(progress$, 7, 10ms):  -------(8|)
 * whenReached(progress$, 9, 10ms):  ----------#   (expired)
 * ```
 *
 * @example
 * whenReached(applied$, 42, { ms: 1000, scheduler, expired: () => new RequestTimeoutError('read', 1000) })
 *   .subscribe({ next: () => resolve(), error: reject });
 */
export function whenReached(
  progress$: Observable<number>,
  target: number,
  deadline: { readonly ms: number; readonly scheduler: SchedulerLike; readonly expired: () => Error },
): Observable<number> {
  return progress$.pipe(
    first((value) => value >= target),
    timeout({ first: deadline.ms, scheduler: deadline.scheduler, with: () => throwError(deadline.expired) }),
  );
}
