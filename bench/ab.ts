/**
 * A/B benchmark: two builds of rxraft measured in one run, alternating A, B, A, B, … so that
 * a change of the machine's load hits both alike. Made for targets such as "within 5% of
 * the code before the redesign" (issue 16).
 *
 *   npm run bench:ab -- --base e4fb380                         # A = e4fb380, B = this checkout as it is
 *   npm run bench:ab -- --base main --head wip --rounds 5 --suite transport
 *   npm run bench:ab -- --base e4fb380 --head HEAD --rounds 2 --quick
 *
 * Each revision is exported into a temporary directory and runs its own bench/cluster.ts
 * and/or bench/transport.ts with ts-node (bench/abCheckout.ts, bench/abRun.ts). Prints, per
 * metric, the median of A's rounds and of B's, B/A and each side's spread over the rounds
 * (bench/abStats.ts), the CPU steal, and writes a JSON summary under bench/results/.
 * Every run is bounded by --timeout (killed and reported when over it); the temporary
 * directories are removed at the end, also after an error or Ctrl-C.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Build, makeTempRoot, prepareBuild, removeTempRoot, repositoryRoot } from './abCheckout';
import { clusterMetrics, recordedSteal, transportMetrics } from './abMetrics';
import { AB_USAGE, AbOptions, AbUsageError, parseAbOptions, Suite, wantsHelp } from './abOptions';
import { benchCommand, runBench, tail } from './abRun';
import { compare, Comparison, formatTable, Metric, ratioNoise, TOLERANCE_PERCENT } from './abStats';
import { median } from './clusterStats';
import { cpuTimes, stealPercent } from './cpuSteal';

interface RunRecord {
  readonly round: number;
  readonly suite: Suite;
  readonly build: 'A' | 'B';
  readonly seconds: number;
  /** 'ok', or why the run gave no numbers. */
  readonly status: string;
  readonly cpuStealPercent: number | null;
  readonly metrics: Metric[];
  /** The benchmark's own JSON. */
  readonly result: unknown;
}

const controller = new AbortController();
let tempRoot: string | null = null;

