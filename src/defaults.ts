import { asapScheduler, asyncScheduler, SchedulerLike } from 'rxjs';

/**
 * The production sources of time and chance. This is the only module in `src/` that
 * may use the wall clock or unseeded randomness (DESIGN.md invariant 3); everything
 * else takes a `SchedulerLike` and a `random` function as options.
 */
export const defaultScheduler: SchedulerLike = asyncScheduler;

/** End-of-turn batching (microtasks): proposals of one turn become one append. */
export const defaultTurnScheduler: SchedulerLike = asapScheduler;

export const defaultRandom: () => number = () => Math.random();
