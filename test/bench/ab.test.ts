/** The pure parts of the A/B benchmark harness (bench/ab.ts): options, metrics, statistics, table. No benchmark runs here. */
import { clusterMetrics, recordedSteal, transportMetrics, AbResultFormatError } from '../../bench/abMetrics';
import { AbUsageError, MAX_ROUNDS, parseAbOptions } from '../../bench/abOptions';
import { benchCommand } from '../../bench/abRun';
import { compare, formatTable, formatValue, Metric, ratio, ratioNoise, spreadPercent, verdict } from '../../bench/abStats';

const m = (name: string, value: number, better: Metric['better'] = 'higher', control = false): Metric => ({ name, value, better, control });

describe('bench:ab options', () => {
  it('needs only --base; B defaults to the worktree, 3 rounds, both suites', () => {
    expect(parseAbOptions(['--base', 'e4fb380'])).toEqual({ base: 'e4fb380', head: 'worktree', rounds: 3, suites: ['cluster', 'transport'], quick: false, timeoutSeconds: 1500, clusterArgs: null });
  });

  it('reads every option, in both --x v and --x=v forms', () => {
    expect(parseAbOptions(['--base=main~3', '--head', 'HEAD', '--rounds=2', '--suite', 'transport', '--quick', '--timeout', '90'])).toEqual({
      base: 'main~3',
      head: 'HEAD',
      rounds: 2,
      suites: ['transport'],
      quick: true,
      timeoutSeconds: 90,
      clusterArgs: null,
    });
    expect(parseAbOptions(['--base', 'a', '--cluster-args=--only library  --levels 1,16 --duration 10']).clusterArgs).toEqual(['--only', 'library', '--levels', '1,16', '--duration', '10']);
    expect(parseAbOptions(['--base', 'a', '--quick']).timeoutSeconds).toBe(400);
    expect(parseAbOptions(['--base', 'a', '--suite', 'cluster']).suites).toEqual(['cluster']);
  });

  it.each([
    [[], /--base <git-rev> is required/],
    [['--base'], /--base needs a value/],
    [['--base', 'a', '--rounds', '0'], /--rounds: expected a whole number from 1 to 20, got "0"/],
    [['--base', 'a', '--rounds', String(MAX_ROUNDS + 1)], /--rounds: expected a whole number from 1 to 20/],
    [['--base', 'a', '--rounds', '2.5'], /--rounds: expected a whole number/],
    [['--base', 'a', '--rounds', 'three'], /--rounds: expected a whole number .* got "three"/],
    [['--base', 'a', '--suite', 'storage'], /--suite: expected cluster, transport or both, got "storage"/],
    [['--base', 'a', '--timeout', '5'], /--timeout: expected a whole number from 10/],
    [['--base', 'a', '--runs', '3'], /unknown option --runs \(known: --base, --head/],
    [['--base', 'a', 'b'], /unexpected argument "b"/],
    [['--base', 'a', '--base', 'b'], /--base given twice/],
    [['--base', 'a', '--quick=yes'], /--quick takes no value/],
    [['--base', '-rf'], /--base: "-rf" is not a git revision/],
    [['--base', 'a;rm -rf x'], /--base: "a;rm -rf x" is not a git revision/],
    [['--base', 'worktree'], /--base: 'worktree' can only be the head/],
    [['--base', 'a', '--cluster-args= '], /--cluster-args: expected the arguments of bench\/cluster.ts, got nothing/],
    [['--base', 'a', '--cluster-args=--levels 1;rm'], /--cluster-args: "1;rm" is not an option or a plain value/],
  ])('rejects %j with a clear AbUsageError', (argv, message) => {
    expect(() => parseAbOptions(argv)).toThrow(AbUsageError);
    expect(() => parseAbOptions(argv)).toThrow(message);
  });
});

describe('bench:ab commands', () => {
  it('runs the benchmarks exactly as npm run bench and bench:transport do unless --quick', () => {
    expect(benchCommand('cluster', false)).toEqual({ script: 'bench/cluster.ts', args: ['--only', 'floor,library,http,failover'], env: {} });
    expect(benchCommand('transport', false)).toEqual({ script: 'bench/transport.ts', args: [], env: {} });
  });

  it('reduces both with --quick through options the benchmarks accept', () => {
    expect(benchCommand('cluster', true).args).toEqual(['--only', 'floor,library,http,failover', '--duration', '5', '--warmup', '1', '--levels', '1,64', '--http-client', 'raw', '--failovers', '5']);
    expect(benchCommand('transport', true).env).toEqual({ RUNS: '1', SECONDS: '3' });
  });

  it('runs the cluster suite with --cluster-args instead of its own arguments, and leaves the transport suite alone', () => {
    expect(benchCommand('cluster', true, ['--only', 'library', '--levels', '1'])).toEqual({ script: 'bench/cluster.ts', args: ['--only', 'library', '--levels', '1'], env: {} });
    expect(benchCommand('transport', false, ['--levels', '1'])).toEqual({ script: 'bench/transport.ts', args: [], env: {} });
  });
});

describe('bench:ab statistics', () => {
  it('ratio is B/A, NaN where A is zero or missing', () => {
    expect(ratio(200, 190)).toBe(0.95);
    expect(ratio(0, 1)).toBeNaN();
    expect(ratio(NaN, 1)).toBeNaN();
  });

  it('spread is (max − min) / median in percent over the finite values', () => {
    expect(spreadPercent([90, 100, 110])).toBeCloseTo(20);
    expect(spreadPercent([100, NaN, 104])).toBeCloseTo(4 / 1.02);
    expect(spreadPercent([100])).toBeNaN();
  });

  it('lines up rounds by metric name, takes medians and says which way B moved', () => {
    const a = [
      [m('writes/s', 1000), m('p50 ms', 1.0, 'lower')],
      [m('writes/s', 1200), m('p50 ms', 1.2, 'lower')],
      [m('writes/s', 1100), m('p50 ms', 1.1, 'lower')],
    ];
    const b = [
      [m('p50 ms', 1.32, 'lower'), m('writes/s', 1000)],
      [m('writes/s', 1020), m('p50 ms', 1.3, 'lower')],
      [m('writes/s', 1010)], // this round lost its p50 (a failed run)
    ];
    const [writes, p50] = compare(a, b);
    expect(writes).toMatchObject({ name: 'writes/s', a: [1000, 1200, 1100], b: [1000, 1020, 1010], medianA: 1100, medianB: 1010 });
    expect(writes.ratio).toBeCloseTo(1010 / 1100);
    expect(writes.worsePercent).toBeCloseTo(100 * (1 - 1010 / 1100));
    expect(writes.spreadA).toBeCloseTo((100 * 200) / 1100);
    expect(p50).toMatchObject({ name: 'p50 ms', b: [1.32, 1.3, NaN], medianA: 1.1, medianB: 1.31 });
    // Lower is better: a higher median latency is B worse.
    expect(p50.worsePercent).toBeCloseTo(100 * (1.31 / 1.1 - 1));
    expect(verdict(writes)).toBe('B worse 8.2% (inside the spread)');
    expect(verdict(p50)).toBe('B worse 19.1%');
  });

  it('calls a change within 5% within, and marks controls and missing data', () => {
    const [same, better, control, missing] = compare(
      [[m('a', 100), m('b', 2, 'lower'), m('raw', 100, 'higher', true), m('gone', 5)]],
      [[m('a', 96), m('b', 1.8, 'lower'), m('raw', 50, 'higher', true)]],
    );
    expect(verdict(same)).toBe('within 5%');
    expect(verdict(better)).toBe('B better 10.0%');
    expect(verdict(control)).toBe('control (machine, not code)');
    expect(verdict(missing)).toBe('no data');
    expect(ratioNoise([same, better, control, missing])).toEqual({ count: 2, medianPercent: expect.closeTo(7), maxPercent: expect.closeTo(10), maxName: 'b' });
  });

  it('formats a table with one aligned row per metric', () => {
    const rows = compare([[m('library c=1 writes/s', 1106.4)], [m('library c=1 writes/s', 1200)]], [[m('library c=1 writes/s', 1150)], [m('library c=1 writes/s', 1180)]]);
    expect(formatTable(rows).split('\n')).toEqual([
      '| metric               | better | A median | B median |   B/A | A spread | B spread | rounds A/B | verdict   |',
      '|----------------------|--------|---------:|---------:|------:|---------:|---------:|-----------:|-----------|',
      '| library c=1 writes/s | higher |    1,153 |    1,165 | 1.010 |     8.1% |     2.6% |        2/2 | within 5% |',
    ]);
    expect([formatValue(63461.6), formatValue(191), formatValue(1.234), formatValue(0.4721), formatValue(NaN)]).toEqual(['63,462', '191.0', '1.23', '0.472', '-']);
  });
});

describe('bench:ab metrics', () => {
  const load = (concurrency: number, writesPerSec: number) => ({
    concurrency,
    seconds: 10,
    writes: writesPerSec * 10,
    writesPerSec,
    latencyMs: { p50: 0.5, p99: 2, p999: 3, max: 4 },
    errors: {},
    counters: { leaderCpuMicrosPerWrite: 40, followerCpuMicrosPerWrite: 30, leaderCswPerWrite: 7.5, followerCswPerWrite: 6 },
  });

  it('reads the summary of a cluster benchmark result', () => {
    const json = {
      summary: {
        cpuStealPercent: 3,
        floor: { roundTripP50Ms: 0.03, fsyncP50Ms: 0.12, replicationP50Ms: 0.19, replication3P50Ms: 0.3, httpRequestsPerSec: { raw: 22000 }, http1: { raw: { requestsPerSec: 9000, p50Ms: 0.1 } } },
        library: [load(1, 2000), load(256, 60000)],
        http: { raw: [load(64, 9000)] },
        failover: { medianMs: 191, p99Ms: 300, maxMs: 310 },
      },
    };
    const metrics = clusterMetrics(json);
    const perLoad = (at: string) => [
      `${at} writes/s`, `${at} p50 ms`, `${at} p99 ms`, `${at} leader CPU µs/write`, `${at} follower CPU µs/write`,
      `${at} leader context switches/write`, `${at} follower context switches/write`,
    ];
    expect(metrics.map((x) => x.name)).toEqual([
      ...perLoad('library c=1'),
      ...perLoad('library c=256'),
      ...perLoad('http raw c=64'),
      'failover median ms',
      'floor loopback round trip p50 ms', 'floor append+fdatasync p50 ms', 'floor hand-rolled replication p50 ms', 'floor hand-rolled replication, two followers p50 ms',
      'floor bare node:http raw requests/s', 'floor bare node:http 1 raw client p50 ms',
    ]);
    expect(metrics[7]).toEqual({ name: 'library c=256 writes/s', value: 60000, better: 'higher', control: false });
    expect(metrics[5]).toEqual({ name: 'library c=1 leader context switches/write', value: 7.5, better: 'lower', control: false });
    expect(metrics[21]).toEqual({ name: 'failover median ms', value: 191, better: 'lower', control: false });
    expect(metrics[25]).toEqual({ name: 'floor hand-rolled replication, two followers p50 ms', value: 0.3, better: 'lower', control: true });
    expect(metrics[27]).toEqual({ name: 'floor bare node:http 1 raw client p50 ms', value: 0.1, better: 'lower', control: true });
    expect(metrics.filter((x) => x.control).map((x) => x.name)).toEqual(metrics.slice(22).map((x) => x.name));
    expect(recordedSteal(json)).toBe(3);
  });

  it('reads the library phase by value size (--sizes): per level writes/s, p50, leader changes, storage reads/s, CPU, kernel time and page faults per write, GC share; the O_DSYNC writer is a control', () => {
    const counters = { leaderChanges: 0, storageReadsPerSec: 1.5, leaderCpuMicrosPerWrite: 30, followerCpuMicrosPerWrite: 20, leaderSysMicrosPerWrite: 7, followerSysMicrosPerWrite: 5, leaderMinorFaultsPerWrite: 12, followerMinorFaultsPerWrite: 17, leaderGcPercent: 6.5, followerGcPercent: 9 };
    const load = { concurrency: 256, writesPerSec: 900, latencyMs: { p50: 80 }, counters };
    const json = { summary: { sizes: [{ valueBytes: 65536, dsyncMbPerSec: 170, loads: [load] }] } };
    expect(clusterMetrics(json)).toEqual([
      m('library 65536 B c=256 writes/s', 900), m('library 65536 B c=256 p50 ms', 80, 'lower'),
      m('library 65536 B c=256 leader changes', 0, 'lower'), m('library 65536 B c=256 storage reads/s', 1.5, 'lower'),
      m('library 65536 B c=256 leader CPU µs/write', 30, 'lower'), m('library 65536 B c=256 follower CPU µs/write', 20, 'lower'),
      m('library 65536 B c=256 leader kernel µs/write', 7, 'lower'), m('library 65536 B c=256 follower kernel µs/write', 5, 'lower'),
      m('library 65536 B c=256 leader page faults/write', 12, 'lower'), m('library 65536 B c=256 follower page faults/write', 17, 'lower'),
      m('library 65536 B c=256 leader GC % of busy', 6.5, 'lower'), m('library 65536 B c=256 follower GC % of busy (the higher)', 9, 'lower'),
      m('O_DSYNC writer 65536 B MB/s', 170, 'higher', true),
    ]);
  });

  it('reads the many-groups phase (--only groups): per group count and level writes/s, p50, p99, CPU per write', () => {
    const level = (groups: number, writesPerSec: number, cpuMicrosPerWrite: number) => ({ groups, concurrency: 256, writesPerSec, p50Ms: 2.5, p99Ms: 14, cpuMicrosPerWrite, errors: {}, hosts: [] });
    const json = { summary: { groups: { levels: [level(1, 146000, 10), level(64, 62000, 28.7)], failovers: [] } } };
    expect(clusterMetrics(json)).toEqual([
      m('groups 1 c=256 writes/s', 146000), m('groups 1 c=256 p50 ms', 2.5, 'lower'), m('groups 1 c=256 p99 ms', 14, 'lower'), m('groups 1 c=256 CPU µs/write (3 hosts)', 10, 'lower'),
      m('groups 64 c=256 writes/s', 62000), m('groups 64 c=256 p50 ms', 2.5, 'lower'), m('groups 64 c=256 p99 ms', 14, 'lower'), m('groups 64 c=256 CPU µs/write (3 hosts)', 28.7, 'lower'),
    ]);
  });

  it('reads the summary of a transport benchmark result; raw sockets are controls', () => {
    const json = { cpuStealPercent: 12, summary: [{ scenario: 'heartbeat', pairsPerSecond: 227000, clientCpuMicros: 4, serverCpuMicros: 3 }, { scenario: 'raw-heartbeat', pairsPerSecond: 500000, clientCpuMicros: 1, serverCpuMicros: 1 }] };
    expect(transportMetrics(json)).toEqual([
      m('heartbeat pairs/s', 227000), m('heartbeat client CPU µs/pair', 4, 'lower'), m('heartbeat server CPU µs/pair', 3, 'lower'),
      m('raw-heartbeat pairs/s', 500000, 'higher', true), m('raw-heartbeat client CPU µs/pair', 1, 'lower', true), m('raw-heartbeat server CPU µs/pair', 1, 'lower', true),
    ]);
    expect(recordedSteal(json)).toBe(12);
  });

  it('says so when a file is not the result it should be', () => {
    expect(() => clusterMetrics({ summary: [] })).toThrow(new AbResultFormatError('not a cluster benchmark result: no "summary" object'));
    expect(() => transportMetrics({})).toThrow(new AbResultFormatError('not a transport benchmark result: no "summary" array'));
    expect(recordedSteal(null)).toBeNull();
  });
});
