/** The CPU steal the benchmarks print beside their results (bench/cpuSteal.ts). */
import { cpuTimes, stealPercent } from '../../bench/cpuSteal';

describe('CPU steal', () => {
  test('is the stolen share of the CPU time between two readings', () => {
    expect(stealPercent({ total: 1000, steal: 10 }, { total: 1400, steal: 110 })).toBe(25);
    expect(stealPercent({ total: 1000, steal: 10 }, { total: 1000, steal: 10 })).toBeNull();
    expect(stealPercent(null, { total: 1, steal: 0 })).toBeNull();
  });

  (process.platform === 'linux' ? test : test.skip)('is read from /proc/stat on Linux', () => {
    const t = cpuTimes();
    expect(t).not.toBeNull();
    expect(t!.total).toBeGreaterThan(0);
    expect(t!.steal).toBeGreaterThanOrEqual(0);
    expect(t!.steal).toBeLessThanOrEqual(t!.total);
  });
});
