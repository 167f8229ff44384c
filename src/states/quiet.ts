import { distinctUntilChanged, EMPTY, map, Observable, switchMap } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { RoleContext } from './context';

/**
 * A role's timer events while its node is awake; while it is quiet (quiescence,
 * `core/quiescence.ts`), none of them — only the host's wake-ups (`wakeups$`), as `wake`
 * events. Switching on `quiet$` unsubscribes the timer, so a quiet group costs no timer.
 *
 * ```
 * quiet$:    f--------t---------f------
 * awake$:    --a--a--------------a--a--
 * wakeups$:  ----------------w---------
 * output:    --a--a----------W---a--a--   (W: { kind: 'wake' })
 * ```
 *
 * @example
 * // the leader's heartbeat ticks, stopped while quiet:
 * unlessQuiet(ctx, ticks$.pipe(map(() => ({ kind: 'heartbeatTick', epoch }))));
 */
export function unlessQuiet(ctx: RoleContext, awake$: Observable<RaftEvent>): Observable<RaftEvent> {
  const wakeups$ = ctx.wakeups$ ? ctx.wakeups$.pipe(map((): RaftEvent => ({ kind: 'wake' }))) : EMPTY;
  return ctx.quiet$.pipe(
    distinctUntilChanged(),
    switchMap((quiet) => (quiet ? wakeups$ : awake$)),
  );
}
