import { catchError, concatWith, defer, endWith, from, ignoreElements, Observable, retry, SchedulerLike, take, throwError, timer } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { StorageFailedError } from '../errors';
import type { Storage } from '../storage/storage';

/**
 * Repairs a node whose storage lost writes it may have acknowledged (`StorageDamage`):
 * proposes a marker entry through the leader, retrying every `retryDelay` until the
 * marker has committed and been applied here, then completes. An entry appended after
 * this node started follows every entry the node could have acknowledged before, so
 * once it is applied here this node holds every such entry that committed, and it may
 * vote again. Unsubscribing stops the attempts.
 *
 * ```
 * marker:  --x(refused)----x(timeout)----✓|
 * repair$: ------------------------------|
 * ```
 *
 * @example
 * repairFromCluster(() => proposeNoop(), scheduler, 300).subscribe({ complete: () => allowVotes() });
 */
export function repairFromCluster(proposeMarker: () => Promise<unknown>, scheduler: SchedulerLike, retryDelay: number): Observable<never> {
  return defer(() => from(proposeMarker())).pipe(
    retry({ delay: () => timer(retryDelay, scheduler) }),
    take(1),
    ignoreElements(),
  );
}

/**
 * The repair of a node whose log lost entries it may have acknowledged, as a stream of
 * events: `repairFromCluster`, then the damage marker on disk is cleared, then one
 * `repaired` event lets the node vote again. A failure to clear the marker errors the
 * stream with `StorageFailedError` (the node stops).
 *
 * @example
 * merge(events$, state.repair ? repairEvents(() => propose(noop), storage, scheduler, 300) : EMPTY)
 */
export function repairEvents(proposeMarker: () => Promise<unknown>, storage: Pick<Storage, 'clearDamage'>, scheduler: SchedulerLike, retryDelay: number): Observable<RaftEvent> {
  return repairFromCluster(proposeMarker, scheduler, retryDelay).pipe(
    concatWith(defer(() => from(storage.clearDamage?.() ?? Promise.resolve()))),
    ignoreElements(),
    endWith<RaftEvent>({ kind: 'repaired' }),
    catchError((e: unknown) => throwError(() => (e instanceof StorageFailedError ? e : new StorageFailedError(`clearing the damage marker failed: ${e instanceof Error ? e.message : String(e)}`, e)))),
  );
}
