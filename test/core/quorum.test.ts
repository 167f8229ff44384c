import { quorumValue } from '../../src/core/quorum';
import type { ClusterConfig } from '../../src/messages/config';

/** The definition: sort descending, take the value a majority has reached. */
function bySorting(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[Math.floor(values.length / 2)];
}

function config(voters: string[], oldVoters?: string[]): ClusterConfig {
  return { voters, learners: [], addresses: {}, ...(oldVoters ? { oldVoters } : {}) };
}

describe('quorumValue: the highest index a majority has stored', () => {
  it('is the median of three, whatever the order', () => {
    const match: Record<string, number> = { a: 7, b: 3, c: 5 };
    expect(quorumValue(config(['a', 'b', 'c']), (id) => match[id])).toBe(5);
    expect(quorumValue(config(['c', 'a', 'b']), (id) => match[id])).toBe(5);
  });

  it('needs more than half: with four voters it is the second lowest of the top three', () => {
    const match: Record<string, number> = { a: 9, b: 9, c: 2, d: 1 };
    expect(quorumValue(config(['a', 'b', 'c', 'd']), (id) => match[id])).toBe(2);
  });

  it('agrees with sorting on 2,000 seeded random configurations of 1 to 9 voters with ties', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 2000; round++) {
      const n = 1 + (next() % 9);
      const ids = Array.from({ length: n }, (_, i) => `n${i}`);
      const values = ids.map(() => next() % 6);
      expect(quorumValue(config(ids), (id) => values[ids.indexOf(id)])).toBe(bySorting(values));
    }
  });

  it('takes the lower of both majorities in a joint configuration', () => {
    const match: Record<string, number> = { a: 10, b: 10, c: 10, d: 4, e: 3 };
    expect(quorumValue(config(['a', 'b', 'c'], ['c', 'd', 'e']), (id) => match[id])).toBe(4);
  });
});
