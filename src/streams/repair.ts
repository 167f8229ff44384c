import { catchError, concatWith, defer, endWith, from, ignoreElements, Observable, retry, SchedulerLike, take, throwError, timer } from 'rxjs';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import type { RaftState } from '../core/state';
import { HardStateRecoveryStalledError, RaftError, StorageFailedError } from '../errors';
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
    catchError((e: unknown) => throwError(() => StorageFailedError.of(e, 'clearing the damage marker'))),
  );
}

type TermRecoveryEffect = Extract<Effect, { type: 'termsRecovered' | 'termRecoveryStalled' }>;

/**
 * Carries out what the recovery of a lost hard state (`core/termRecovery.ts`) asks of
 * the runtime: a recovery waiting on silent members is reported (once) on `errors$`; a
 * finished one clears the damage record, ordered after the recovered hard state's write
 * (a crash before that finds the damage again and recovers again). A failure to clear
 * it stops the node.
 *
 * @example
 * const onTermRecovery = termRecoveryHandler('n1', storage, (e) => errors.next(e), (e) => failStop(e));
 * onTermRecovery({ type: 'termsRecovered', term: 7, clearDamage: true }); // storage.clearDamage()
 */
export function termRecoveryHandler(id: string, storage: Pick<Storage, 'clearDamage'>, report: (e: Error) => void, failStop: (e: RaftError) => void): (effect: TermRecoveryEffect) => void {
  return (effect) => {
    if (effect.type === 'termRecoveryStalled') return report(new HardStateRecoveryStalledError(id, effect.missing));
    if (!effect.clearDamage) return;
    (storage.clearDamage?.() ?? Promise.resolve()).catch((e: unknown) => failStop(StorageFailedError.of(e, 'clearing the damage marker')));
  };
}

/**
 * Whether a node starts the marker repair of a damaged log tail (`repairEvents`): with a
 * damaged tail, alone or behind a lost hard state. A lost hard state alone is repaired by
 * the rules (`core/termRecovery.ts`); its marker could commit only once the term is
 * recovered anyway, since no entries are taken before.
 *
 * @example
 * const repair$ = needsMarkerRepair(s) ? repairEvents(proposeNoop, storage, scheduler, 300) : EMPTY;
 */
export function needsMarkerRepair(s: RaftState): boolean {
  return s.repair !== null && (s.repair.terms === undefined || s.repair.terms.then !== null);
}
