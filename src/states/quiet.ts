import { distinctUntilChanged, EMPTY, map, Observable, switchMap } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { isHostWakeup } from '../messages/liveness';
import type { RoleContext } from './context';

/**
 * A role's timer events while its node is awake; while it is quiet (quiescence,
 * `core/quiescence.ts`), none of them. Switching on `quiet$` unsubscribes the timer, so a
 * quiet group costs no timer; the host's wake-ups reach the node in every role
 * (`wakeEvents`).
 *
 * ```
 * quiet$:    f--------t---------f------
 * awake$:    --a--a--------------a--a--
 * output:    --a--a--------------a--a--
 * ```
 *
 * @example
 * // the leader's heartbeat ticks, stopped while quiet:
 * unlessQuiet(ctx, ticks$.pipe(map(() => ({ kind: 'heartbeatTick', epoch }))));
 */
export function unlessQuiet(ctx: RoleContext, awake$: Observable<RaftEvent>): Observable<RaftEvent> {
  return ctx.quiet$.pipe(
    distinctUntilChanged(),
    switchMap((quiet) => (quiet ? EMPTY : awake$)),
  );
}

/**
 * The host's wake-ups (`RaftNodeOptions.wakeups`) as `wake` events, whatever the role: a
 * `HostWakeup` names the hosts that changed and those silent now (a quiet node wakes if
 * the change concerns it; every node remembers the silent hosts); any other value wakes
 * every quiet node.
 *
 * ```
 * wakeups$:  ----w-----------x---------
 * output:    ----W-----------X---------   (W: { kind: 'wake', hosts, silent }; X: { kind: 'wake' })
 * ```
 *
 * @example
 * merge(wakeEvents(ctx), roleEvents$).subscribe((e) => loop.next(e));
 */
export function wakeEvents(ctx: Pick<RoleContext, 'wakeups$'>): Observable<RaftEvent> {
  return ctx.wakeups$ ? ctx.wakeups$.pipe(map(wakeEvent)) : EMPTY;
}

function wakeEvent(value: unknown): RaftEvent {
  return isHostWakeup(value) ? { kind: 'wake', hosts: value.hosts, silent: value.silent, group: value.group } : { kind: 'wake' };
}
