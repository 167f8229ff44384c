import type { SchedulerAction, SchedulerLike } from 'rxjs';

/**
 * `s`, except that the process is stalled from `from` to `to`: actions due meanwhile run at `to`.
 *
 * @example
 * deadlineTimer(stalled(testScheduler, 8, 20), { stallGrace: 5 }); // a check due at 10 runs at 20, 10 late
 */
export function stalled(s: SchedulerLike, from: number, to: number): SchedulerLike {
  return {
    now: () => s.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T) {
      const due = s.now() + delay;
      return s.schedule(work, due >= from && due < to ? to - s.now() : delay, state);
    },
  };
}
