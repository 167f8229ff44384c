import { MemorySample, verdictOf } from '../../bench/memoryPhase';

/** One sample every 5 s for `durationS` seconds, RSS from `rssAt(t)`. */
function series(durationS: number, rssAt: (t: number) => number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let t = 0; t <= durationS; t += 5) out.push({ t, rssMb: rssAt(t), heapMb: null, externalMb: null });
  return out;
}

describe('the memory benchmark verdict (issue 17: last minute within 10% of the second)', () => {
  it('compares the median of the last minute with that of the second minute', () => {
    // Warm-up to 120 MB, then flat with a spike the median ignores.
    const v = verdictOf(series(300, (t) => (t < 60 ? 60 + t : t === 280 ? 400 : 120)), 300);
    expect(v).toEqual({ secondMinuteMedianMb: 120, lastMinuteMedianMb: 120, growth: 0 });
  });

  it('reports growth when memory keeps climbing', () => {
    const v = verdictOf(series(300, (t) => 100 + t), 300);
    expect(v.secondMinuteMedianMb).toBe(187.5);
    expect(v.lastMinuteMedianMb).toBe(370);
    expect(v.growth).toBeCloseTo(0.973, 3);
  });

  it('gives no verdict under 180 s, where the two minutes would overlap', () => {
    expect(verdictOf(series(120, () => 100), 120)).toEqual({ secondMinuteMedianMb: null, lastMinuteMedianMb: null, growth: null });
  });
});
