import { Observable, OperatorFunction, SchedulerLike, Subscription } from 'rxjs';

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
 * @example
 * electionDeadline$.pipe(deadlineTimer(scheduler)).subscribe((at) => console.log('timed out', at));
 * // electionDeadline$.next(scheduler.now() + 200) → logs 'timed out' 200 ms later,
 * // unless another deadline arrives first
 */
export function deadlineTimer(scheduler: SchedulerLike): OperatorFunction<number, number> {
  return (source) =>
    new Observable<number>((subscriber) => {
      let deadline = Infinity;
      let pending: Subscription | null = null;
      let due = Infinity;
      let sourceDone = false;
      const arm = (at: number) => {
        pending?.unsubscribe();
        due = at;
        pending = scheduler.schedule(check, Math.max(0, at - scheduler.now()));
      };
      const check = () => {
        pending = null;
        due = Infinity;
        if (deadline === Infinity) return;
        if (scheduler.now() < deadline) return arm(deadline);
        const passed = deadline;
        deadline = Infinity;
        subscriber.next(passed);
        if (sourceDone) subscriber.complete();
      };
      const upstream = source.subscribe({
        next(at) {
          deadline = at;
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
