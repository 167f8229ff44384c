import { distinctUntilChanged, EMPTY, map, merge, Observable, switchMap } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { isHostWakeup } from '../messages/liveness';
import type { RoleContext } from './context';

/**
 * A role's timer events while its node is awake; while it is quiet (quiescence,
 * `core/quiescence.ts`), none of them. The host's wake-ups (`wakeups$`) come through
 * either way, as `wake` events: they wake a quiet node they concern, and tell every node
 * which peer hosts are silent (`HostWakeup`). Switching on `quiet$` unsubscribes the
 * timer, so a quiet group costs no timer.
 *
 * ```
 * quiet$:    f--------t---------f------
 * awake$:    --a--a--------------a--a--
 * wakeups$:  ----w-----------w---------
 * output:    --a-Wa----------W---a--a--   (W: { kind: 'wake', ... })
 * ```
 *
 * @example
 * // the leader's heartbeat ticks, stopped while quiet:
 * unlessQuiet(ctx, ticks$.pipe(map(() => ({ kind: 'heartbeatTick', epoch }))));
 */
export function unlessQuiet(ctx: RoleContext, awake$: Observable<RaftEvent>): Observable<RaftEvent> {
  const wakeups$ = ctx.wakeups$ ? ctx.wakeups$.pipe(map(wakeEvent)) : EMPTY;
  return merge(
    wakeups$,
    ctx.quiet$.pipe(
      distinctUntilChanged(),
      switchMap((quiet) => (quiet ? EMPTY : awake$)),
    ),
  );
}

/** A wake-up as the rules see it: a `HostWakeup` names the hosts; any other value concerns every node. */
function wakeEvent(value: unknown): RaftEvent {
  return isHostWakeup(value) ? { kind: 'wake', hosts: value.hosts, silent: value.silent } : { kind: 'wake' };
}
