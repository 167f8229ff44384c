import { catchError, defer, EMPTY, ignoreElements, lastValueFrom, merge, SchedulerLike, tap, throwError, timeout } from 'rxjs';
import { StopTimeoutError } from '../errors';

/**
 * Closes every part (calls its `close()`) at once and waits until each has closed, or
 * failed to (a failed close counts as done: stopping goes on), for at most `limit` on
 * `scheduler`. Then rejects with `StopTimeoutError` naming the parts still closing, whose
 * closes go on in the background. The timer is released once the last part has closed.
 *
 * ```
 * transport.close()  --|
 * storage.close()    ----|
 * result             ----|                    resolves once the last part closed
 *
 * storage.close()    ---------------------->  never settles
 * result             ---------X               StopTimeoutError { pending: ['storage'] } at `limit`
 * ```
 *
 * @example
 * await closeWithin('n1', { transport, storage }, 5000, scheduler);
 * // rejects after 5000 ms with StopTimeoutError { id: 'n1', pending: ['storage'], after: 5000 } if the storage's close hangs
 */
export function closeWithin(
  id: string,
  parts: Readonly<Record<string, { close(): Promise<unknown> }>>,
  limit: number,
  scheduler: SchedulerLike,
): Promise<void> {
  const open = new Set(Object.keys(parts));
  const closes = Object.entries(parts).map(([name, part]) =>
    defer(() => part.close()).pipe(
      ignoreElements(),
      catchError(() => EMPTY),
      tap({ complete: () => open.delete(name) }),
    ),
  );
  const all = merge(...closes).pipe(timeout({ first: limit, scheduler, with: () => throwError(() => new StopTimeoutError(id, [...open], limit)) }));
  return lastValueFrom(all, { defaultValue: undefined });
}
