/**
 * Runs one benchmark of one build for the A/B harness (bench/ab.ts): the command line of
 * each suite (full or `--quick`), a child process bounded in time and killed with its whole
 * process group when over time or aborted, and the JSON the benchmark wrote.
 *
 * @example
 * const run = await runBench({ dir: '/tmp/rxraft-ab-x/a', suite: 'transport', quick: true, timeoutMs: 400_000,
 *                              tmpDir: '/tmp/rxraft-ab-x/tmp', logFile: '/tmp/rxraft-ab-x/a-transport-1.log', signal });
 * if (run.json) console.log(transportMetrics(run.json));
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Suite } from './abOptions';

/**
 * What each suite runs. Full: the benchmark's defaults, `npm run bench` (its phases that
 * compare revisions: floor, library, http, failover; not the side-by-side run against etcd)
 * and `npm run bench:transport`. Quick, through options the benchmarks already accept:
 * - cluster: 5 s per load level after 1 s warm-up (default 10 s), levels 1 and 64 (default
 *   1, 16, 64, 256), the raw HTTP client only (default raw and agent), 5 failovers (default 20);
 * - transport: one run of each scenario (default 3; the rounds repeat it), 3 s as by default.
 */
export function benchCommand(suite: Suite, quick: boolean, clusterArgs: readonly string[] | null = null): { script: string; args: string[]; env: Record<string, string> } {
  if (suite === 'cluster' && clusterArgs) return { script: 'bench/cluster.ts', args: [...clusterArgs], env: {} };
  if (suite === 'cluster') {
    const phases = ['--only', 'floor,library,http,failover'];
    return { script: 'bench/cluster.ts', args: quick ? [...phases, '--duration', '5', '--warmup', '1', '--levels', '1,64', '--http-client', 'raw', '--failovers', '5'] : phases, env: {} };
  }
  return { script: 'bench/transport.ts', args: [], env: quick ? { RUNS: '1', SECONDS: '3' } : {} };
}

export interface BoundedRun {
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly seconds: number;
  /** Why the command could not be started, if it could not. */
  readonly error: string | null;
}

/** Grace between SIGTERM (the benchmarks stop their nodes on it) and SIGKILL. */
const KILL_GRACE_MS = 10_000;

/**
 * Runs a command in its own process group, output appended to `logFile`; over `timeoutMs`
 * or on `signal`, the group gets SIGTERM and, `KILL_GRACE_MS` later, SIGKILL.
 */
export function runBounded(
  command: string,
  args: readonly string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; logFile: string; signal: AbortSignal },
): Promise<BoundedRun> {
  const started = process.hrtime.bigint();
  const log = fs.openSync(o.logFile, 'a');
  const child = spawn(command, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let timedOut = false;
  let aborted = false;
  let killer: NodeJS.Timeout | undefined;
  const stop = () => {
    signalGroup(child.pid, 'SIGTERM');
    killer ??= setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, o.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stop();
  };
  if (o.signal.aborted) onAbort();
  else o.signal.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolve) => {
    let finished = false;
    const done = (exitCode: number | null, exitSignal: NodeJS.Signals | null, error: Error | null = null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      o.signal.removeEventListener('abort', onAbort);
      // The benchmark's own children (cluster nodes, transport servers) share the group: none outlives the run.
      signalGroup(child.pid, 'SIGKILL');
      resolve({ exitCode, exitSignal, timedOut, aborted, seconds: Number(process.hrtime.bigint() - started) / 1e9, error: error?.message ?? null });
    };
    child.once('error', (e) => done(null, null, e));
    child.once('exit', done);
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

export interface BenchRun extends BoundedRun {
  /** The JSON the benchmark wrote (its newest new `<suite>-*.json`), or null if it wrote none. */
  readonly json: unknown;
  readonly resultFile: string | null;
}

/** Runs `suite` of the build in `dir` with that build's own benchmark script and ts-node. */
export async function runBench(o: {
  dir: string;
  suite: Suite;
  quick: boolean;
  /** The cluster suite's arguments instead of the default ones (`AbOptions.clusterArgs`). */
  clusterArgs: readonly string[] | null;
  timeoutMs: number;
  /** TMPDIR of the benchmark: its data directories land there, removed with the harness's own. */
  tmpDir: string;
  logFile: string;
  signal: AbortSignal;
}): Promise<BenchRun> {
  const resultsDir = path.join(o.dir, 'bench', 'results');
  const before = new Set(listResults(resultsDir, o.suite));
  const { script, args, env } = benchCommand(o.suite, o.quick, o.clusterArgs);
  // The transport benchmark reads its configuration from the environment: only ours counts.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !TRANSPORT_ENV.includes(k)));
  // The build's own ts-node binary, as `npx ts-node` would find it (npx itself would take
  // the benchmark's options for its own).
  const tsNode = path.join(o.dir, 'node_modules', '.bin', 'ts-node');
  const run = await runBounded(tsNode, ['--transpile-only', script, ...args], {
    cwd: o.dir,
    env: { ...inherited, ...env, TMPDIR: o.tmpDir },
    timeoutMs: o.timeoutMs,
    logFile: o.logFile,
    signal: o.signal,
  });
  const fresh = listResults(resultsDir, o.suite).filter((f) => !before.has(f));
  const resultFile = run.exitCode === 0 && fresh.length ? path.join(resultsDir, fresh.sort().at(-1)!) : null;
  return { ...run, resultFile, json: resultFile ? JSON.parse(fs.readFileSync(resultFile, 'utf8')) : null };
}

/** Environment variables bench/transport.ts reads. */
const TRANSPORT_ENV = ['RUNS', 'SECONDS', 'ONLY', 'HB_WINDOW', 'PROFILE'];

function listResults(dir: string, suite: Suite): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.startsWith(`${suite}-`) && f.endsWith('.json'));
  } catch {
    return [];
  }
}

/** The last `n` lines of a log, for a failed run's report. */
export function tail(file: string, n: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
