import { TestScheduler } from 'rxjs/testing';
import { electionTimer } from '../../src/operators/electionTimer';

/** Random numbers that make `randomInt(min, max)` return the given timeouts in turn. */
function draws(range: { min: number; max: number }, timeouts: number[]): () => number {
  let i = 0;
  return () => (timeouts[i++] - range.min) / (range.max - range.min + 1);
}

const range = { min: 10, max: 20 };
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('electionTimer', () => {
  it('fires one timeout after the start when nothing resets it', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      expectObservable(electionTimer(cold('-'), range, draws(range, [15]), s)).toBe('15ms x', { x: undefined });
    });
  });

  it('fires one freshly drawn timeout after the last reset, later or earlier than the pending one', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      // Start: 20 (due 20). Reset at 5 draws 18 (due 23, later). Reset at 8 draws 10 (due 18, earlier).
      const resets = cold('-----r--r');
      expectObservable(electionTimer(resets, range, draws(range, [20, 18, 10]), s)).toBe('18ms x', { x: undefined });
    });
  });

  it('uses firstDelay for the first timeout only', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const resets = cold('---- 7ms r'); // a reset at 11 draws 12: due 23
      expectObservable(electionTimer(resets, range, draws(range, [12]), s, 3)).toBe('3ms x 19ms x', { x: undefined });
    });
  });
});
