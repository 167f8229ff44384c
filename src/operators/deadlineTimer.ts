import { Observable, OperatorFunction, SchedulerLike, Subscription } from 'rxjs';

/**
 * How `deadlineTimer` treats a check that runs late.
 *
 * @example
 * deadline$.pipe(deadlineTimer(scheduler, { stallGrace: 100 })); // a check more than 100 ms late (the process stalled) gives the deadline 100 ms more, once
 */
export interface DeadlineTimerOptions {
  /** Grace (ms) given once per deadline when its check runs more than `stallAfter` late. Default 0: none. */
  readonly stallGrace?: number;
  /** How late (ms) a check must run to count as a stall and get the grace. Default: `stallGrace`. */
  readonly stallAfter?: number;
  /**
   * Asked when a late check would get the grace: true means nothing the grace waits for
   * can be on its way (a follower told that its leader's host went silent), and the
   * deadline passes at once. Default: never.
   */
  readonly skipGrace?: () => boolean;
}

/**
 * Emits a deadline (an absolute time on `scheduler`) once it has passed, always for the
 * latest deadline the source gave: a newer one replaces the one pending, `Infinity` means
 * never, and one already past is emitted at once (at the scheduler's next action, never
 * synchronously). Each deadline is emitted at most once. Completes when the source has
 * completed and no deadline is pending.
 *
 * ```
 * source:  a-------b----c---------     (a = 5, b = 30, c = 12: c moves the deadline back)
 * output:  -----a-------c---------     (a at 5; b never passes, c replaced it at once)
 * ```
 *
 * Moving a deadline later (as every heartbeat does) costs no timer: the one pending check
 * finds the deadline moved and re-arms for the rest. Only a deadline earlier than the
 * pending check reschedules it.
 *
 * With `stallGrace`, a check that runs more than `stallAfter` (default `stallGrace`) ms
 * late — the process was stalled (a long turn, a starved machine, a GC pause), so its
 * timers fire first, before it reads what arrived meanwhile — waits `stallGrace` once
 * more for the source to move the deadline before it counts as passed. A follower that wakes from a stall thus reads
 * the heartbeat its leader sent on waking too, instead of campaigning against it (etcd's
 * ticks, which a stalled process misses, have the same effect).
 *
 * ```
 * source:  a(=10)                (stallGrace 5; the process stalls from 8 to 20)
 * output:  --------------------(check at 20 is 10 late: grace)-----a at 25, unless moved
 * ```
 *
 * `skipGrace` returning true at that check emits `a` at 20: the source knows nothing can
 * be waiting (a follower whose host said its leader's host went silent).
 *
 * @example
 * electionDeadline$.pipe(deadlineTimer(scheduler)).subscribe((at) => console.log('timed out', at));
 * // electionDeadline$.next(scheduler.now() + 200) → logs 'timed out' 200 ms later,
 * // unless another deadline arrives first
 */
export function deadlineTimer(scheduler: SchedulerLike, options: DeadlineTimerOptions = {}): OperatorFunction<number, number> {
  const grace = options.stallGrace ?? 0;
  const stallAfter = options.stallAfter ?? grace;
  return (source) =>
    new Observable<number>((subscriber) => {
      let deadline = Infinity;
      let pending: Subscription | null = null;
      let due = Infinity;
      /** When the pending check should run (a deadline already past: at once). */
      let expected = Infinity;
      /** The current deadline has had its stall grace. */
      let graced = false;
      let sourceDone = false;
      const arm = (at: number) => {
        pending?.unsubscribe();
        due = at;
        expected = Math.max(at, scheduler.now());
        pending = scheduler.schedule(check, Math.max(0, at - scheduler.now()));
      };
      const check = () => {
        pending = null;
        due = Infinity;
        if (deadline === Infinity) return;
        const now = scheduler.now();
        if (now < deadline) return arm(deadline);
        if (grace > 0 && !graced && now - expected > stallAfter && !options.skipGrace?.()) {
          graced = true;
          return arm(now + grace);
        }
        const passed = deadline;
        deadline = Infinity;
        subscriber.next(passed);
        if (sourceDone) subscriber.complete();
      };
      const upstream = source.subscribe({
        next(at) {
          deadline = at;
          graced = false;
          if (at === Infinity) {
            pending?.unsubscribe();
            pending = null;
            due = Infinity;
          } else if (!pending || at < due) {
            arm(at);
          }
        },
        error: (e) => subscriber.error(e),
        complete() {
          sourceDone = true;
          if (!pending) subscriber.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        pending?.unsubscribe();
      };
    });
}
