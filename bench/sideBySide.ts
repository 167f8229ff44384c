/**
 * The KV server and another server driven side by side (bench/cluster.ts, phase `etcd`):
 * the same HTTP client, the same keys and values, the same load levels, each server on a
 * fresh three-member cluster on loopback, one after the other within a run, so that
 * `--runs 3` interleaves them (rxraft, etcd, rxraft, etcd, ...) and a change in the
 * machine's load hits both. Each side is charged the CPU time of its three server
 * processes (from /proc, the same way for both).
 *
 * @example
 * const run = await driveSide(target, { levels: [1, 64], warmupMs: 1000, durationMs: 10_000, valueBytes: 100, readClients: 64, client: 'raw' });
 * run.writes[1].writesPerSec; run.reads.writesPerSec; // (reads/s)
 */
import { closedLoop, LatencySummary, median, nowMs } from './clusterStats';
import { HttpClientKind, HttpDialect, putClient } from './clusterHttp';
import { processesCpuMicros } from './procCpu';

/** A running three-member cluster of one kind, as the side-by-side run drives it. */
export interface SideTarget {
  /** `rxraft` or `etcd`. */
  readonly name: string;
  readonly dialect: HttpDialect;
  /** Where clients send their requests: the leader's client (HTTP) address. */
  leaderAddress(): Promise<{ host: string; port: number }>;
  /** The server processes, charged their CPU time. */
  pids(): number[];
  /** Leader changes seen so far (the most any member counted). */
  leaderChanges(): Promise<number>;
}

export interface SideOptions {
  readonly levels: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly valueBytes: number;
  /** Concurrent clients of the linearizable read level. */
  readonly readClients: number;
  readonly client: HttpClientKind;
}

/** One load level on one side. */
export interface SideLevel {
  readonly concurrency: number;
  /** Acknowledged operations per second (writes, or reads for the read level). */
  readonly opsPerSec: number;
  readonly latencyMs: LatencySummary;
  readonly errors: Record<string, number>;
  /** CPU time of the three server processes per operation, µs. */
  readonly cpuMicrosPerOp: number;
  /** Leader changes during the level (warm-up included). */
  readonly leaderChanges: number;
}

export interface SideRun {
  readonly name: string;
  readonly writes: SideLevel[];
  readonly reads: SideLevel;
}

/** Keys each read client first writes, then reads in turn. */
const READ_KEYS = 16;

async function level(target: SideTarget, concurrency: number, o: SideOptions, op: (client: ReturnType<typeof putClient>, w: number, i: number) => Promise<void>): Promise<SideLevel> {
  const { host, port } = await target.leaderAddress();
  const client = putClient(o.client, host, port, concurrency, target.dialect);
  try {
    const pids = target.pids();
    const changesBefore = await target.leaderChanges();
    const cpuBefore = processesCpuMicros(pids);
    const started = nowMs();
    const r = await closedLoop(concurrency, o.warmupMs, o.durationMs, (w, i) => op(client, w, i));
    const cpu = processesCpuMicros(pids) - cpuBefore;
    // CPU covers warm-up and measurement; operations are counted over the measurement only: scale.
    const seconds = (nowMs() - started) / 1000;
    return {
      concurrency,
      opsPerSec: r.writesPerSec,
      latencyMs: r.latencyMs,
      errors: r.errors,
      cpuMicrosPerOp: cpu / (r.writesPerSec * seconds),
      leaderChanges: (await target.leaderChanges()) - changesBefore,
    };
  } finally {
    client.close();
  }
}

/**
 * Drives `target`: closed-loop writes (`k<worker>-<i mod 1024>`, `valueBytes` of 0x61) at
 * each of `levels` concurrent clients, then `readClients` clients each writing 16 keys and
 * reading them back in turn, linearizably, for the measured time.
 */
