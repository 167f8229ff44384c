import { config } from 'rxjs';
import type { SnapshotPolicy } from '../api';
import type { GroupId } from '../messages/groupId';
import type { NodeId } from '../messages/types';
import { seededRandom } from '../random';
import { PlantedBug, testHooksOf } from '../testHooks';
import type { TestCluster } from './cluster';
import { ALL_FAULT_CLASSES } from './faults/classes';
import type { FaultEvent } from './faults/context';
import { HostCluster } from './hostCluster';
import { settle } from './virtualClock';
import type { KvOperation } from './history';
import type { Violation } from './invariants';
import { checkLinearizability, LinearizabilityResult } from './linearizability';
import type { SimulationOptions } from './simulatorOptions';
import { DEFAULT_CLIENTS, DEFAULT_CLIENTS_PER_GROUP, GroupRun, mix, Run, setUpRun } from './simulatorSetup';
import type { KvWorkloadStats } from './workload';

export type { SimulationOptions } from './simulatorOptions';

/** What one simulated run found. */
export interface SimulationResult {
  readonly seed: number;
  /** The command line that replays this run (see `reproduceCommand`). */
  readonly command: string;
  readonly nodes: number;
  /** Raft groups per host (1: a cluster of plain nodes). */
  readonly groups: number;
  readonly steps: number;
  /** Every broken rule, in the order found (with several groups, each names its `group`); empty for a clean run. */
  readonly violations: readonly Violation[];
  /** The verdict on the clients' history (with several groups: the worst group's verdict, its key prefixed with the group, e.g. `g2/x`). */
  readonly linearizability: LinearizabilityResult;
  /**
   * The clients' history, in the JSONL format of `history.ts` (`formatHistory`). With
   * several groups, every group's history, each key prefixed with its group (`g2/x`):
   * the groups' keys stay apart, so the whole history checks as each group's does.
   */
  readonly history: readonly KvOperation[];
  /** What the clients did (summed over groups). */
  readonly ops: Readonly<KvWorkloadStats>;
  /** With several groups, what each found: its verdict and its clients' operations. */
  readonly perGroup: readonly GroupOutcome[];
  /** The faults injected, in order. */
  readonly faults: readonly FaultEvent[];
  /** Distinct (term, leader) pairs seen (summed over groups). */
  readonly elections: number;
  /** The snapshot policy the nodes ran with (null: no snapshots), and how many snapshots were restored. */
  readonly snapshots: { readonly policy: Partial<SnapshotPolicy> | null; readonly restores: number };
  /** The highest log index at which a command was applied (summed over groups). */
  readonly committed: number;
  /** Virtual time simulated (ms). */
  readonly virtualTime: number;
  /**
   * How long the liveness phase took, in virtual ms: from the end of the faults to a
   * leader every node follows (in every group), and from then to every client completing
   * an operation (null when it did not happen, or the phase did not run).
   */
  readonly recovery: { readonly leader: number | null; readonly requests: number | null };
}

/** One group's outcome in a run with several groups per host. */
export interface GroupOutcome {
  /** The group's id on its hosts: g1, g2, ... */
  readonly group: GroupId;
  readonly linearizability: LinearizabilityResult;
  readonly ops: Readonly<KvWorkloadStats>;
  /** How many violations name this group. */
  readonly violations: number;
}

const DEFAULTS = { nodes: 5, steps: 30, clients: DEFAULT_CLIENTS, livenessTimeout: 10000 };

