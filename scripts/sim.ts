/**
 * `npm run sim`: deterministic simulation sweeps of rxraft clusters.
 *
 *   npm run sim -- --seeds N [--from S] [--nodes 3|5] [--groups G] [--quiesce on|off|mixed] [--steps K] [--clients C]
 *                  [--faults network,late-messages,partition,one-way,bridge,isolate,crash,pause,transfer,membership,storage,disk-stall,lost-entries[,chunk-loss]]
 *                  [--snapshots on|off|mixed] [--sessions none|all|mixed] [--reads log|index|lease|mixed] [--entry-runs on|off|mixed] [--no-forward] [--lazy-commit-notices] [--no-read-checks]
 *                  [--plant-bug stale-lease|lost-vote|no-proposal-deadline|uncounted-leader-writes]
 *                  [--workers W] [--budget B] [--json] [--verbose] [--history FILE]
 *
 * Runs seeds S .. S+N-1 (each one a whole cluster, fault schedule and workload), over W
 * worker processes (default: one per CPU). Prints every failing seed with the command
 * that replays it exactly, and exits 1 if any seed broke a rule. `--json` prints a final
 * summary on stdout: { seeds, violations, nonLinearizable, unknown, ops, faults, ... }.
 * With one seed, `--verbose` prints the fault schedule and `--history FILE` writes the
 * clients' history (JSON Lines).
 *
 * `--groups G` (default 1: a cluster of plain nodes) makes each of the `--nodes`
 * processes a host of G Raft groups (`HostCluster`): faults strike hosts, and each
 * group has its own clients (`--clients`, default 2 per group), history and checks; a
 * failure names its group.
 *
 * Wall-clock time is read here only, for the progress bar and the rate.
 */
import { ChildProcess, fork } from 'child_process';
import { writeFileSync } from 'fs';
import { availableParallelism } from 'os';
import { formatHistory } from '../src/testing/history';
import { ALL_FAULT_CLASSES, FaultClass, OPT_IN_FAULT_CLASSES } from '../src/testing/faults/classes';
import { reproduceCommand, runSimulation, SimulationOptions, SimulationResult } from '../src/testing/simulator';

interface Args {
  seeds: number;
  from: number;
  nodes: number;
  groups: number;
  steps: number;
  clients: number | undefined;
  workers: number;
  budget: number | undefined;
  json: boolean;
  verbose: boolean;
  history: string | undefined;
  faults: FaultClass[] | undefined;
  sessions: 'none' | 'all' | 'mixed' | undefined;
  snapshots: 'on' | 'off' | 'mixed' | undefined;
  reads: 'log' | 'index' | 'lease' | 'mixed' | undefined;
  forward: boolean;
  /** Nodes run with `eagerCommitNotices: false` (as the KV example does). */
  lazyCommitNotices: boolean;
  readChecks: boolean;
  plantedBug: (typeof PLANTED_BUGS)[number] | undefined;
  quiesce: 'on' | 'off' | 'mixed' | undefined;
  entryRuns: 'on' | 'off' | 'mixed' | undefined;
  worker: boolean;
}

/** What a worker sends back per seed (small: histories stay in the worker). */
interface SeedReport {
  readonly seed: number;
  readonly violations: readonly { kind: string; at: number; message: string; group?: string }[];
  readonly verdict: 'ok' | 'violation' | 'unknown';
  readonly ops: number;
  readonly faults: number;
  /** Virtual ms from the end of the faults to an agreed leader, then to every client served. */
  readonly recovery: { readonly leader: number | null; readonly requests: number | null };
}

/** The bugs `--plant-bug` plants (see `SimulationOptions.plantedBug`). */
const PLANTED_BUGS = ['stale-lease', 'lost-vote', 'no-proposal-deadline', 'uncounted-leader-writes'] as const;