export async function driveSide(target: SideTarget, o: SideOptions, onLevel: (line: string) => void = () => undefined): Promise<SideRun> {
  const value = Buffer.alloc(o.valueBytes, 0x61);
  const writes: SideLevel[] = [];
  for (const concurrency of o.levels) {
    const l = await level(target, concurrency, o, (c, w, i) => c.put(w, `k${w}-${i & 1023}`, value));
    writes.push(l);
    onLevel(`${target.name}, ${concurrency} client(s): ${Math.round(l.opsPerSec)} writes/s, ${Math.round(l.cpuMicrosPerOp)} CPU µs/write, leader changes ${l.leaderChanges}${errorText(l.errors)}`);
  }
  const { host, port } = await target.leaderAddress();
  const filler = putClient(o.client, host, port, o.readClients, target.dialect);
  try {
    await Promise.all(
      Array.from({ length: o.readClients }, async (_, w) => {
        for (let i = 0; i < READ_KEYS; i++) await filler.put(w, `r${w}-${i}`, value);
      }),
    );
  } finally {
    filler.close();
  }
  const reads = await level(target, o.readClients, o, (c, w, i) => c.get(w, `r${w}-${i % READ_KEYS}`));
  onLevel(`${target.name}, ${o.readClients} client(s): ${Math.round(reads.opsPerSec)} linearizable reads/s, ${Math.round(reads.cpuMicrosPerOp)} CPU µs/read, leader changes ${reads.leaderChanges}${errorText(reads.errors)}`);
  return { name: target.name, writes, reads };
}

function errorText(errors: Record<string, number>): string {
  const e = Object.entries(errors);
  return e.length ? `; errors ${e.map(([k, v]) => `${k}×${v}`).join(', ')}` : '';
}

/** One row of the comparison: medians over runs of each side, and their ratios. */
export interface SideRow {
  /** `writes` or `reads`. */
  readonly kind: 'writes' | 'reads';
  readonly concurrency: number;
  readonly ours: number;
  readonly theirs: number;
  /** ours / theirs (ops/s). */
  readonly ratio: number;
  readonly oursCpuMicrosPerOp: number;
  readonly theirsCpuMicrosPerOp: number;
  /** ours / theirs (CPU per operation): below 1 is less CPU. */
  readonly cpuRatio: number;
  /** Leader changes over all runs, each side. */
  readonly oursLeaderChanges: number;
  readonly theirsLeaderChanges: number;
  /** Each run's ratio of ops/s, for the spread. */
  readonly runRatios: number[];
}

/**
 * Medians per level of `ours` and `theirs` (runs of the same levels), the ratio of the
 * medians, and each run's own ratio (its pair, in run order).
 *
 * @example
 * compareSides([{ ours, theirs }, { ours: ours2, theirs: theirs2 }]); // [{ kind: 'writes', concurrency: 1, ratio: 1.4, ... }, ...]
 */
export function compareSides(pairs: readonly { ours: SideRun; theirs: SideRun }[]): SideRow[] {
  if (pairs.length === 0) return [];
  const row = (kind: SideRow['kind'], pick: (r: SideRun) => SideLevel | undefined): SideRow => {
    const ours = pairs.map((p) => pick(p.ours)).filter((l): l is SideLevel => l !== undefined);
    const theirs = pairs.map((p) => pick(p.theirs)).filter((l): l is SideLevel => l !== undefined);
    const o = median(ours.map((l) => l.opsPerSec));
    const t = median(theirs.map((l) => l.opsPerSec));
    const oc = median(ours.map((l) => l.cpuMicrosPerOp));
    const tc = median(theirs.map((l) => l.cpuMicrosPerOp));
    return {
      kind,
      concurrency: (ours[0] ?? theirs[0]).concurrency,
      ours: o,
      theirs: t,
      ratio: o / t,
      oursCpuMicrosPerOp: oc,
      theirsCpuMicrosPerOp: tc,
      cpuRatio: oc / tc,
      oursLeaderChanges: ours.reduce((n, l) => n + l.leaderChanges, 0),
      theirsLeaderChanges: theirs.reduce((n, l) => n + l.leaderChanges, 0),
      runRatios: pairs.map((p) => (pick(p.ours)?.opsPerSec ?? NaN) / (pick(p.theirs)?.opsPerSec ?? NaN)),
    };
  };
  return [...pairs[0].ours.writes.map((_, i) => row('writes', (r) => r.writes[i])), row('reads', (r) => r.reads)];
}