/**
 * Runs one deterministic simulation: a cluster of real rxraft nodes on virtual time,
 * key-value clients proposing through it, and faults drawn from the seed — message
 * loss, duplication, reordering and delay, of every message or of chosen kinds (vote
 * grants, acknowledgements) only; symmetric, one-way and bridged partitions, and
 * one-way cuts chosen around the leader;
 * crashes losing unsynced writes, with restarts; paused nodes; leadership transfers;
 * removing a voter and adding it back. With `groups` above 1, each simulated process is
 * a host of that many Raft groups, and the faults strike hosts (see `HostCluster`);
 * every group is checked on its own, as one cluster is.
 *
 * 1. Fault phase: `steps` faults, each held for 20–400 ms (during some steps the clients
 *    go quiet). Safety invariants are checked after every virtual instant (see
 *    `SafetyMonitor`, `durabilityTap`); with snapshots, every state machine restored from
 *    one is compared with the state the log gives at its index. The phase ends early at
 *    the first violation.
 * 2. Liveness phase: every fault ends (heal, resume, restart, add removed voters back).
 *    Within `livenessTimeout` each, all nodes must agree on a leader, every client must
 *    complete an operation, and all nodes must apply the same commands (nothing
 *    committed is lost).
 * 3. The history is checked for linearizability. A search that runs out of budget is
 *    `'unknown'`, never `'ok'`, and is not a violation.
 *
 * The same options give the same run, bit for bit: `reproduceCommand` prints the
 * command line that replays it.
 *
 * @example
 * const result = await runSimulation({ seed: 42, nodes: 5, steps: 30 });
 * result.violations;              // [] when rxraft behaved
 * result.linearizability.verdict; // 'ok'
 * result.command;                 // 'npm run sim -- --seeds 1 --from 42 --nodes 5 --steps 30'
 * const hosts = await runSimulation({ seed: 7, nodes: 3, groups: 4 });
 * hosts.violations.map((v) => v.group); // [] when rxraft behaved; else e.g. ['g3']
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const seed = options.seed;
  const nodes = options.nodes ?? DEFAULTS.nodes;
  const steps = options.steps ?? DEFAULTS.steps;
  const bound = options.livenessTimeout ?? DEFAULTS.livenessTimeout;
  checkGroups(options);
  const run = setUpRun(options, nodes);
  const { groups } = run;
  const first = groups[0];
  const schedule = seededRandom(mix(seed, 3));
  const release = captureUnhandledErrors((e) => first.monitor.report('simulator-error', `unhandled: ${describe(e)}`));
  const recovery: Recovery = { leader: null, requests: null };
  if (options.plantedBug) plantBug(groups, options.plantedBug, options.plantedBugGroups);
  const hosts = run.target instanceof HostCluster ? { hosts: run.target } : {};
  options.inspect?.({ cluster: first.cluster, monitor: first.monitor, workload: first.workload, ...hosts });

  try {
    for (const g of groups) g.workload.start();
    await faultPhase(run, steps, schedule);
    if (clean(run)) await livenessPhase(run, bound, recovery);
    for (const g of groups) g.workload.stop();
    await run.stop();
    await settle(); // the rejections of the stop reach the workload
    for (const g of groups) g.workload.reportUnsettled();
  } catch (e) {
    first.monitor.report('simulator-error', describe(e));
  } finally {
    release();
  }
  for (const g of groups) {
    g.workload.finish();
    g.monitor.dispose();
    g.machinesSubscription.unsubscribe();
  }
  const verdicts = groups.map((g) => {
    const verdict = checkLinearizability(g.workload.history, { budget: options.linearizabilityBudget });
    if (verdict.verdict === 'violation') {
      g.monitor.report('linearizability', `the history of key ${JSON.stringify(verdict.key)} is not linearizable`);
    }
    return verdict;
  });
  return { seed, command: reproduceCommand(options), nodes, steps, ...outcome(run, verdicts), recovery };
}

/** Throws `RangeError` unless `groups` is a positive integer (or absent) and `plantedBugGroups` names only groups the run has. */
function checkGroups({ groups = 1, plantedBugGroups = [] }: SimulationOptions): void {
  if (!(Number.isSafeInteger(groups) && groups >= 1)) throw new RangeError(`groups must be a positive integer, got ${String(groups)}`);
  const ids = Array.from({ length: groups }, (_, i) => `g${i + 1}`);
  const unknown = groups > 1 ? plantedBugGroups.find((id) => !ids.includes(id)) : undefined;
  if (unknown !== undefined) throw new RangeError(`plantedBugGroups names ${unknown}, but the groups are g1..g${groups}`);
}