function cleanUp(): void {
  if (tempRoot === null) return;
  removeTempRoot(tempRoot);
  tempRoot = null;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!controller.signal.aborted) {
      process.stderr.write(`\n${signal}: stopping the running benchmark, then removing the temporary directories (again to quit at once)\n`);
      controller.abort();
      return;
    }
    cleanUp();
    process.exit(130);
  });
}
process.on('exit', cleanUp);

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(AB_USAGE);
    return 0;
  }
  let o: AbOptions;
  try {
    o = parseAbOptions(argv);
  } catch (e) {
    if (!(e instanceof AbUsageError)) throw e;
    console.error(`${e.message}\n\n${AB_USAGE}`);
    return 2;
  }
  const repo = repositoryRoot(process.cwd());
  tempRoot = makeTempRoot();
  const tmpDir = path.join(tempRoot, 'tmp');
  fs.mkdirSync(tmpDir);
  try {
    const a = await prepareBuild(repo, o.base, 'A', tempRoot, controller.signal);
    const b = await prepareBuild(repo, o.head, 'B', tempRoot, controller.signal);
    printHeader(o, a, b);
    const startedAt = new Date();
    const cpuAtStart = cpuTimes();
    const loadAtStart = os.loadavg()[0];
    const runs: RunRecord[] = [];
    for (let round = 1; round <= o.rounds && !controller.signal.aborted; round++) {
      for (const suite of o.suites) {
        for (const build of [a, b]) {
          if (controller.signal.aborted) break;
          runs.push(await runOne(o, build, suite, round, tempRoot, tmpDir));
        }
      }
    }
    if (controller.signal.aborted) {
      console.error('interrupted: no summary');
      return 130;
    }
    const steal = stealPercent(cpuAtStart, cpuTimes());
    const comparisons = Object.fromEntries(o.suites.map((suite) => [suite, compareSuite(runs, suite)])) as Partial<Record<Suite, Comparison[]>>;
    printReport(o, runs, comparisons, steal, loadAtStart);
    const file = path.join(repo, 'bench', 'results', `ab-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const builds = [a, b].map(({ label, revision, commit, dependencies }) => ({ label, revision, commit, dependencies }));
    const noise = Object.fromEntries(Object.entries(comparisons).map(([suite, rows]) => [suite, ratioNoise(rows)]));
    fs.writeFileSync(
      file,
      JSON.stringify(
        { date: startedAt.toISOString(), node: process.version, cpus: os.cpus().length, options: o, builds, cpuStealPercent: steal, loadAverage: { start: loadAtStart, end: os.loadavg()[0] }, comparisons, noise, runs },
        null,
        2,
      ),
    );
    console.log(`\nsummary: ${path.relative(process.cwd(), file)}`);
    return runs.every((r) => r.status === 'ok') ? 0 : 1;
  } finally {
    cleanUp();
  }
}

function printHeader(o: AbOptions, a: Build, b: Build): void {
  const describe = (x: Build) => `${x.label} = ${x.revision}${x.commit ? ` (${x.commit.slice(0, 10)})` : ' (this checkout, uncommitted changes included)'}, dependencies: ${x.dependencies}`;
  console.log(describe(a));
  console.log(describe(b));
  if (a.lockfile !== b.lockfile) console.log('note: package-lock.json differs between A and B, so their dependencies may differ too');
  const commands = o.suites.map((s) => {
    const c = benchCommand(s, o.quick, o.clusterArgs);
    return `${Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join('')}ts-node ${c.script}${c.args.length ? ` ${c.args.join(' ')}` : ''}`;
  });
  console.log(`${o.rounds} round(s) of A then B: ${commands.join('; ')}`);
  console.log(`${o.rounds * o.suites.length * 2} runs, each killed after ${o.timeoutSeconds} s; load average now ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs\n`);
}

async function runOne(o: AbOptions, build: Build, suite: Suite, round: number, root: string, tmpDir: string): Promise<RunRecord> {
  const logFile = path.join(root, `${build.label}-${suite}-${round}.log`);
  const label = `round ${round}/${o.rounds} ${suite.padEnd(9)} ${build.label}`;
  process.stdout.write(`${label}: running… `);
  const run = await runBench({ dir: build.dir, suite, quick: o.quick, clusterArgs: o.clusterArgs, timeoutMs: o.timeoutSeconds * 1000, tmpDir, logFile, signal: controller.signal });
  let status = 'ok';
  let metrics: Metric[] = [];
  if (run.timedOut) status = `timed out after ${o.timeoutSeconds} s (killed)`;
  else if (run.aborted) status = 'interrupted';
  else if (run.error !== null) status = `could not start: ${run.error}`;
  else if (run.exitCode !== 0) status = `failed (exit ${run.exitCode ?? run.exitSignal})`;
  else if (run.json === null) status = 'wrote no result JSON';
  else {
    try {
      metrics = suite === 'cluster' ? clusterMetrics(run.json) : transportMetrics(run.json);
    } catch (e) {
      status = (e as Error).message;
    }
  }
  const steal = recordedSteal(run.json);
  console.log(`${run.seconds.toFixed(0)} s, ${status}${steal !== null ? `, CPU steal ${steal.toFixed(0)}%` : ''}`);
  if (status !== 'ok' && status !== 'interrupted') console.log(`  last lines of its output:\n${tail(logFile, 15).replace(/^/gm, '    ')}`);
  return { round, suite, build: build.label, seconds: run.seconds, status, cpuStealPercent: steal, metrics, result: run.json };
}

function compareSuite(runs: readonly RunRecord[], suite: Suite): Comparison[] {
  const of = (build: 'A' | 'B') => runs.filter((r) => r.suite === suite && r.build === build).map((r) => r.metrics);
  return compare(of('A'), of('B'));
}

function printReport(o: AbOptions, runs: readonly RunRecord[], comparisons: Partial<Record<Suite, Comparison[]>>, steal: number | null, loadAtStart: number): void {
  const titles: Record<Suite, string> = { cluster: 'bench/cluster.ts (npm run bench)', transport: 'bench/transport.ts (npm run bench:transport)' };
  for (const suite of o.suites) {
    const rows = comparisons[suite] ?? [];
    console.log(`\n${titles[suite]}${o.quick ? ', --quick' : ''}: medians of ${o.rounds} round(s); spread = (max − min) / median of the rounds`);
    console.log(rows.length ? formatTable(rows) : '(no numbers: no run of this suite finished)');
    const noise = ratioNoise(rows);
    if (noise.count) console.log(`distance of B/A from 1 over the ${noise.count} code metrics: median ${noise.medianPercent.toFixed(1)}%, largest ${noise.maxPercent.toFixed(1)}% (${noise.maxName})`);
    const seconds = (build: 'A' | 'B') => median(runs.filter((r) => r.suite === suite && r.build === build).map((r) => r.seconds));
    console.log(`one run takes ${seconds('A').toFixed(0)} s (A) / ${seconds('B').toFixed(0)} s (B), median`);
  }
  const recorded = (build: 'A' | 'B') => median(runs.filter((r) => r.build === build).map((r) => r.cpuStealPercent ?? NaN));
  console.log(
    `\nCPU steal during the A/B: ${steal === null ? 'unknown (no /proc/stat)' : `${steal.toFixed(0)}%`} of this machine's CPU time went to other guests of the host` +
      ` (per run, median: A ${fmt(recorded('A'))}%, B ${fmt(recorded('B'))}%); load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`,
  );
  console.log(`B counts as worse or better beyond ${TOLERANCE_PERCENT}%; a difference inside the rounds' spread, or one the controls show too, is noise.`);
  const failed = runs.filter((r) => r.status !== 'ok');
  if (failed.length) console.log(`runs without numbers: ${failed.map((r) => `round ${r.round} ${r.suite} ${r.build}: ${r.status}`).join('; ')}`);
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '-');

main().then(
  (code) => {
    cleanUp();
    process.exit(code);
  },
  (e) => {
    cleanUp();
    console.error(`bench:ab failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
