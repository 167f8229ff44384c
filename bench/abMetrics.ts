/**
 * The metrics the A/B harness (bench/ab.ts) compares, read from the JSON that
 * bench/cluster.ts (`cluster-*.json`) and bench/transport.ts (`transport-*.json`) write
 * under bench/results/. Only the `summary` of each file is read, so a revision's benchmark
 * may add fields without breaking the comparison; a metric one side lacks shows as '-'.
 *
 * @example
 * const metrics = clusterMetrics(JSON.parse(fs.readFileSync('bench/results/cluster-….json', 'utf8')));
 * // [{ name: 'library c=1 writes/s', value: 1106, better: 'higher', control: false }, ...]
 */
import type { Metric } from './abStats';

/** A benchmark's JSON that is not what the harness knows how to read. */
export class AbResultFormatError extends Error {
  override readonly name = 'AbResultFormatError';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const metric = (name: string, value: unknown, better: Metric['better'], control = false): Metric => ({ name, value: num(value), better, control });

/**
 * Rows of the cluster benchmark: per API and load level writes/s, p50, p99, CPU and context
 * switches per write (leader, and the followers' mean); failover; the many-groups phase;
 * the floors (controls).
 */
export function clusterMetrics(json: unknown): Metric[] {
  const summary = isObject(json) ? json.summary : undefined;
  if (!isObject(summary)) throw new AbResultFormatError('not a cluster benchmark result: no "summary" object');
  const out: Metric[] = [];
  const loads = (api: string, list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const l of list.filter(isObject)) {
      const at = `${api} c=${num(l.concurrency)}`;
      const latency = isObject(l.latencyMs) ? l.latencyMs : {};
      const counters = isObject(l.counters) ? l.counters : {};
      out.push(
        metric(`${at} writes/s`, l.writesPerSec, 'higher'),
        metric(`${at} p50 ms`, latency.p50, 'lower'),
        metric(`${at} p99 ms`, latency.p99, 'lower'),
        metric(`${at} leader CPU µs/write`, counters.leaderCpuMicrosPerWrite, 'lower'),
        metric(`${at} follower CPU µs/write`, counters.followerCpuMicrosPerWrite, 'lower'),
        metric(`${at} leader context switches/write`, counters.leaderCswPerWrite, 'lower'),
        metric(`${at} follower context switches/write`, counters.followerCswPerWrite, 'lower'),
      );
    }
  };
  loads('library', summary.library);
  if (Array.isArray(summary.sizes)) for (const size of summary.sizes.filter(isObject)) sizeMetrics(size, out);
  if (isObject(summary.http)) for (const [kind, list] of Object.entries(summary.http)) loads(`http ${kind}`, list);
  if (isObject(summary.failover)) out.push(metric('failover median ms', summary.failover.medianMs, 'lower'));
  if (isObject(summary.groups) && Array.isArray(summary.groups.levels)) groupsMetrics(summary.groups.levels, out);
  const floor = summary.floor;
  if (isObject(floor)) {
    out.push(
      metric('floor loopback round trip p50 ms', floor.roundTripP50Ms, 'lower', true),
      metric('floor append+fdatasync p50 ms', floor.fsyncP50Ms, 'lower', true),
      metric('floor hand-rolled replication p50 ms', floor.replicationP50Ms, 'lower', true),
      metric('floor hand-rolled replication, two followers p50 ms', floor.replication3P50Ms, 'lower', true),
    );
    if (isObject(floor.httpRequestsPerSec)) {
      for (const [kind, v] of Object.entries(floor.httpRequestsPerSec)) out.push(metric(`floor bare node:http ${kind} requests/s`, v, 'higher', true));
    }
    if (isObject(floor.http1)) {
      for (const [kind, v] of Object.entries(floor.http1)) if (isObject(v)) out.push(metric(`floor bare node:http 1 ${kind} client p50 ms`, v.p50Ms, 'lower', true));
    }
  }
  return out;
}