/** What the run found, from its groups: one group's as it is, several merged (violations named, keys prefixed). */
function outcome(run: Run, verdicts: readonly LinearizabilityResult[]): Omit<SimulationResult, 'seed' | 'command' | 'nodes' | 'steps' | 'recovery'> {
  const { groups, injector, clock, policy } = run;
  const common = { faults: injector.events, virtualTime: clock.now() };
  if (groups.length === 1) {
    const { monitor, workload } = groups[0];
    const snapshots = { policy, restores: monitor.restores };
    return { groups: 1, violations: monitor.violations, linearizability: verdicts[0], history: workload.history, ops: workload.stats, perGroup: [], elections: monitor.elections, snapshots, committed: monitor.highestApplied, ...common };
  }
  // A simulator error is the run's, whichever group's monitor recorded it.
  const named = (g: GroupRun) => g.monitor.violations.map((v) => (v.kind === 'simulator-error' ? v : { ...v, group: g.id }));
  const violations = groups.flatMap(named).sort((a, b) => a.at - b.at);
  const perGroup = groups.map((g, i) => ({ group: g.id!, linearizability: verdicts[i], ops: g.workload.stats, violations: g.monitor.violations.length }));
  const sum = (f: (g: GroupRun) => number) => groups.reduce((n, g) => n + f(g), 0);
  return {
    groups: groups.length,
    violations,
    linearizability: worstVerdict(perGroup),
    history: groups.flatMap((g) => g.workload.history.map((op) => ({ ...op, key: `${g.id}/${op.key}` }))),
    ops: sumStats(groups.map((g) => g.workload.stats)),
    perGroup,
    elections: sum((g) => g.monitor.elections),
    snapshots: { policy, restores: sum((g) => g.monitor.restores) },
    committed: sum((g) => g.monitor.highestApplied),
    ...common,
  };
}

/** The worst verdict of the groups ('violation', then 'unknown', then 'ok'), its key prefixed with its group; steps summed. */
function worstVerdict(groups: readonly GroupOutcome[]): LinearizabilityResult {
  const steps = groups.reduce((n, g) => n + g.linearizability.steps, 0);
  for (const verdict of ['violation', 'unknown'] as const) {
    const worst = groups.find((g) => g.linearizability.verdict === verdict);
    if (worst) return { verdict, key: `${worst.group}/${worst.linearizability.key}`, steps };
  }
  return { verdict: 'ok', steps };
}

function sumStats(all: readonly KvWorkloadStats[]): KvWorkloadStats {
  const total: KvWorkloadStats = { invoked: 0, ok: 0, indeterminate: 0, failed: 0, retries: 0, overloaded: 0 };
  for (const stats of all) for (const k of Object.keys(total) as (keyof KvWorkloadStats)[]) total[k] += stats[k];
  return total;
}

/** No group has broken a rule yet. */
function clean(run: Run): boolean {
  return run.groups.every((g) => g.monitor.violations.length === 0);
}

/** Checks every group's storage, its clients' calls for one unsettled too long and its leaders' logs for one past its limit (after each virtual instant). */
function checkInstant(run: Run): void {
  for (const g of run.groups) {
    g.monitor.checkStorage();
    g.workload.reportOverdue();
    g.bounds.check();
  }
}

/** `SimulationResult.recovery`, filled in as the liveness phase goes. */
interface Recovery {
  leader: number | null;
  requests: number | null;
}

/** Advances time until `done()` or `timeout` ms from now, checking storage at every instant; false on timeout. */
async function waitUntil(run: Run, done: () => boolean, timeout: number): Promise<boolean> {
  const clock = run.clock;
  const deadline = clock.now() + timeout;
  while (!done()) {
    if (clock.now() >= deadline) return false;
    await clock.advance(10, () => checkInstant(run));
  }
  return true;
}

/**
 * Phase 1: `steps` faults, each held 20–400 ms, the clients now and then quiet; ends at
 * the first violation. With several groups, the faults aimed at one group (a transfer, a
 * membership change, "the leader") take the groups in turn.
 */
