import { defer, from, ignoreElements, Observable, retry, SchedulerLike, take, timer } from 'rxjs';

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
