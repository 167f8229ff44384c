/**
 * With `RXRAFT_BENCH_TRACE=1`, a benchmark node writes to stderr — which the benchmark
 * prints as `[id] …` — every role its node takes, every stall of its event loop over
 * `stallMs`, and every election report (`RaftNode.elections$`: why it campaigned, granted
 * a vote or stopped leading), each with the milliseconds since the trace began. It tells
 * which side starts a leader change under load: a leader stepping down (CheckQuorum)
 * after its followers' loops stalled, or a follower campaigning after the leader's did.
 *
 *   RXRAFT_BENCH_TRACE=1 npm run bench -- --only library --levels 1024 --duration 8
 *
 * @example
 * const stop = traceRolesAndStalls(node.role$, node.elections$);
 * // stderr: "trace t=243 ms role leader", "trace t=8666 ms event loop stalled 239 ms",
 * // 'trace t=8667 ms election {"kind":"campaign","preVote":true,…}'
 * stop();
 */
import { EMPTY, Observable } from 'rxjs';

export interface TraceOptions {
  /** A stall is reported when the loop was away this long beyond the sampling interval. */
  readonly stallMs: number;
  /** How often the loop is sampled, ms. */
  readonly everyMs: number;
  readonly write: (line: string) => void;
  readonly now: () => number;
  readonly every: (ms: number, tick: () => void) => () => void;
}

const DEFAULTS: TraceOptions = {
  stallMs: 80,
  everyMs: 10,
  write: (line) => process.stderr.write(`${line}\n`),
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Starts tracing; returns what stops it. */
export function traceRolesAndStalls(role$: Observable<string>, elections$: Observable<object> = EMPTY, given: Partial<TraceOptions> = {}): () => void {
  const o = { ...DEFAULTS, ...given };
  const start = o.now();
  const roles = role$.subscribe((role) => o.write(`trace t=${o.now() - start} ms role ${role}`));
  const elections = elections$.subscribe((report) => o.write(`trace t=${o.now() - start} ms election ${JSON.stringify(report)}`));
  let last = o.now();
  const stopSampling = o.every(o.everyMs, () => {
    const now = o.now();
    const away = now - last - o.everyMs;
    if (away > o.stallMs) o.write(`trace t=${now - start} ms event loop stalled ${away} ms`);
    last = now;
  });
  return () => {
    roles.unsubscribe();
    elections.unsubscribe();
    stopSampling();
  };
}

/** Whether the environment asks benchmark nodes to trace (`RXRAFT_BENCH_TRACE=1`). */
export const traceWanted = (env: NodeJS.ProcessEnv = process.env): boolean => env.RXRAFT_BENCH_TRACE === '1';
