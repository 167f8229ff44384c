/** The side-by-side comparison's arithmetic: medians per level, ratios, leader changes (bench/sideBySide.ts). */
import { compareSides, SideLevel, SideRun } from '../../bench/sideBySide';

const level = (concurrency: number, opsPerSec: number, cpuMicrosPerOp: number, leaderChanges = 0): SideLevel => ({
  concurrency,
  opsPerSec,
  cpuMicrosPerOp,
  leaderChanges,
  latencyMs: { p50: 1, p99: 2, p999: 3, max: 4 },
  errors: {},
});
const run = (name: string, writes: [number, number, number][], reads: [number, number], leaderChanges = 0): SideRun => ({
  name,
  writes: writes.map(([c, ops, cpu]) => level(c, ops, cpu, leaderChanges)),
  reads: level(64, reads[0], reads[1]),
});

describe('compareSides', () => {
  it('takes the median of each side per level, and the ratio of the medians', () => {
    const rows = compareSides([
      { ours: run('rxraft', [[1, 1000, 100], [64, 9000, 40]], [20_000, 30]), theirs: run('etcd', [[1, 500, 200], [64, 6000, 80]], [5000, 150]) },
      { ours: run('rxraft', [[1, 1200, 90], [64, 8000, 50]], [22_000, 32], 1), theirs: run('etcd', [[1, 400, 220], [64, 4000, 100]], [6000, 140]) },
      { ours: run('rxraft', [[1, 1100, 80], [64, 10_000, 45]], [21_000, 31]), theirs: run('etcd', [[1, 600, 180], [64, 5000, 90]], [5500, 145]) },
    ]);
    expect(rows.map((r) => [r.kind, r.concurrency, r.ours, r.theirs])).toEqual([
      ['writes', 1, 1100, 500],
      ['writes', 64, 9000, 5000],
      ['reads', 64, 21_000, 5500],
    ]);
    expect(rows[0].ratio).toBeCloseTo(2.2);
    expect(rows[0].cpuRatio).toBeCloseTo(90 / 200);
    expect(rows[1].runRatios.map((r) => Number(r.toFixed(2)))).toEqual([1.5, 2, 2]);
    // Leader changes add up over runs: one on our side, at every write level of run 2.
    expect(rows.map((r) => [r.oursLeaderChanges, r.theirsLeaderChanges])).toEqual([[1, 0], [1, 0], [0, 0]]);
  });

  it('has no rows without runs', () => {
    expect(compareSides([])).toEqual([]);
  });
});
