import { Observable, SchedulerLike, Subscription } from 'rxjs';
import { randomInt } from '../random';

/** An election timeout range in the scheduler's time unit (ms in production). */
export interface TimeoutRange {
  readonly min: number;
  readonly max: number;
}

/**
 * One election timeout drawn uniformly from `range` (Raft §5.2): the single draw that the
 * follower's timer and the candidate's use.
 *
 * @example
 * drawElectionTimeout({ min: 150, max: 300 }, seededRandom(1)); // 150 plus a whole number up to 150
 */
export function drawElectionTimeout(range: TimeoutRange, random: () => number): number {
  return randomInt(random, range.min, range.max);
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
  // A reset only moves the deadline; the one pending check re-arms itself for the rest
  // when it finds the deadline moved (a reset comes with every AppendEntries, so
  // cancelling and recreating a timer per reset cost more than the rest of the follower's
  // handling of a heartbeat). The timer is rescheduled only when a reset draws a deadline
  // earlier than the pending check.
  return new Observable<void>((subscriber) => {
    let deadline = 0;
    let pending: Subscription | null = null;
    let due = 0;
    let sourceDone = false;
    const arm = (delay: number) => {
      due = scheduler.now() + delay;
      pending = scheduler.schedule(check, delay);
    };
    const check = () => {
      pending = null;
      const now = scheduler.now();
      // Never more than one timeout ahead: a clock stepped back cannot hold off an election.
      if (now < deadline) {
        const rest = Math.min(deadline - now, range.max);
        deadline = now + rest;
        return arm(rest);
      }
      subscriber.next();
      if (sourceDone) subscriber.complete();
    };
    const reset = (timeout: number) => {
      deadline = scheduler.now() + timeout;
      if (pending && due <= deadline) return;
      pending?.unsubscribe();
      arm(timeout);
    };
    const draw = () => drawElectionTimeout(range, random);
    reset(firstDelay ?? draw());
    const upstream = resets$.subscribe({
      next: () => reset(draw()),
      error: (e) => subscriber.error(e),
      complete: () => {
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