const USAGE = `usage: npm run sim -- --seeds N [--from S] [--nodes 3|5] [--groups G] [--quiesce on|off|mixed] [--steps K] [--clients C] [--faults ${[...ALL_FAULT_CLASSES, ...OPT_IN_FAULT_CLASSES].join(',')}]
         [--snapshots on|off|mixed] [--sessions none|all|mixed] [--reads log|index|lease|mixed] [--entry-runs on|off|mixed] [--no-forward] [--lazy-commit-notices] [--no-read-checks] [--plant-bug ${PLANTED_BUGS.join('|')}] [--workers W] [--budget B] [--json] [--verbose] [--history FILE]`;

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    seeds: 100,
    from: 1,
    nodes: 5,
    groups: 1,
    steps: 30,
    clients: undefined,
    workers: Math.max(1, availableParallelism()),
    budget: undefined,
    json: false,
    verbose: false,
    history: undefined,
    faults: undefined,
    sessions: undefined,
    snapshots: undefined,
    reads: undefined,
    forward: true,
    lazyCommitNotices: false,
    readChecks: true,
    plantedBug: undefined,
    quiesce: undefined,
    entryRuns: undefined,
    worker: false,
  };
  const oneOf = <T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T => {
    if (!allowed.includes(value as T)) fail(`--${name} needs one of ${allowed.join(', ')}`);
    return value as T;
  };
  const int = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) fail(`--${name} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seeds': args.seeds = int('seeds', argv[++i], 1); break;
      case '--from': args.from = int('from', argv[++i], 0); break;
      case '--nodes': args.nodes = int('nodes', argv[++i], 1); break;
      case '--groups': args.groups = int('groups', argv[++i], 1); break;
      case '--quiesce': args.quiesce = oneOf('quiesce', argv[++i], ['on', 'off', 'mixed'] as const); break;
      case '--steps': args.steps = int('steps', argv[++i], 0); break;
      case '--clients': args.clients = int('clients', argv[++i], 1); break;
      case '--workers': args.workers = int('workers', argv[++i], 1); break;
      case '--budget': args.budget = int('budget', argv[++i], 1); break;
      case '--json': args.json = true; break;
      case '--verbose': args.verbose = true; break;
      case '--history': args.history = argv[++i]; break;
      case '--faults': args.faults = (argv[++i] ?? '').split(',').map((f) => oneOf('faults', f, [...ALL_FAULT_CLASSES, ...OPT_IN_FAULT_CLASSES])); break;
      case '--snapshots': args.snapshots = oneOf('snapshots', argv[++i], ['on', 'off', 'mixed'] as const); break;
      case '--sessions': args.sessions = oneOf('sessions', argv[++i], ['none', 'all', 'mixed'] as const); break;
      case '--reads': args.reads = oneOf('reads', argv[++i], ['log', 'index', 'lease', 'mixed'] as const); break;
      case '--entry-runs': args.entryRuns = oneOf('entry-runs', argv[++i], ['on', 'off', 'mixed'] as const); break;
      case '--no-forward': args.forward = false; break;
      case '--lazy-commit-notices': args.lazyCommitNotices = true; break;
      case '--no-read-checks': args.readChecks = false; break;
      case '--plant-bug': args.plantedBug = oneOf('plant-bug', argv[++i], PLANTED_BUGS); break;
      case '--worker': args.worker = true; break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: fail(`unknown argument ${a}`);
    }
  }
  return args;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function options(args: Args, seed: number): SimulationOptions {
  return {
    seed,
    nodes: args.nodes,
    groups: args.groups === 1 ? undefined : args.groups,
    quiesce: args.quiesce,
    steps: args.steps,
    clients: args.clients,
    faults: args.faults,
    snapshots: args.snapshots,
    linearizabilityBudget: args.budget,
    workload: { sessions: args.sessions, reads: args.reads },
    cluster: args.forward && !args.lazyCommitNotices ? undefined : { nodeOptions: { ...(args.forward ? {} : { forward: false }), ...(args.lazyCommitNotices ? { eagerCommitNotices: false } : {}) } },
    readChecks: args.readChecks ? undefined : false,
    plantedBug: args.plantedBug,
    entryRuns: args.entryRuns,
  };
}

function simulate(args: Args, seed: number): Promise<SimulationResult> {
  return runSimulation(options(args, seed));
}

function toReport(r: SimulationResult): SeedReport {
  return {
    seed: r.seed,
    violations: r.violations.map((v) => ({ kind: v.kind, at: v.at, message: v.message, group: v.group })),
    verdict: r.linearizability.verdict,
    ops: r.ops.invoked,
    faults: r.faults.length,
    recovery: r.recovery,
  };
}

/** Worker process: runs the seeds the parent sends, one at a time, and reports each. */
function runWorker(args: Args): void {
  // Nodes create many errors (rejected proposals); their stacks are never looked at in a
  // sweep and capturing them costs ~5% of the run. A repro with --verbose keeps them.
  Error.stackTraceLimit = 0;
  process.on('message', async (seed: number) => {
    if (seed < 0) process.exit(0);
    let report: SeedReport;
    try {
      report = toReport(await simulate(args, seed));
    } catch (e) {
      report = { seed, violations: [{ kind: 'simulator-error', at: 0, message: String(e) }], verdict: 'unknown', ops: 0, faults: 0, recovery: { leader: null, requests: null } };
    }
    process.send!(report);
  });
}

/** Hands seeds to worker processes (or runs them here) and collects the reports in any order. */
async function sweep(args: Args, onReport: (r: SeedReport) => void): Promise<void> {
  const seeds = Array.from({ length: args.seeds }, (_, i) => args.from + i);
  const workers = Math.min(args.workers, seeds.length);
  if (workers <= 1) {
    Error.stackTraceLimit = 0;
    for (const seed of seeds) onReport(toReport(await simulate(args, seed)));
    return;
  }
  let next = 0;
  const forward = process.argv.slice(2).filter((a) => a !== '--json' && a !== '--verbose');
  await Promise.all(
    Array.from({ length: workers }, () => {
      const child: ChildProcess = fork(__filename, [...forward, '--worker'], {
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      return new Promise<void>((resolve, reject) => {
        const feed = () => child.send(next < seeds.length ? seeds[next++] : -1);
        child.on('message', (r: SeedReport) => {
          onReport(r);
          feed();
        });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
        feed();
      });
    }),
  );
}

function progress(done: number, total: number, bad: number, startedAt: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  const minutes = (performance.now() - startedAt) / 60000;
  const rate = minutes > 0 ? Math.round(done / minutes) : 0;
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${bad} failing, ${rate} seeds/min `);
  if (done === total) process.stderr.write('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) return runWorker(args);

  if (args.seeds === 1 && (args.verbose || args.history)) {
    const r = await simulate(args, args.from);
    if (args.verbose) {
      console.log(`seed ${r.seed}: ${r.nodes} ${r.groups > 1 ? `hosts of ${r.groups} groups` : 'nodes'}, ${r.steps} steps, ${r.virtualTime.toFixed(0)} virtual ms, ${r.elections} leaders, ${r.committed} entries applied`);
      console.log(`ops: ${JSON.stringify(r.ops)}; linearizability: ${r.linearizability.verdict} (${r.linearizability.steps} steps)`);
      console.log(`snapshots: ${r.snapshots.policy ? JSON.stringify(r.snapshots.policy) : 'off'}, ${r.snapshots.restores} restored`);
      console.log(`recovery after the faults: leader in ${r.recovery.leader?.toFixed(1) ?? '-'} ms, every client served ${r.recovery.requests?.toFixed(1) ?? '-'} ms later`);
      for (const f of r.faults) console.log(`  ${f.at.toFixed(1).padStart(8)} ms  ${f.action}`);
    }
    if (args.history) writeFileSync(args.history, formatHistory(r.history));
    for (const v of r.violations) console.log(`  VIOLATION ${v.kind}${v.group ? ` in group ${v.group}` : ''} at ${v.at.toFixed(1)} ms: ${v.message}`);
    process.exitCode = r.violations.length > 0 ? 1 : 0;
    return;
  }

  const startedAt = performance.now();
  const summary = {
    seeds: 0,
    violations: 0,
    nonLinearizable: 0,
    unknown: 0,
    ops: 0,
    faults: 0,
    failingSeeds: [] as number[],
    /** Seeds whose history the linearizability checker could not decide within its budget (retry them with a larger --budget). */
    unknownSeeds: [] as number[],
    seedsPerMinute: 0,
    /** The slowest recoveries seen (virtual ms): to a leader after the faults, then to every client served. */
    maxRecovery: { leader: 0, requests: 0 },
  };
  await sweep(args, (r) => {
    summary.seeds++;
    summary.ops += r.ops;
    summary.faults += r.faults;
    summary.maxRecovery.leader = Math.max(summary.maxRecovery.leader, r.recovery.leader ?? 0);
    summary.maxRecovery.requests = Math.max(summary.maxRecovery.requests, r.recovery.requests ?? 0);
    if (r.verdict === 'violation') summary.nonLinearizable++;
    if (r.verdict === 'unknown') {
      summary.unknown++;
      summary.unknownSeeds.push(r.seed);
    }
    if (r.violations.length > 0) {
      summary.violations++;
      summary.failingSeeds.push(r.seed);
      if (process.stderr.isTTY) process.stderr.write('\n');
      const first = r.violations[0];
      const more = r.violations.length > 1 ? ` (+${r.violations.length - 1} more)` : '';
      const out = args.json ? console.error : console.log;
      const group = first.group ? ` in group ${first.group}` : '';
      out(`FAIL seed ${r.seed}: ${first.kind}${group} at ${first.at.toFixed(1)} ms: ${first.message}${more}`);
      out(`  reproduce: ${reproduceCommand(options(args, r.seed))} --verbose`);
    }
    progress(summary.seeds, args.seeds, summary.violations, startedAt);
  });
  summary.failingSeeds.sort((a, b) => a - b);
  const minutes = (performance.now() - startedAt) / 60000;
  summary.seedsPerMinute = Math.round(summary.seeds / minutes);
  if (args.json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(
      `${summary.seeds} seeds (${args.nodes} ${args.groups > 1 ? `hosts x ${args.groups} groups` : 'nodes'}, ${args.steps} steps): ${summary.violations} failing, ${summary.nonLinearizable} non-linearizable, ${summary.unknown} unknown; ${summary.ops} ops, ${summary.faults} faults; slowest recovery ${summary.maxRecovery.leader.toFixed(0)} ms to a leader + ${summary.maxRecovery.requests.toFixed(0)} ms to serve every client; ${summary.seedsPerMinute} seeds/min`,
    );
  }
  process.exitCode = summary.violations > 0 ? 1 : 0;
}

process.on('unhandledRejection', (e) => {
  console.error('unhandled rejection:', e);
  process.exit(3);
});

main().catch((e) => {
  console.error(e);
  process.exit(3);
});
