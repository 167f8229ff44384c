/**
 * With `RXRAFT_BENCH_TRACE=1`, a benchmark node writes to stderr — which the benchmark
 * prints as `[id] …` — every role its node takes, every stall of its event loop over
 * `stallMs`, and every election report (`RaftNode.elections$`: why it campaigned, granted
 * a vote or stopped leading), each with the milliseconds since the trace began. It tells
 * which side starts a leader change under load: a leader stepping down (CheckQuorum)
 * after its followers' loops stalled, or a follower campaigning after the leader's did.
 * On Linux a stall also says what the loop's thread did meanwhile (`/proc/thread-self/schedstat`
 * and GC entries): ran (a turn too long), of which GC, or waited for a CPU (the machine).
 *
 *   RXRAFT_BENCH_TRACE=1 npm run bench -- --only library --levels 1024 --duration 8
 *
 * @example
 * const stop = traceRolesAndStalls(node.role$, node.elections$);
 * // stderr: "trace t=243 ms role leader",
// "trace t=8666 ms event loop stalled 239 ms (ran 31 ms, gc 12 ms, waited for a CPU 201 ms; other threads ran 40 ms; steal 0 ms)",
 * // 'trace t=8667 ms election {"kind":"campaign","preVote":true,…}'
 * stop();
 */
import * as fs from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { EMPTY, Observable } from 'rxjs';

/**
 * What the event loop's own thread did, cumulative ms: ran on a CPU, waited in the run
 * queue for one, paused in GC; and what the process's other threads (V8's GC workers,
 * libuv's pool) ran.
 */
export interface ThreadTimes {
  readonly ranMs: number;
  readonly othersRanMs: number;
  readonly waitedMs: number;
  readonly gcMs: number;
  /** The machine's CPU time taken by the hypervisor for other guests (steal, all CPUs). */
  readonly stealMs: number;
}

export interface TraceOptions {
  /** A stall is reported when the loop was away this long beyond the sampling interval. */
  readonly stallMs: number;
  /** How often the loop is sampled, ms. */
  readonly everyMs: number;
  /**
   * Windows of this many ms (the benchmark's longest election timeout) in which the loop
   * was away `windowAwayMs` or more in all, in stalls of any length, are reported too: a
   * loop held in many short stalls silences a leader as surely as one long one.
   */
  readonly windowMs: number;
  readonly windowAwayMs: number;
  readonly write: (line: string) => void;
  readonly now: () => number;
  readonly every: (ms: number, tick: () => void) => () => void;
  /**
   * The loop thread's times so far, or undefined where unknown; a stall is then told
   * apart: `ran` ≈ the stall is a turn too long (`gc` of it in GC pauses), `waited` ≈ the
   * machine gave the CPU to others, neither ≈ the thread slept (a blocking call, or a GC
   * pause waiting for V8's worker threads: then `gc` is large and the others ran).
   */
  readonly thread: () => ThreadTimes | undefined;
}

/** Main-thread GC pause ms since the first call, from `gc` performance entries. */
let gcPauseMs: number | undefined;
function gcMsSoFar(): number {
  if (gcPauseMs === undefined) {
    gcPauseMs = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcPauseMs = (gcPauseMs ?? 0) + entry.duration;
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return gcPauseMs;
}

/** Steal of all CPUs so far, from `/proc/stat`'s first line (the 8th number, in USER_HZ = 10 ms ticks). */
function stealMsSoFar(): number {
  const first = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  return Number(first.trim().split(/\s+/)[8] ?? 0) * 10;
}

/** `/proc/thread-self/schedstat` (Linux): ns on a CPU, ns waiting in the run queue, slices. */
function linuxThreadTimes(): ThreadTimes | undefined {
  try {
    const [ran, waited] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    const cpu = process.cpuUsage();
    return { ranMs: ran / 1e6, othersRanMs: (cpu.user + cpu.system) / 1e3 - ran / 1e6, waitedMs: waited / 1e6, gcMs: gcMsSoFar(), stealMs: stealMsSoFar() };
  } catch {
    return undefined;
  }
}

const DEFAULTS: TraceOptions = {
  stallMs: 80,
  everyMs: 10,
  windowMs: 300,
  windowAwayMs: 150,
  write: (line) => process.stderr.write(`${line}\n`),
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  thread: linuxThreadTimes,
};

/** Starts tracing; returns what stops it. */
export function traceRolesAndStalls(role$: Observable<string>, elections$: Observable<object> = EMPTY, given: Partial<TraceOptions> = {}): () => void {
  const o = { ...DEFAULTS, ...given };
  const start = o.now();
  const roles = role$.subscribe((role) => o.write(`trace t=${o.now() - start} ms role ${role}`));
  const elections = elections$.subscribe((report) => o.write(`trace t=${o.now() - start} ms election ${JSON.stringify(report)}`));
  o.write(`trace t=0 ms started at ${start} (ms since the epoch: align the nodes' times with it)`);
  let last = o.now();
  let lastThread = o.thread();
  let windowStart = last;
  let windowThread = lastThread;
  let windowAway = 0;
  const stopSampling = o.every(o.everyMs, () => {
    const now = o.now();
    const thread = o.thread();
    const away = now - last - o.everyMs;
    if (away > o.stallMs) o.write(`trace t=${now - start} ms event loop stalled ${away} ms${spent(lastThread, thread)}`);
    windowAway += Math.max(0, away);
    if (now - windowStart >= o.windowMs) {
      if (windowAway >= o.windowAwayMs) o.write(`trace t=${now - start} ms event loop away ${windowAway} ms of the last ${now - windowStart} ms${spent(windowThread, thread)}`);
      windowStart = now;
      windowThread = thread;
      windowAway = 0;
    }
    last = now;
    lastThread = thread;
  });
  return () => {
    roles.unsubscribe();
    elections.unsubscribe();
    stopSampling();
  };
}

/** `" (ran 12 ms, gc 3 ms, waited for a CPU 180 ms)"`, or nothing when the times are unknown. */
function spent(before: ThreadTimes | undefined, after: ThreadTimes | undefined): string {
  if (before === undefined || after === undefined) return '';
  const ms = (x: number) => Math.round(x);
  const ran = after.ranMs - before.ranMs;
  const waited = after.waitedMs - before.waitedMs;
  return ` (ran ${ms(ran)} ms, gc ${ms(after.gcMs - before.gcMs)} ms, waited for a CPU ${ms(waited)} ms; other threads ran ${ms(after.othersRanMs - before.othersRanMs)} ms; steal ${ms(after.stealMs - before.stealMs)} ms)`;
}

/** Whether the environment asks benchmark nodes to trace (`RXRAFT_BENCH_TRACE=1`). */
export const traceWanted = (env: NodeJS.ProcessEnv = process.env): boolean => env.RXRAFT_BENCH_TRACE === '1';
