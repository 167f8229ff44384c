import { EMPTY, map, Observable, Subscription } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { isHostWakeup } from '../messages/liveness';
import { listenTo } from '../operators/listenTo';
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
 * What `quiet$.pipe(distinctUntilChanged(), switchMap((q) => (q ? EMPTY : awake$)))`
 * does, in one subscriber: every group's role pipeline runs it, and an idle group is
 * quiet, so this is most of what such a group subscribes.
 *
 * @example
 * // the leader's heartbeat ticks, stopped while quiet:
 * unlessQuiet(ctx, ticks$.pipe(map(() => ({ kind: 'heartbeatTick', epoch }))));
 */
export function unlessQuiet(ctx: RoleContext, awake$: Observable<RaftEvent>): Observable<RaftEvent> {
  return new Observable<RaftEvent>((subscriber) => {
    let quiet: boolean | null = null;
    let inner: Subscription | null = null;
    let innerActive = false;
    let outerDone = false;
    // A listener on the role switch's broadcast (`listenTo`): no subscriber of its own.
    const upstream = listenTo(ctx.quiet$, {
      next(q) {
        if (q === quiet || subscriber.closed) return;
        quiet = q;
        inner?.unsubscribe();
        inner = null;
        innerActive = false;
        if (q) return;
        innerActive = true;
        inner = awake$.subscribe({
          next: (e) => subscriber.next(e),
          error: (e: unknown) => subscriber.error(e),
          complete: () => {
            innerActive = false;
            if (outerDone) subscriber.complete();
          },
        });
      },
      error: (e: unknown) => subscriber.error(e),
      complete: () => {
        outerDone = true;
        if (!innerActive) subscriber.complete();
      },
    });
    return () => {
      upstream?.unsubscribe();
      inner?.unsubscribe();
    };
  });
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

/** One value of the host's wake-ups as a `wake` event (see `wakeEvents`). */
export function wakeEvent(value: unknown): RaftEvent {
  return isHostWakeup(value) ? { kind: 'wake', hosts: value.hosts, silent: value.silent, group: value.group } : { kind: 'wake' };
}