async function faultPhase(run: Run, steps: number, schedule: () => number): Promise<void> {
  const { injector, target } = run;
  const keys = target.groupKeys;
  let quiet = false;
  for (let i = 0; i < steps && clean(run); i++) {
    if (keys) target.focusOn!(keys[i % keys.length]);
    injector.step();
    // Now and then the clients go quiet for a step: idle clusters behave differently
    // (a partitioned minority keeps an up-to-date log, so it can win elections).
    const wasQuiet: boolean = quiet;
    quiet = schedule() < (run.quiesce ? 0.3 : 0.15); // quiescing: quiet leaders are what the faults should strike
    if (quiet && !wasQuiet) for (const g of run.groups) g.workload.stop();
    if (!quiet && wasQuiet) for (const g of run.groups) g.workload.start();
    if (quiet !== wasQuiet) injector.note(quiet ? 'clients quiet' : 'clients busy');
    await run.clock.advance(20 + schedule() * 380, () => checkInstant(run));
  }
  if (quiet) for (const g of run.groups) g.workload.start();
}

/**
 * Phase 2: every fault ends; within `bound` ms each, the nodes of every group must agree
 * on a leader, every client must complete an operation, and all nodes must converge.
 */
async function livenessPhase(run: Run, bound: number, recovery: Recovery): Promise<void> {
  const { groups, injector, clock } = run;
  await injector.calm();
  const calmAt = clock.now();
  const settled = () => {
    injector.repairMembership();
    return injector.membershipComplete() && groups.every((g) => agreedLeader(g.cluster) !== null);
  };
  if (!(await waitUntil(run, settled, bound))) {
    reportStuck(run, (g) => agreedLeader(g.cluster) === null, (g) => `no leader all nodes (all voters again) agree on within ${bound} ms after the faults stopped (${describeStatuses(g.cluster)})`);
  } else {
    const since = clock.now();
    recovery.leader = since - calmAt;
    if (!(await waitUntil(run, () => groups.every((g) => g.workload.allCompletedSince(since)), bound))) {
      reportStuck(run, (g) => !g.workload.allCompletedSince(since), (g) => `not every client completed an operation within ${bound} ms of a leader being elected (${describeStatuses(g.cluster)})`);
    } else {
      recovery.requests = clock.now() - since;
    }
  }
  for (const g of groups) g.workload.stop();
  await waitUntil(run, () => groups.every((g) => g.workload.outstanding === 0), bound);
  if (!(await waitUntil(run, () => groups.every((g) => converged(g.cluster)), bound))) {
    reportStuck(run, (g) => !converged(g.cluster), (g) => `nodes did not converge within ${bound} ms after the workload stopped (${describeStatuses(g.cluster)})`);
  }
  for (const g of groups) g.monitor.checkConvergence();
}

/** Reports a liveness failure on each group `stuck` names (on the first group if none: a membership change that never completed). */
function reportStuck(run: Run, stuck: (g: GroupRun) => boolean, message: (g: GroupRun) => string): void {
  const named = run.groups.filter(stuck);
  for (const g of named.length > 0 ? named : [run.groups[0]]) g.monitor.report('liveness', message(g));
}

/**
 * The command line that replays a run exactly, for the options the CLI can express
 * (seed, nodes, steps, groups, clients, fault classes, snapshots, sessions, reads, entry runs, forwarding, commit notices). Planted
 * storage or transport faults are test code: replay those from the test.
 *
 * @example
 * reproduceCommand({ seed: 7, nodes: 3, steps: 40 }); // 'npm run sim -- --seeds 1 --from 7 --nodes 3 --steps 40'
 */
