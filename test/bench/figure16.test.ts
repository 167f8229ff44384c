import { compareWithPaper, formatMs, summarize } from '../../bench/figure16Stats';
import { cdfPoints, renderFigure } from '../../bench/figure16Svg';
import { PAPER_SETUP, runTrial, subSeed, TrialConfig } from '../../bench/figure16Trial';

const paper150to300: TrialConfig = { ...PAPER_SETUP, electionTimeout: { min: 150, max: 300 } };

describe('Figure 16 trial (bench/figure16Trial)', () => {
  it('is a pure function of its seed and configuration', async () => {
    const a = await runTrial(7, paper150to300);
    const b = await runTrial(7, paper150to300);
    expect(b).toEqual(a);
    expect(await runTrial(8, paper150to300)).not.toEqual(a);
  });

  it('crashes the leader within its heartbeat interval and times the election after it', async () => {
    for (const preVote of [false, true]) {
      for (const seed of [1, 2, 3]) {
        const config = { ...paper150to300, preVote, checkQuorum: preVote };
        const r = await runTrial(seed, config);
        expect(r.unstable).toBe(false);
        // The heartbeat interval is half the minimum timeout; the crash falls inside one.
        expect(r.sinceHeartbeat).toBeGreaterThanOrEqual(0);
        expect(r.sinceHeartbeat).toBeLessThan(75);
        // Every follower heard the last heartbeat after it was sent, so none can time out
        // sooner than `min` after it; and a vote takes more than nothing.
        expect(r.electedMs).toBeGreaterThan(150 - r.sinceHeartbeat!);
        expect(r.electedMs).toBeLessThan(PAPER_SETUP.giveUpAfter);
        expect(r.committedMs).toBeGreaterThan(r.electedMs!);
        expect(r.terms).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('gives up after giveUpAfter when timeouts without randomness split every vote', async () => {
    const r = await runTrial(1, { ...PAPER_SETUP, electionTimeout: { min: 150, max: 150 }, giveUpAfter: 2000 });
    expect(r).toMatchObject({ electedMs: null, committedMs: null, terms: null, unstable: false });
  });

  it('derives independent seeds for the streams of neighbouring trials', () => {
    expect(subSeed(1, 2)).not.toBe(subSeed(2, 1));
    expect(new Set([1, 2, 3].flatMap((seed) => [1, 2, 3].map((stream) => subSeed(seed, stream)))).size).toBe(9);
  });
});

describe('Figure 16 statistics (bench/figure16Stats)', () => {
  it('summarizes downtimes, counting censored trials as the longest and excluding unstable ones', () => {
    const s = summarize([300, 100, 200, null, undefined], 1000);
    expect(s).toMatchObject({ n: 4, censored: 1, unstable: 1, median: 250, worst: Infinity, p99: Infinity });
    expect(s.mean).toBe((100 + 200 + 300 + 1000) / 4); // a lower bound
    const clean = summarize([10, 20, 30], 1000);
    expect(clean).toMatchObject({ median: 20, mean: 20, p99: 30, worst: 30, censored: 0 });
  });

  it('uses the nearest rank for p99', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(summarize(values, 10_000).p99).toBe(990);
  });

  it("compares with the paper's figures", () => {
    expect(compareWithPaper('150-155', summarize([200, 287, 400], 10_000))).toEqual([
      expect.objectContaining({ ours: 287, ok: true }),
    ]);
    const [mean, worst] = compareWithPaper('12-24', summarize([30, 40, 200], 10_000));
    expect(mean).toMatchObject({ ok: false, ours: 90 });
    expect(worst).toMatchObject({ ok: false, ours: 200 });
    // "longer than 10 seconds": slower is the same finding, faster is below it.
    expect(compareWithPaper('150-150', summarize([null, null], 10_000))[0].ok).toBe(true);
    expect(compareWithPaper('150-175', summarize([1], 10_000))).toEqual([]);
  });

  it('formats times for tables', () => {
    expect(formatMs(287.4)).toBe('287');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(Infinity, 10_000)).toBe('> 10 s');
    expect(formatMs(512, undefined, true)).toBe('≥ 512');
  });
});

describe('Figure 16 plot (bench/figure16Svg)', () => {
  const axis = { scale: 'log' as const, min: 100, max: 100_000, ticks: [100, 1000] };

  it('samples a cumulative distribution that rises to the share of finished trials', () => {
    const points = cdfPoints({ label: 'x', color: '#000', values: [150, 300, 2000], total: 4 }, axis, 100);
    const fractions = points.map(([, f]) => f);
    expect(fractions[0]).toBe(0);
    expect(fractions[fractions.length - 1]).toBe(0.75); // one trial never finished
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]);
  });

  it('draws one line per series in well-formed SVG', () => {
    const series = [
      { label: 'a', color: '#111', values: [120, 180], total: 2 },
      { label: 'b', color: '#222', values: [400], total: 2 },
    ];
    const svg = renderFigure({
      title: 'Figure 16 <test>',
      subtitle: ['setup'],
      columns: ['one'],
      rows: [{ title: 'top', panels: [{ series, x: axis, marks: [{ x: 287, y: 0.5, color: '#111', label: 'paper' }] }], legend: series }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('Figure 16 &lt;test&gt;');
  });
});
