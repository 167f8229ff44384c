import { map, Observable, SchedulerLike, startWith, switchMap, timer } from 'rxjs';
import { randomInt } from '../random';

/** An election timeout range in the scheduler's time unit (ms in production). */
export interface TimeoutRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Fires once when `resets$` has been silent for a randomized election timeout, drawn
 * afresh from `range` at the start and after every reset (Raft §5.2: randomization keeps
 * split votes rare). With `firstDelay`, the first timeout is that long instead (a timer
 * resumed from an earlier role); resets still draw afresh.
 *
 * ```
 * resets:  ---r-----r---------------
 * output:  -------------------x        (x = one timeout after the last reset)
 * ```
 *
 * @example
 * electionTimer(heardFromLeader$, { min: 150, max: 300 }, seededRandom(1), scheduler)
 *   .subscribe(() => startElection());
 */
export function electionTimer(
  resets$: Observable<unknown>,
  range: TimeoutRange,
  random: () => number,
  scheduler: SchedulerLike,
  firstDelay?: number,
): Observable<void> {
  return resets$.pipe(
    map(() => false),
    startWith(true),
    switchMap((first) => timer(first && firstDelay !== undefined ? firstDelay : randomInt(random, range.min, range.max), scheduler)),
    map(() => undefined),
  );
}
