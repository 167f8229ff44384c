import { Observable, Subscription } from 'rxjs';
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
 * What `quiet$.pipe(distinctUntilChanged(), switchMap((q) => (q ? wake$ : awake$)))`
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
    const wake = () => subscriber.next({ kind: 'wake' });
    const follow = <V>(source: Observable<V>, next: (value: V) => void) => {
      inner?.unsubscribe();
      innerActive = true;
      inner = source.subscribe({
        next,
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          innerActive = false;
          if (outerDone) subscriber.complete();
        },
      });
    };
    const upstream = ctx.quiet$.subscribe({
      next(q) {
        if (q === quiet) return;
        quiet = q;
        if (!q) follow(awake$, (e: RaftEvent) => subscriber.next(e));
        else if (ctx.wakeups$) follow(ctx.wakeups$, wake);
        else {
          inner?.unsubscribe();
          inner = null;
          innerActive = false;
        }
      },
      error: (e: unknown) => subscriber.error(e),
      complete: () => {
        outerDone = true;
        if (!innerActive) subscriber.complete();
      },
    });
    return () => {
      upstream.unsubscribe();
      inner?.unsubscribe();
    };
  });
}
