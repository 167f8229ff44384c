/**
 * `npm run bench:figure16`: reproduces Figure 16 of the Raft paper ("In Search of an
 * Understandable Consensus Algorithm (Extended Version)", §9.3) on the deterministic
 * simulator — the time to detect and replace a crashed leader in a five-node cluster,
 * for ten election-timeout ranges, 1000 trials each, each trial a fresh seed.
 *
 *     npm run bench:figure16
 *     npm run bench:figure16 -- --trials 200 --ranges 150-155,12-24 --configs paper
 *
 * Options:
 *   --trials N         trials per range (default 1000)
 *   --seed S           first seed (default 1); trial i uses seed S+i, the same in every range
 *   --workers W        worker processes (default: one per CPU)
 *   --ranges a-b,...   only these timeout ranges (default: the paper's ten)
 *   --configs ...      paper (no PreVote/CheckQuorum, as in the paper), defaults (rxraft's
 *                      defaults: PreVote and CheckQuorum on), or both (default)
 *   --delay MIN-MAX    one-way network delay in ms (default 1-2)
 *   --sync MS          fsync latency of the simulated storage (default 12: with the delay, a
 *                      15 ms broadcast time for RPCs that persist, as the paper defines it)
 *   --give-up MS       a trial gives up waiting for a leader after this long (default 10000)
 *   --equal-logs       skip the paper's worst case of followers with different log lengths
 *   --svg PATH         where to write the plot (default docs/figure16.svg for a run with the
 *                      paper's setup, else next to the JSON)
 *   --replot FILE      print the tables and draw the plot again from a JSON file of an earlier
 *                      run, without simulating
 *
 * Prints a progress bar on stderr (when it is a terminal), then per configuration one
 * table per graph of the paper: median, mean, p99 and worst downtime per range beside the
 * figures the paper reports. Writes every trial to bench/results/figure16-<time>.json and
 * the cumulative distributions, drawn like the paper's figure, as SVG.
 *
 * All times are virtual: a run's numbers depend only on its options, never on the
 * machine. Wall-clock time is read here only, for the progress bar and the run time.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { TimeoutRange } from '../src/api';
import { seededRandom } from '../src/random';
import { compareWithPaper, formatFigure, formatMs, formatVerdict, PAPER_FIGURES, rangeLabel, summarize, Summary } from './figure16Stats';
import { FigureRow, PALETTE, Panel, renderFigure } from './figure16Svg';
import { CLUSTER_SIZE, PAPER_SETUP, runTrial, TrialConfig, TrialResult } from './figure16Trial';

/** The paper's top graph: how much randomness the timeout needs. */
const TOP: readonly TimeoutRange[] = [
  { min: 150, max: 150 },
  { min: 150, max: 151 },
  { min: 150, max: 155 },
  { min: 150, max: 175 },
  { min: 150, max: 200 },
  { min: 150, max: 300 },
];
/** The paper's bottom graph: how short the timeout can be (it also repeats 150–300). */
const BOTTOM: readonly TimeoutRange[] = [
  { min: 12, max: 24 },
  { min: 25, max: 50 },
  { min: 50, max: 100 },
  { min: 100, max: 200 },
];

/** The two protocol configurations compared. */
const CONFIGS = {
  paper: { title: 'PreVote off, CheckQuorum off (as in the paper)', preVote: false, checkQuorum: false },
  defaults: { title: "rxraft's defaults: PreVote on, CheckQuorum on", preVote: true, checkQuorum: true },
} as const;
type ConfigName = keyof typeof CONFIGS;

interface Args {
  trials: number;
  seed: number;
  workers: number;
  ranges: TimeoutRange[];
  configs: ConfigName[];
  delay: { min: number; max: number };
  sync: number;
  giveUp: number;
  equalLogs: boolean;
  svg: string | undefined;
  replot: string | undefined;
  worker: boolean;
}

