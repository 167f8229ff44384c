/** Latency samples and summaries for the cluster benchmark. */
import { createHistogram, performance } from 'node:perf_hooks';

/**
 * Latencies in milliseconds, counted in a histogram (Node's native HdrHistogram, 3
 * significant figures: percentiles within 0.1%) instead of kept and sorted. Sorting the
 * 5-6 million samples of a 30-second level at 256 proposers held the leader's event loop
 * for ~400 ms at the level's end, in the leader's own process, and its followers elected
 * another leader: a leader change the benchmark itself caused.
 */
export class Samples {
  private readonly histogram = createHistogram();
  private max = NaN;
  length = 0;

  add(ms: number): void {
    this.histogram.record(Math.max(1, Math.round(ms * 1e6))); // in nanoseconds, at least 1
    if (!(ms <= this.max)) this.max = ms;
    this.length++;
  }

  /** p50, p99, p99.9 and max, in ms (NaN without samples). */
  summary(): LatencySummary {
    if (this.length === 0) return { p50: NaN, p99: NaN, p999: NaN, max: NaN };
    const at = (p: number) => this.histogram.percentile(p) / 1e6;
    return { p50: at(50), p99: at(99), p999: at(99.9), max: this.max };
  }
}

export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}

/** What one load level measured. */
export interface LoadResult {
  readonly concurrency: number;
  readonly seconds: number;
  /** Acknowledged (committed and applied) writes that completed within the measured window, whenever they started. */
  readonly writes: number;
  readonly writesPerSec: number;
  /**
   * Every acknowledged write from the first start to the last completion, warm-up and the
   * drain after the window included: the writes a node's counters (CPU, GC, fsyncs) taken
   * around the whole run paid for. Absent in results written before it existed.
   */
  readonly acknowledged?: number;
  readonly latencyMs: LatencySummary;
  /** Failed writes, by error name. */
  readonly errors: Record<string, number>;
  /** Extra counters (fsyncs, frames, ...), when the generator can see them. */
  readonly counters?: Record<string, number>;
}

/** Now, in milliseconds, from a monotonic clock (`performance.now()`: a number, where `process.hrtime.bigint()` made two BigInts per timed call in the load generators). */
export const nowMs = (): number => performance.now();

/** Bytes of values the benchmark's store holds at most, over all its levels (`benchKey`). */
export const STORE_VALUE_BYTES = 128 << 20;

/**
 * The key of worker `w`'s `i`-th write at a level of `concurrency` writers of `valueBytes`:
 * `k<a>-<b>`, each worker cycling over its own keys, at most 1,024 of them and at most
 * `STORE_VALUE_BYTES` of values in all, numbered the same at every level. With values of
 * 100 B that is `k<w>-<i & 1023>` as before. With 64 KiB values, 1,024 keys per worker never
 * wrapped: every write added a key, the store grew by the whole level (~0.5-0.8 GiB per node)
 * and each level inherited the ones before it, so the last level (1,024 proposers) ran with
 * a store of ~2 GiB per node, paid for its mark-compacts and snapshots (the snapshot of a
 * 2 GiB store fell into that level), and was compared with levels that had not.
 *
 * @example
 * benchKey(3, 1029, 256, 100);    // 'k3-5'   (1,024 keys per worker)
 * benchKey(3, 1029, 256, 65536);  // 'k0-29'  (2,048 keys in all: 8 per worker)
 */
export function benchKey(w: number, i: number, concurrency: number, valueBytes: number): string {
  const perWorker = keysPerWorker(concurrency, valueBytes);
  return storeKey(w * perWorker + (i % perWorker));
}

/** Keys each of `concurrency` workers writes in turn (`benchKey`): 1,024, or fewer where the store's bound binds. */
export function keysPerWorker(concurrency: number, valueBytes: number): number {
  return Math.min(1024, Math.max(1, Math.floor(STORE_VALUE_BYTES / valueBytes / concurrency)));
}

/** The `n`-th key of the benchmark's store: `k<n / 1024>-<n % 1024>` (`benchKey`). */
export function storeKey(n: number): string {
  return `k${Math.floor(n / 1024)}-${n % 1024}`;
}

/** Proposers `closedLoop` starts per event-loop turn. */
export const START_PER_TURN = 16;

/**
 * Runs `concurrency` loops of `op` for `durationMs` after `warmupMs`, timing each call; the
 * loops start `START_PER_TURN` per turn. `writes` (and the latencies) are the calls that
 * completed inside the window, whenever they started: counting only those that also
 * started inside it left out about one latency's worth of the window, which at 1,024
 * proposers of 64 KiB (latency ~1 s) was an eighth of an 8 s level and at 16 almost
 * nothing, so the levels were not measured alike.
 */
export async function closedLoop(
  concurrency: number,
  warmupMs: number,
  durationMs: number,
  op: (worker: number, i: number) => Promise<unknown>,
  onProgress?: (done: number, elapsedMs: number) => void,
): Promise<Omit<LoadResult, 'counters'>> {
  const samples = new Samples();
  const errors: Record<string, number> = {};
  const start = nowMs();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let writes = 0;
  let acknowledged = 0;
  let progressAt = start;
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const t = nowMs();
      if (t >= end) return;
      try {
        await op(w, i);
        const after = nowMs();
        acknowledged++;
        if (after >= measureFrom && after <= end) {
          samples.add(after - t);
          writes++;
        }
        if (onProgress && after - progressAt > 200) {
          progressAt = after;
          onProgress(writes, Math.max(0, after - measureFrom));
        }
      } catch (e) {
        const name = e instanceof Error ? e.name : 'Error';
        errors[name] = (errors[name] ?? 0) + 1;
        // A failing cluster should not be hammered in a tight loop.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  // Proposers start a few per turn of the event loop, as clients arrive, not all in one
  // synchronous step: 1,024 proposers of 64 KiB each built 64 MiB of commands inside the
  // leader's process in one go and stalled it for 410 ms, which deposed it (issue 17).
  const running: Promise<void>[] = [];
  for (let w = 0; w < concurrency; w++) {
    if (w > 0 && w % START_PER_TURN === 0) await new Promise((r) => setImmediate(r));
    running.push(worker(w));
  }
  await Promise.all(running);
  const seconds = durationMs / 1000;
  return { concurrency, seconds, writes, writesPerSec: writes / seconds, acknowledged, latencyMs: samples.summary(), errors };
}
