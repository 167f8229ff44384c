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
  /** Acknowledged (committed and applied) writes. */
  readonly writes: number;
  readonly writesPerSec: number;
  readonly latencyMs: LatencySummary;
  /** Failed writes, by error name. */
  readonly errors: Record<string, number>;
  /** Extra counters (fsyncs, frames, ...), when the generator can see them. */
  readonly counters?: Record<string, number>;
}

/** Now, in milliseconds, from a monotonic clock (`performance.now()`: a number, where `process.hrtime.bigint()` made two BigInts per timed call in the load generators). */
export const nowMs = (): number => performance.now();

/** Proposers `closedLoop` starts per event-loop turn. */
export const START_PER_TURN = 16;

/** Runs `concurrency` loops of `op` for `durationMs` after `warmupMs`, timing each call; the loops start `START_PER_TURN` per turn. */
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
  let progressAt = start;
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const t = nowMs();
      if (t >= end) return;
      try {
        await op(w, i);
        const after = nowMs();
        if (t >= measureFrom && after <= end) {
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
  return { concurrency, seconds, writes, writesPerSec: writes / seconds, latencyMs: samples.summary(), errors };
}