const USAGE =
  'usage: npm run bench:figure16 -- [--trials N] [--seed S] [--workers W] [--ranges a-b,...] [--configs paper|defaults|both]\n' +
  '                                 [--delay MIN-MAX] [--sync MS] [--give-up MS] [--equal-logs] [--svg PATH] [--replot FILE]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    trials: 1000,
    seed: 1,
    workers: Math.max(1, os.availableParallelism()),
    ranges: [...TOP, ...BOTTOM],
    configs: ['paper', 'defaults'],
    delay: { ...PAPER_SETUP.delay },
    sync: PAPER_SETUP.syncDelay,
    giveUp: PAPER_SETUP.giveUpAfter,
    equalLogs: false,
    svg: undefined,
    replot: undefined,
    worker: false,
  };
  const number = (flag: string, text: string | undefined, min: number): number => {
    const n = Number(text);
    if (text === undefined || !Number.isFinite(n) || n < min) fail(`${flag} needs a number ≥ ${min}`);
    return n;
  };
  const range = (flag: string, text: string | undefined): { min: number; max: number } => {
    const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text ?? '');
    if (!m || Number(m[1]) > Number(m[2])) fail(`${flag} needs MIN-MAX, got ${text}`);
    return { min: Number(m[1]), max: Number(m[2]) };
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i];
    switch (flag) {
      case '--trials':
        args.trials = Math.floor(number(flag, value(), 1));
        break;
      case '--seed':
        args.seed = Math.floor(number(flag, value(), 0));
        break;
      case '--workers':
        args.workers = Math.floor(number(flag, value(), 1));
        break;
      case '--ranges':
        args.ranges = (value() ?? '').split(',').map((r) => range(flag, r));
        break;
      case '--configs': {
        const v = value();
        if (v === 'both') args.configs = ['paper', 'defaults'];
        else if (v === 'paper' || v === 'defaults') args.configs = [v];
        else fail(`--configs needs paper, defaults or both, got ${v}`);
        break;
      }
      case '--delay':
        args.delay = range(flag, value());
        break;
      case '--sync':
        args.sync = number(flag, value(), 0);
        break;
      case '--give-up':
        args.giveUp = number(flag, value(), 1);
        break;
      case '--equal-logs':
        args.equalLogs = true;
        break;
      case '--svg':
        args.svg = value();
        break;
      case '--replot':
        args.replot = value();
        break;
      case '--worker':
        args.worker = true;
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        return process.exit(0);
      default:
        fail(`unknown option ${flag}`);
    }
  }
  return args;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** Whether the run uses the paper's setup (so its plot may replace docs/figure16.svg). */
function isReferenceRun(args: Args): boolean {
  return (
    args.trials >= 1000 &&
    args.ranges.length === TOP.length + BOTTOM.length &&
    args.configs.length === 2 &&
    args.delay.min === PAPER_SETUP.delay.min &&
    args.delay.max === PAPER_SETUP.delay.max &&
    args.sync === PAPER_SETUP.syncDelay &&
    args.giveUp === PAPER_SETUP.giveUpAfter &&
    !args.equalLogs
  );
}

// ---------------------------------------------------------------------------------------
// Work distribution: chunks of seeds go to worker processes, results come back.

/** A chunk of trials for a worker. */
interface Job {
  readonly id: number;
  /** Where its results go: configuration name and range label. */
  readonly key: string;
  readonly config: TrialConfig;
  readonly seeds: readonly number[];
}

type WorkerReply =
  | { readonly id: number; readonly results: TrialResult[]; /** CPU time the chunk took. */ readonly cpuMs: number }
  | { readonly id: number; readonly error: string };

const CHUNK = 20;