export function reproduceCommand(options: SimulationOptions): string {
  const parts = [`npm run sim -- --seeds 1 --from ${options.seed} --nodes ${options.nodes ?? DEFAULTS.nodes} --steps ${options.steps ?? DEFAULTS.steps}`];
  if ((options.groups ?? 1) !== 1) parts.push(`--groups ${options.groups}`);
  if (options.quiesce !== undefined && options.quiesce !== 'mixed') parts.push(`--quiesce ${options.quiesce}`);
  const clients = (options.groups ?? 1) === 1 ? DEFAULTS.clients : DEFAULT_CLIENTS_PER_GROUP;
  if (options.clients !== undefined && options.clients !== clients) parts.push(`--clients ${options.clients}`);
  if (options.faults && options.faults.join(',') !== ALL_FAULT_CLASSES.join(',')) parts.push(`--faults ${options.faults.join(',')}`);
  if (typeof options.snapshots === 'string' && options.snapshots !== 'mixed') parts.push(`--snapshots ${options.snapshots}`);
  if (options.workload?.sessions) parts.push(`--sessions ${options.workload.sessions}`);
  if (options.workload?.reads) parts.push(`--reads ${options.workload.reads}`);
  if (options.entryRuns !== undefined && options.entryRuns !== 'mixed') parts.push(`--entry-runs ${options.entryRuns}`);
  const nodeOptions = options.cluster?.nodeOptions as { forward?: boolean; eagerCommitNotices?: boolean } | undefined;
  if (nodeOptions?.forward === false) parts.push('--no-forward');
  if (nodeOptions?.eagerCommitNotices === false) parts.push('--lazy-commit-notices');
  if (options.linearizabilityBudget !== undefined) parts.push(`--budget ${options.linearizabilityBudget}`);
  if (options.readChecks === false) parts.push('--no-read-checks');
  if (options.plantedBug) parts.push(`--plant-bug ${options.plantedBug}`);
  return parts.join(' ');
}

/** Plants `bug` in every group, or (with several groups) in those `only` names. */
function plantBug(groups: readonly GroupRun[], bug: PlantedBug, only: readonly string[] | undefined): void {
  for (const g of groups) if (!only || g.id === undefined || only.includes(g.id)) plantInEveryNode(g.cluster, bug);
}

/** Plants `bug` in every running node now and in every node that starts later. */
function plantInEveryNode(cluster: TestCluster, bug: PlantedBug): void {
  for (const id of cluster.ids) if (cluster.isRunning(id)) testHooksOf(cluster.node(id)).plantBug(bug);
  cluster.started$.subscribe(({ node }) => testHooksOf(node).plantBug(bug));
}

/** The leader every running node follows in one term, if there is one. */
function agreedLeader(cluster: TestCluster): NodeId | null {
  const leader = cluster.leader();
  if (!leader) return null;
  const term = cluster.status(leader)!.term;
  for (const id of cluster.ids) {
    const s = cluster.status(id);
    if (!s || s.stopped || s.leaderId !== leader || s.term !== term) return null;
  }
  return leader;
}

/** Every node runs, agrees on the leader, and applied everything the leader committed. */
function converged(cluster: TestCluster): boolean {
  const leader = agreedLeader(cluster);
  if (!leader) return false;
  const commit = cluster.status(leader)!.commitIndex;
  const last = cluster.status(leader)!.lastIndex;
  if (commit < last) return false;
  return cluster.ids.every((id) => cluster.status(id)?.appliedIndex === commit);
}

function describeStatuses(cluster: TestCluster): string {
  return cluster.ids
    .map((id) => {
      const s = cluster.status(id);
      if (!s) return `${id}: down`;
      return `${id}: ${s.role} t${s.term} leader=${s.leaderId ?? '-'} commit=${s.commitIndex} applied=${s.appliedIndex} last=${s.lastIndex}${cluster.isPaused(id) ? ' paused' : ''}`;
    })
    .join('; ');
}

/** An error's name and message, and where it was thrown when a stack was captured. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const frames = (e.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 4);
  return `${e.name}: ${e.message}${frames.length > 0 ? ` (${frames.map((f) => f.trim()).join(' <- ')})` : ''}`;
}

/** RxJS reports errors thrown in subscribers asynchronously; route them to the running simulations. */
const unhandledHandlers = new Set<(e: unknown) => void>();
let previousOnUnhandledError: ((e: unknown) => void) | null = null;

function captureUnhandledErrors(handler: (e: unknown) => void): () => void {
  if (unhandledHandlers.size === 0) {
    previousOnUnhandledError = config.onUnhandledError;
    config.onUnhandledError = (e) => {
      for (const h of unhandledHandlers) h(e);
    };
  }
  unhandledHandlers.add(handler);
  return () => {
    unhandledHandlers.delete(handler);
    if (unhandledHandlers.size === 0) config.onUnhandledError = previousOnUnhandledError;
  };
}
