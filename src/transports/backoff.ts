/** Reconnection delays: exponential growth between `min` and `max`, in scheduler time units. */
export interface BackoffRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The delay before reconnection attempt `attempt` (0 for the first retry): the ceiling
 * doubles from `min` up to `max`, and the delay is drawn uniformly from the upper half of
 * it ("equal jitter"), so peers that lost each other at the same moment do not redial in
 * lockstep, yet never retry sooner than half the ceiling.
 *
 * @example
 * const random = seededRandom(1);
 * jitteredBackoff(0, { min: 50, max: 5000 }, random); // in [25, 50)
 * jitteredBackoff(3, { min: 50, max: 5000 }, random); // in [200, 400)
 * jitteredBackoff(20, { min: 50, max: 5000 }, random); // in [2500, 5000)
 */
export function jitteredBackoff(attempt: number, range: BackoffRange, random: () => number): number {
  const ceiling = Math.min(range.max, range.min * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}