/**
 * Rows of the many-groups phase (`--only groups`): per group count and load level,
 * writes/s, p50, p99 and the CPU per write of the three hosts together.
 */
function groupsMetrics(levels: unknown[], out: Metric[]): void {
  for (const l of levels.filter(isObject)) {
    const at = `groups ${num(l.groups)} c=${num(l.concurrency)}`;
    out.push(
      metric(`${at} writes/s`, l.writesPerSec, 'higher'),
      metric(`${at} p50 ms`, l.p50Ms, 'lower'),
      metric(`${at} p99 ms`, l.p99Ms, 'lower'),
      metric(`${at} CPU µs/write (3 hosts)`, l.cpuMicrosPerWrite, 'lower'),
    );
  }
}

/**
 * Rows of the library phase at one value size (`--sizes`): per load level writes/s, p50,
 * leader changes, reads from storage per second, CPU, kernel time and minor page faults per
 * write, GC's share of busy time (leader, and the busier follower); the O_DSYNC writer's MB/s (a control).
 */
function sizeMetrics(size: Json, out: Metric[]): void {
  const bytes = num(size.valueBytes);
  for (const l of Array.isArray(size.loads) ? size.loads.filter(isObject) : []) {
    const at = `library ${bytes} B c=${num(l.concurrency)}`;
    const counters = isObject(l.counters) ? l.counters : {};
    out.push(
      metric(`${at} writes/s`, l.writesPerSec, 'higher'),
      metric(`${at} p50 ms`, isObject(l.latencyMs) ? l.latencyMs.p50 : NaN, 'lower'),
      metric(`${at} leader changes`, counters.leaderChanges, 'lower'),
      metric(`${at} storage reads/s`, counters.storageReadsPerSec, 'lower'),
      metric(`${at} leader CPU µs/write`, counters.leaderCpuMicrosPerWrite, 'lower'),
      metric(`${at} follower CPU µs/write`, counters.followerCpuMicrosPerWrite, 'lower'),
      metric(`${at} leader kernel µs/write`, counters.leaderSysMicrosPerWrite, 'lower'),
      metric(`${at} follower kernel µs/write`, counters.followerSysMicrosPerWrite, 'lower'),
      metric(`${at} leader page faults/write`, counters.leaderMinorFaultsPerWrite, 'lower'),
      metric(`${at} follower page faults/write`, counters.followerMinorFaultsPerWrite, 'lower'),
      metric(`${at} leader GC % of busy`, counters.leaderGcPercent, 'lower'),
      metric(`${at} follower GC % of busy (the higher)`, counters.followerGcPercent, 'lower'),
    );
  }
  if (size.dsyncMbPerSec !== undefined) out.push(metric(`O_DSYNC writer ${bytes} B MB/s`, size.dsyncMbPerSec, 'higher', true));
}

/** Rows of the transport benchmark: per scenario pairs/s and CPU per pair on each side; the raw-socket scenarios are controls. */
export function transportMetrics(json: unknown): Metric[] {
  const summary = isObject(json) ? json.summary : undefined;
  if (!Array.isArray(summary)) throw new AbResultFormatError('not a transport benchmark result: no "summary" array');
  return summary.filter(isObject).flatMap((s) => {
    const name = String(s.scenario);
    const control = name.startsWith('raw');
    return [
      metric(`${name} pairs/s`, s.pairsPerSecond, 'higher', control),
      metric(`${name} client CPU µs/pair`, s.clientCpuMicros, 'lower', control),
      metric(`${name} server CPU µs/pair`, s.serverCpuMicros, 'lower', control),
    ];
  });
}

/** The CPU steal a benchmark recorded for its run, in percent (null if it did not). */
export function recordedSteal(json: unknown): number | null {
  if (!isObject(json)) return null;
  const v = isObject(json.summary) ? json.summary.cpuStealPercent : json.cpuStealPercent;
  return typeof v === 'number' ? v : null;
}
