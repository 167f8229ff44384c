import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

/**
 * How long a turn lasts on virtual time: 2^-10 ms, exact in binary floating point, far
 * below any delay a test or fault schedules.
 */
export const TURN_MS = 1 / 1024;

/**
 * A node's turn scheduler on virtual time that passes turns as Node's event loop does:
 * work scheduled during a turn runs after the promises that turn settled. The virtual
 * clocks run every action due at one instant before settling promises, so a turn
 * scheduler that schedules at the same instant runs that work ahead of them; this one
 * schedules it `TURN_MS` later, and the clock settles promises in between.
 *
 * This matters for work that waits for what promises bring in: the driver holds a
 * commit notice for two turns in case the next proposals' AppendEntries can carry it, and
 * those proposals arrive through promises.
 *
 * @example
 * createRaftNode({ ..., scheduler: view, turnScheduler: nodeTurns(view) });
 */
export function nodeTurns(scheduler: SchedulerLike): SchedulerLike {
  return {
    now: () => scheduler.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      return scheduler.schedule(work, delay + TURN_MS, state);
    },
  };
}