/** The worker side: runs the chunks it is sent, one at a time, and replies. */
function serveAsWorker(): void {
  process.on('message', (job: Job) => {
    void (async () => {
      try {
        const cpu = process.cpuUsage();
        const results: TrialResult[] = [];
        for (const seed of job.seeds) results.push(await runTrial(seed, job.config));
        const used = process.cpuUsage(cpu);
        process.send!({ id: job.id, results, cpuMs: (used.user + used.system) / 1000 } satisfies WorkerReply);
      } catch (e) {
        process.send!({ id: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerReply);
      }
    })();
  });
}

/** Runs every job on `workers` child processes; `onDone` sees each finished chunk. */
async function runJobs(
  jobs: readonly Job[],
  workers: number,
  onDone: (job: Job, results: TrialResult[], cpuMs: number) => void,
): Promise<void> {
  const execArgv = __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : process.execArgv;
  const queue = [...jobs];
  const children: ChildProcess[] = [];
  try {
    await Promise.all(
      Array.from({ length: Math.min(workers, jobs.length) }, () => {
        const child = fork(__filename, ['--worker'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          let current: Job | undefined;
          const next = () => {
            current = queue.shift();
            if (current) child.send(current);
            else resolve();
          };
          child.on('message', (reply: WorkerReply) => {
            if ('error' in reply) return reject(new Error(`worker failed on seeds ${current?.seeds[0]}..: ${reply.error}`));
            onDone(current!, reply.results, reply.cpuMs);
            next();
          });
          child.on('exit', (code) => current && reject(new Error(`worker exited (code ${code}) during seeds ${current.seeds[0]}..`)));
          next();
        });
      }),
    );
  } finally {
    for (const child of children) child.kill();
  }
}

// ---------------------------------------------------------------------------------------
// Progress bar (stderr, only on a terminal).

class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = Date.now();
  private last = 0;
  private done = 0;

  constructor(private readonly total: number) {}

  add(n: number): void {
    this.done += n;
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.last < 100 && this.done < this.total) return;
    this.last = now;
    const fraction = this.done / this.total;
    const width = 30;
    const filled = Math.round(fraction * width);
    const elapsed = (now - this.started) / 1000;
    const eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} trials ` +
        `${elapsed.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left   `,
    );
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

// ---------------------------------------------------------------------------------------
// Output.

/** Results of one (configuration, range). */
interface RangeResult {
  readonly range: TimeoutRange;
  readonly label: string;
  readonly elected: Summary;
  readonly committed: Summary;
  readonly trials: TrialResult[];
}

function summarizeRange(range: TimeoutRange, trials: TrialResult[], giveUp: number): RangeResult {
  const sorted = [...trials].sort((a, b) => a.seed - b.seed);
  const measured = (pick: (t: TrialResult) => number | null) => sorted.map((t) => (t.unstable ? undefined : pick(t)));
  return {
    range,
    label: rangeLabel(range),
    elected: summarize(measured((t) => t.electedMs), giveUp),
    committed: summarize(measured((t) => t.committedMs), giveUp),
    trials: sorted,
  };
}

/** A markdown table of one graph's ranges. */
function table(results: readonly RangeResult[]): string {
  const header = ['range (ms)', 'median', 'mean', 'p99', 'worst', 'no leader', '1st write p50', 'paper', 'at/below paper'];
  const rows = results.map((r) => {
    const s = r.elected;
    const verdicts = compareWithPaper(r.label, s);
    const unstable = s.unstable > 0 ? ` (${s.unstable} unstable)` : '';
    return [
      `${r.range.min}–${r.range.max}${unstable}`,
      formatMs(s.median, s.giveUpAfter),
      formatMs(s.mean, s.giveUpAfter, s.censored > 0),
      formatMs(s.p99, s.giveUpAfter),
      formatMs(s.worst, s.giveUpAfter),
      `${s.censored}/${s.n}`,
      formatMs(r.committed.median, r.committed.giveUpAfter),
      verdicts.map((v) => formatFigure(v.figure)).join(', ') || '–',
      verdicts.map((v) => formatVerdict(v)).join(', ') || '–',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * The network's round trip as the trials see it, by sampling the configured delay:
 * one request/response, and a broadcast (all four peers answer), each with and without
 * an fsync at the receiver (a vote is persisted before the reply; a heartbeat is not).
 */
function roundTrips(delay: { min: number; max: number }, sync: number): { one: number; broadcast: number; oneFsync: number; broadcastFsync: number } {
  const random = seededRandom(12345);
  const d = () => delay.min + random() * (delay.max - delay.min);
  const samples = 100_000;
  let one = 0;
  let broadcast = 0;
  for (let i = 0; i < samples; i++) {
    const trips = Array.from({ length: CLUSTER_SIZE - 1 }, () => d() + d());
    one += trips[0];
    broadcast += Math.max(...trips);
  }
  return { one: one / samples, broadcast: broadcast / samples, oneFsync: one / samples + sync, broadcastFsync: broadcast / samples + sync };
}

/** The SVG: the paper's two graphs (rows) for each configuration (columns). */
function figure(args: Args, results: Map<ConfigName, RangeResult[]>, setup: string[]): string {
  const colorOf = new Map<string, string>();
  const rowRanges = [TOP, [...BOTTOM, { min: 150, max: 300 }]];
  for (const ranges of rowRanges) ranges.forEach((r, i) => colorOf.set(`${rowRanges.indexOf(ranges)}:${rangeLabel(r)}`, PALETTE[i % PALETTE.length]));
  const rows: FigureRow[] = rowRanges.map((ranges, row) => {
    const legend = ranges
      .filter((r) => args.configs.some((c) => results.get(c)!.some((x) => x.label === rangeLabel(r))))
      .map((r) => ({ label: `${r.min}–${r.max} ms`, color: colorOf.get(`${row}:${rangeLabel(r)}`)! }));
    const panels: Panel[] = args.configs.map((config) => {
      const series = ranges
        .map((r) => results.get(config)!.find((x) => x.label === rangeLabel(r)))
        .filter((x): x is RangeResult => x !== undefined && x.elected.n > 0)
        .map((x) => ({
          label: x.label,
          color: colorOf.get(`${row}:${x.label}`)!,
          values: x.trials.filter((t) => !t.unstable && t.electedMs !== null).map((t) => t.electedMs!),
          total: x.elected.n,
          tooltip:
            `${x.range.min}–${x.range.max} ms: median ${formatMs(x.elected.median, args.giveUp)}, ` +
            `p99 ${formatMs(x.elected.p99, args.giveUp)}, worst ${formatMs(x.elected.worst, args.giveUp)}, ` +
            `${x.elected.n} trials${x.elected.unstable ? ` (+${x.elected.unstable} without a stable leader)` : ''}`,
        }));
      const marks = ranges.flatMap((r) =>
        (PAPER_FIGURES[rangeLabel(r)] ?? [])
          .filter((f) => !f.atLeast && f.stat !== 'mean')
          .map((f) => ({
            x: f.ms,
            y: f.stat === 'median' ? 0.5 : 1,
            color: colorOf.get(`${row}:${rangeLabel(r)}`)!,
            label: `paper, ${r.min}–${r.max} ms: ${formatFigure(f)} ms`,
          })),
      );
      // What a line cannot show: trials that never elected a leader, or had none to crash.
      const notes = ranges.flatMap((r) => {
        const x = results.get(config)!.find((y) => y.label === rangeLabel(r));
        if (!x) return [];
        const color = colorOf.get(`${row}:${x.label}`)!;
        const total = x.trials.length;
        const parts: string[] = [];
        if (x.elected.censored > 0) parts.push(`no leader within ${formatMs(args.giveUp)} in ${x.elected.censored} of ${x.elected.n} trials`);
        if (x.elected.unstable > 0) parts.push(`${x.elected.unstable} of ${total} unstable`);
        const out = parts.length > 0 ? [{ color, text: `${r.min}–${r.max} ms: ${parts.join('; ')}` }] : [];
        return out;
      });
      return row === 0
        ? { series, marks, notes, x: { scale: 'log', min: 100, max: 100_000, ticks: [100, 1000, 10_000, 100_000] }, giveUpAfter: args.giveUp }
        : { series, marks, notes, x: { scale: 'linear', min: 0, max: 600, ticks: [0, 100, 200, 300, 400, 500, 600] }, giveUpAfter: args.giveUp };
    });
    return {
      title: row === 0 ? 'Top: randomness of the election timeout (log scale, as in the paper)' : 'Bottom: scale of the election timeout (150–300 repeated from the top)',
      panels,
      legend,
    };
  });
  return renderFigure({
    title: `Figure 16 on rxraft: time to detect and replace a crashed leader (${CLUSTER_SIZE} nodes, ${args.trials} trials per line)`,
    subtitle: setup,
    columns: args.configs.map((c) => CONFIGS[c].title),
    rows,
    footer: [
      `Each line: the trials of one election timeout range (one fresh seed each); a line below 100% at the right edge has trials with no leader within ${formatMs(args.giveUp)}.`,
      '"Unstable": a trial in which no leader kept office long enough to be crashed; it is left out of the line and of the percentages.',
    ],
  });
}

/** Everything a report needs: what was run, and what every trial measured. */
interface Run {
  readonly args: Args;
  /** Per configuration and range (key `config/range`), the trials. */
  readonly trials: Map<string, TrialResult[]>;
  readonly wallSeconds: number;
  readonly cpuMs: Map<string, number>;
}

const runKey = (name: ConfigName, range: TimeoutRange) => `${name}/${rangeLabel(range)}`;

function trialConfigBase(args: Args): Omit<TrialConfig, 'electionTimeout' | 'preVote' | 'checkQuorum'> {
  return { delay: args.delay, syncDelay: args.sync, giveUpAfter: args.giveUp, divergentLogs: !args.equalLogs };
}

/** Runs every trial the arguments ask for, on worker processes. */
async function runAll(args: Args): Promise<Run> {
  const seeds = Array.from({ length: args.trials }, (_, i) => args.seed + i);
  const jobs: Job[] = [];
  for (const name of args.configs) {
    for (const electionTimeout of args.ranges) {
      const config: TrialConfig = { ...trialConfigBase(args), electionTimeout, preVote: CONFIGS[name].preVote, checkQuorum: CONFIGS[name].checkQuorum };
      for (let i = 0; i < seeds.length; i += CHUNK) {
        jobs.push({ id: jobs.length, key: runKey(name, electionTimeout), config, seeds: seeds.slice(i, i + CHUNK) });
      }
    }
  }
  const trials = new Map<string, TrialResult[]>();
  const cpuMs = new Map<string, number>();
  const progress = new Progress(args.configs.length * args.ranges.length * args.trials);
  progress.add(0); // the bar appears while the workers start
  const started = Date.now();
  await runJobs(jobs, args.workers, (job, results, cpu) => {
    cpuMs.set(job.key, (cpuMs.get(job.key) ?? 0) + cpu);
    trials.set(job.key, [...(trials.get(job.key) ?? []), ...results]);
    progress.add(results.length);
  });
  progress.finish();
  return { args, trials, wallSeconds: (Date.now() - started) / 1000, cpuMs };
}

/** The JSON a run writes, read back (`--replot`): the same run, without re-simulating. */
function readRun(file: string, args: Args): Run {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v)) as SavedRun;
  const setup = json.setup;
  const replayed: Args = {
    ...args,
    trials: setup.trials,
    seed: setup.firstSeed,
    delay: setup.delay,
    sync: setup.syncDelay,
    giveUp: setup.giveUpAfter,
    equalLogs: !setup.divergentLogs,
    configs: json.configs.map((c) => c.name),
    ranges: json.configs[0]?.ranges.map((r) => r.range) ?? [],
    workers: json.workers,
  };
  const trials = new Map<string, TrialResult[]>();
  for (const c of json.configs) for (const r of c.ranges) trials.set(runKey(c.name, r.range), r.trials);
  return { args: replayed, trials, wallSeconds: json.wallSeconds, cpuMs: new Map(Object.entries(json.cpuMsByRange)) };
}

/** The shape of the JSON file (what `readRun` relies on). */
interface SavedRun {
  readonly setup: { trials: number; firstSeed: number; delay: { min: number; max: number }; syncDelay: number; giveUpAfter: number; divergentLogs: boolean };
  readonly wallSeconds: number;
  readonly cpuMsByRange: Record<string, number>;
  readonly workers: number;
  readonly configs: readonly { name: ConfigName; ranges: readonly { range: TimeoutRange; trials: TrialResult[] }[] }[];
}

/** Prints the tables; writes the JSON (unless replotting) and the SVG. */
function report(run: Run, replotOf?: string): void {
  const { args } = run;
  const results = new Map<ConfigName, RangeResult[]>();
  for (const name of args.configs) {
    results.set(
      name,
      args.ranges.map((range) => summarizeRange(range, run.trials.get(runKey(name, range)) ?? [], args.giveUp)),
    );
  }
  const rt = roundTrips(args.delay, args.sync);
  const setup = [
    `one-way delay uniform ${args.delay.min}–${args.delay.max} ms (round trip ${rt.one.toFixed(1)} ms on average; all 4 peers answered: ${rt.broadcast.toFixed(1)} ms), fsync ${args.sync} ms`,
    `heartbeat = half the minimum timeout; leader crashed uniformly within its heartbeat interval; ` +
      (args.equalLogs ? 'followers with equal logs' : "followers with logs of 4 different lengths (the paper's worst case)"),
  ];
  console.log(`\nFigure 16 (Raft paper §9.3) on rxraft's simulator: ${CLUSTER_SIZE} nodes, ${args.trials} trials per range (seeds ${args.seed}..${args.seed + args.trials - 1})`);
  for (const line of setup) console.log(`  ${line}`);
  console.log(
    `  downtime = crash → a survivor becomes leader (virtual ms); "1st write" = crash → a new leader's first entry commits;\n` +
      `  "no leader" = trials with none within ${formatMs(args.giveUp)} (counted as longer than all others); ` +
      `"unstable" = no leader kept office until the crash (excluded)`,
  );
  for (const name of args.configs) {
    const list = results.get(name)!;
    const top = list.filter((r) => TOP.some((t) => rangeLabel(t) === r.label));
    const bottom = list.filter((r) => !TOP.some((t) => rangeLabel(t) === r.label));
    console.log(`\n## ${CONFIGS[name].title}`);
    if (top.length > 0) console.log(`\nTop graph (randomness of the timeout)\n\n${table(top)}`);
    if (bottom.length > 0) console.log(`\nBottom graph (scale of the timeout)\n\n${table(bottom)}`);
  }
  const total = args.configs.length * args.ranges.length * args.trials;
  const costly = [...run.cpuMs].sort((a, b) => b[1] - a[1]).slice(0, 4);
  const cpuTotal = [...run.cpuMs.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\n${total} trials in ${run.wallSeconds.toFixed(1)} s wall time (${args.workers} worker${args.workers > 1 ? 's' : ''}, ${os.cpus().length} CPUs, node ${process.version})` +
      `${replotOf ? `, replotted from ${replotOf}` : ''}\n` +
      `simulation CPU ${(cpuTotal / 1000).toFixed(1)} s; costliest: ${costly.map(([k, ms]) => `${k} ${(ms / args.trials).toFixed(1)} ms/trial`).join(', ')}`,
  );

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const written: string[] = [];
  if (!replotOf) {
    const jsonPath = path.join(resultsDir, `figure16-${stamp}.json`);
    const json = {
      setup: { nodes: CLUSTER_SIZE, trials: args.trials, firstSeed: args.seed, ...trialConfigBase(args), heartbeatInterval: 'electionTimeout.min / 2', roundTrips: rt },
      wallSeconds: run.wallSeconds,
      cpuMsByRange: Object.fromEntries(run.cpuMs),
      node: process.version,
      cpus: os.cpus().length,
      workers: args.workers,
      configs: args.configs.map((name) => ({
        name,
        ...CONFIGS[name],
        ranges: results.get(name)!.map((r) => ({
          range: r.range,
          elected: r.elected,
          committed: r.committed,
          paper: compareWithPaper(r.label, r.elected),
          trials: r.trials,
        })),
      })),
    };
    fs.writeFileSync(jsonPath, JSON.stringify(json, (_k, v) => (v === Infinity ? 'Infinity' : v), 1));
    written.push(jsonPath);
  }
  const svgPath = args.svg ?? (isReferenceRun(args) ? path.join(__dirname, '..', 'docs', 'figure16.svg') : path.join(resultsDir, `figure16-${stamp}.svg`));
  fs.mkdirSync(path.dirname(svgPath), { recursive: true });
  fs.writeFileSync(svgPath, figure(args, results, setup));
  written.push(svgPath);
  console.log(`wrote ${written.map((p) => path.relative(process.cwd(), p)).join(' and ')}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) return serveAsWorker();
  if (args.replot) return report(readRun(args.replot, args), args.replot);
  report(await runAll(args));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
