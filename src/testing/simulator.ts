import { PlantedBug, testHooksOf } from '../testHooks';
import { config, SchedulerLike, Subscription, timer } from 'rxjs';
import type { NodeId } from '../messages/types';
import { seededRandom } from '../random';
import { TestCluster, TestClusterOptions } from './cluster';
import { ALL_FAULT_CLASSES, FaultClass, FaultEvent, FaultInjector } from './faults';
import { LateMessages } from './faultsMessages';
import { SendTriggers } from './faultsTriggers';
import type { KvOperation } from './history';
import { SafetyMonitor, Violation } from './invariants';
import { durabilityTap } from './invariantsWire';
import { checkLinearizability, LinearizabilityResult } from './linearizability';
import { KvWorkload, KvWorkloadOptions, KvWorkloadStats } from './workload';
import { SnapshotMachines } from './simulatorMachines';
import type { RaftNodeOptions, SnapshotPolicy } from '../api';

/** Options of `runSimulation`. Times are virtual milliseconds. */
export interface SimulationOptions {
  /** Decides everything: election timeouts, network, faults, clients. */
  readonly seed: number;
  /** Cluster size (default 5). */
  readonly nodes?: number;
  /** Faults injected before the liveness phase (default 30); each lasts 20–400 ms. */
  readonly steps?: number;
  /** Concurrent key-value clients (default 4). */
  readonly clients?: number;
  /** Workload settings: keys, mix, timeouts, which clients use sessions (default: every other one). */
  readonly workload?: Omit<KvWorkloadOptions, 'random' | 'clients' | 'onAnomaly' | 'onRead'>;
  /** Fault classes to inject (default all). */
  readonly faults?: readonly FaultClass[];
  /**
   * Snapshots and log compaction: `'on'` (a small policy drawn from the seed, so that
   * snapshots, compaction and InstallSnapshot happen often), `'off'`, `'mixed'` (the
   * seed decides; the default), or an explicit policy.
   */
  readonly snapshots?: 'on' | 'off' | 'mixed' | Partial<SnapshotPolicy>;
  /** Longest the cluster may take, once faults stop, for each liveness stage (default 10000). */
  readonly livenessTimeout?: number;
  /** Search steps per key for the linearizability check (default the checker's). */
  readonly linearizabilityBudget?: number;
  /** Options passed to the cluster: faulty storage or transport for tests, node options. */
  readonly cluster?: Pick<TestClusterOptions, 'storage' | 'transport' | 'nodeOptions' | 'nodeOptionsFor' | 'syncDelay'>;
  /**
   * Check on the wire that votes and acknowledgements are durable when sent (default
   * true; see `durabilityTap`). Off, durability bugs must show through their effects.
   */
  readonly wireChecks?: boolean;
  /**
   * Check that every `read()` covers what was committed before it was called (default
   * true; see `SafetyMonitor.readStarted`). Off, a stale read must show as a
   * non-linearizable history.
   */
  readonly readChecks?: boolean;
  /**
   * Plants a known bug in every node at every start, to show that a sweep catches it
   * (`'stale-lease'`: the lease rules of issue 14 switched off; `'lost-vote'`: a node that
   * lost its hard state restarts at term 0 and votes at once; see `RaftState.plantedBug`).
   */
  readonly plantedBug?: PlantedBug;
  /** Called once everything is set up, before time starts: for tracing and debugging. */
  readonly inspect?: (run: { readonly cluster: TestCluster; readonly monitor: SafetyMonitor; readonly workload: KvWorkload }) => void;
}

/** What one simulated run found. */
export interface SimulationResult {
  readonly seed: number;
  /** The command line that replays this run (see `reproduceCommand`). */
  readonly command: string;
  readonly nodes: number;
  readonly steps: number;
  /** Every broken rule, in the order found; empty for a clean run. */
  readonly violations: readonly Violation[];
  /** The verdict on the clients' history. */
  readonly linearizability: LinearizabilityResult;
  /** The clients' history, in the JSONL format of `history.ts` (`formatHistory`). */
  readonly history: readonly KvOperation[];
  readonly ops: Readonly<KvWorkloadStats>;
  /** The faults injected, in order. */
  readonly faults: readonly FaultEvent[];
  /** Distinct (term, leader) pairs seen. */
  readonly elections: number;
  /** The snapshot policy the nodes ran with (null: no snapshots), and how many snapshots were restored. */
  readonly snapshots: { readonly policy: Partial<SnapshotPolicy> | null; readonly restores: number };
  /** The highest log index at which a command was applied. */
  readonly committed: number;
  /** Virtual time simulated (ms). */
  readonly virtualTime: number;
  /**
   * How long the liveness phase took, in virtual ms: from the end of the faults to a
   * leader every node follows, and from then to every client completing an operation
   * (null when it did not happen, or the phase did not run).
   */
  readonly recovery: { readonly leader: number | null; readonly requests: number | null };
}

const DEFAULTS = { nodes: 5, steps: 30, clients: 4, livenessTimeout: 10000 };

/**
 * Runs one deterministic simulation: a cluster of real rxraft nodes on virtual time,
 * key-value clients proposing through it, and faults drawn from the seed — message
 * loss, duplication, reordering and delay, of every message or of chosen kinds (vote
 * grants, acknowledgements) only; symmetric, one-way and bridged partitions, and
 * one-way cuts chosen around the leader;
 * crashes losing unsynced writes, with restarts; paused nodes; leadership transfers;
 * removing a voter and adding it back.
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
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const seed = options.seed;
  const nodes = options.nodes ?? DEFAULTS.nodes;
  const steps = options.steps ?? DEFAULTS.steps;
  const bound = options.livenessTimeout ?? DEFAULTS.livenessTimeout;
  const run = setUpRun(options, nodes);
  const { cluster, monitor, workload, injector } = run;
  const schedule = seededRandom(mix(seed, 3));
  const release = captureUnhandledErrors((e) => monitor.report('simulator-error', `unhandled: ${describe(e)}`));
  const recovery: Recovery = { leader: null, requests: null };
  const clock = cluster.clock;
  if (options.plantedBug) plantInEveryNode(cluster, options.plantedBug);
  options.inspect?.({ cluster, monitor, workload });

  try {
    workload.start();
    await faultPhase(run, steps, schedule);
    if (monitor.violations.length === 0) await livenessPhase(run, bound, recovery);
    workload.stop();
    await cluster.stop();
  } catch (e) {
    monitor.report('simulator-error', describe(e));
  } finally {
    release();
  }
  workload.finish();
  monitor.dispose();
  run.machinesSubscription.unsubscribe();

  const linearizability = checkLinearizability(workload.history, { budget: options.linearizabilityBudget });
  if (linearizability.verdict === 'violation') {
    monitor.report('linearizability', `the history of key ${JSON.stringify(linearizability.key)} is not linearizable`);
  }
  return {
    seed,
    command: reproduceCommand(options),
    nodes,
    steps,
    violations: monitor.violations,
    linearizability,
    history: workload.history,
    ops: workload.stats,
    faults: injector.events,
    elections: monitor.elections,
    snapshots: { policy: run.policy, restores: monitor.restores },
    committed: monitor.highestApplied,
    virtualTime: clock.now(),
    recovery,
  };
}

/**
 * A session table exactly as large as the number of session clients, so it is always
 * full: a table that evicted a client to make room for one it already holds would forget
 * a retry's earlier apply, and the retried append would apply twice (non-linearizable).
 */
function fullSessionTable(sessions: 'none' | 'all' | 'mixed', clients: number): { maxClients: number } {
  const sessionClients = sessions === 'all' ? clients : sessions === 'mixed' ? Math.ceil(clients / 2) : 0;
  return { maxClients: Math.max(1, sessionClients) };
}

/** `SimulationResult.recovery`, filled in as the liveness phase goes. */
interface Recovery {
  leader: number | null;
  requests: number | null;
}

/** Everything one simulated run is made of. */
interface Run {
  readonly cluster: TestCluster;
  readonly monitor: SafetyMonitor;
  readonly workload: KvWorkload;
  readonly injector: FaultInjector;
  readonly policy: Partial<SnapshotPolicy> | null;
  /** Points the snapshot hooks at each new run's state machine; ended with the run. */
  readonly machinesSubscription: Subscription;
}

/** Builds the cluster, its safety monitor, the clients and the fault injector of a run, all drawn from the seed. */
function setUpRun(options: SimulationOptions, nodes: number): Run {
  const seed = options.seed;
  // The tap sees what each node sends (before any planted network fault rewrites it) and
  // reports promises of durability that storage does not back; nothing is sent before
  // the monitor exists (nodes load their storage first).
  let monitor: SafetyMonitor | undefined;
  let cluster: TestCluster | undefined;
  const tap = durabilityTap((m) => monitor?.report('durability', m), (id) => cluster!.storage(id));
  const wrap = options.cluster?.transport;
  // Individual messages held back (the 'late-messages' faults), on the receiving node's side.
  const lateMessages = new LateMessages(seededRandom(mix(seed, 6)));
  // Faults set off by what a node sends (a transfer's TimeoutNow).
  const triggers = new SendTriggers();
  const checkWire = options.wireChecks ?? true;
  const policy = snapshotPolicy(options.snapshots ?? 'mixed', seededRandom(mix(seed, 4)));
  const machines = new SnapshotMachines(() => monitor!);
  const nodeOptionsFor = simulatedNodeOptions(options, policy, machines, (id) => cluster!.scheduler(id));
  cluster = new TestCluster({
    nodes,
    seed,
    turns: 'node',
    ...options.cluster,
    nodeOptionsFor,
    transport: (id, t, s) => {
      const late = triggers.wrap(id, lateMessages.wrap(id, t, s), s);
      const inner = wrap ? wrap(id, late, s) : late;
      return checkWire ? tap(id, inner) : inner;
    },
  });
  const safety = new SafetyMonitor(cluster);
  monitor = safety;
  const workload = new KvWorkload(cluster, {
    ...options.workload,
    random: seededRandom(mix(seed, 1)),
    clients: options.clients ?? DEFAULTS.clients,
    onAnomaly: (m) => safety.report('api-contract', m),
    onRead: options.readChecks === false ? undefined : (id, lease) => safety.readStarted(id, lease),
  });
  for (const id of cluster.ids) machines.attach(id, 0, () => workload.machine(id));
  const machinesSubscription = cluster.started$.subscribe(({ id, run }) => machines.attach(id, run, () => workload.machine(id)));
  const injector = new FaultInjector(cluster, {
    random: seededRandom(mix(seed, 2)),
    classes: options.faults ?? ALL_FAULT_CLASSES,
    onAnomaly: (m) => safety.report('api-contract', m),
    lateMessages,
    triggers,
  });
  return { cluster, monitor: safety, workload, injector, policy, machinesSubscription };
}

/**
 * The options of each simulated node, drawn from the seed: a leader limit on uncommitted
 * bytes in half the seeds, an always-full session table, snapshot hooks when the run
 * snapshots, and in half the seeds an application whose apply takes 0-3 ms of the node's
 * own (pausable) time, so that reads and proposals must wait for a slow application
 * (DESIGN.md invariant 8; the workload's state machine changes when committed$ emits,
 * which is then after apply). The other half apply on committed$ alone, synchronously.
 * The in-memory log's cache is drawn too (`logCacheFor`), so that leaders serve lagging
 * followers from storage.
 */
function simulatedNodeOptions(
  options: SimulationOptions,
  policy: Partial<SnapshotPolicy> | null,
  machines: SnapshotMachines,
  schedulerOf: (id: NodeId) => SchedulerLike,
): (id: NodeId) => Partial<RaftNodeOptions> {
  const uncommittedLimit = uncommittedLimitFor(options.seed);
  const sessions = fullSessionTable(options.workload?.sessions ?? 'mixed', options.clients ?? DEFAULTS.clients);
  const applyRandom = seededRandom(mix(options.seed, 7));
  const applyDelay = applyRandom() < 0.5 ? Math.floor(applyRandom() * 4) : null;
  const stateMachineOptions = (id: NodeId) => {
    const apply = applyDelay === null ? {} : { apply: () => timer(applyDelay, schedulerOf(id)) };
    if (policy) return { stateMachine: { ...machines.stateMachineFor(id), ...apply }, snapshot: policy };
    return applyDelay === null ? {} : { stateMachine: apply };
  };
  const log = logCacheFor(options.seed);
  return (id) => ({ ...uncommittedLimit, sessions, log, ...stateMachineOptions(id), ...options.cluster?.nodeOptionsFor?.(id) });
}

/**
 * Half the seeds keep no cache of applied entries in memory (every entry durable and
 * applied is evicted at once, and a follower behind is served entries read back from
 * storage), a quarter a cache of a few commands, the rest the default.
 */
function logCacheFor(seed: number): { cacheBytes?: number } {
  const random = seededRandom(mix(seed, 8));
  const draw = random();
  if (draw < 0.5) return { cacheBytes: 0 };
  return draw < 0.75 ? { cacheBytes: 64 + Math.floor(random() * 1024) } : {};
}

/**
 * Half the seeds run with a leader limit of a few commands' worth of uncommitted bytes,
 * so that refusals (LeaderOverloadedError) happen under faults; the others with the default.
 */
function uncommittedLimitFor(seed: number): { maxUncommittedBytes?: number } {
  const limitRandom = seededRandom(mix(seed, 5));
  return limitRandom() < 0.5 ? { maxUncommittedBytes: 16 + Math.floor(limitRandom() * 112) } : {};
}

/** Advances time until `done()` or `timeout` ms from now, checking storage at every instant; false on timeout. */
async function waitUntil(run: Run, done: () => boolean, timeout: number): Promise<boolean> {
  const clock = run.cluster.clock;
  const deadline = clock.now() + timeout;
  while (!done()) {
    if (clock.now() >= deadline) return false;
    await clock.advance(10, () => run.monitor.checkStorage());
  }
  return true;
}

/** Phase 1: `steps` faults, each held 20–400 ms, the clients now and then quiet; ends at the first violation. */
async function faultPhase(run: Run, steps: number, schedule: () => number): Promise<void> {
  const { monitor, workload, injector } = run;
  let quiet = false;
  for (let i = 0; i < steps && monitor.violations.length === 0; i++) {
    injector.step();
    // Now and then the clients go quiet for a step: idle clusters behave differently
    // (a partitioned minority keeps an up-to-date log, so it can win elections).
    const wasQuiet: boolean = quiet;
    quiet = schedule() < 0.15;
    if (quiet && !wasQuiet) workload.stop();
    if (!quiet && wasQuiet) workload.start();
    if (quiet !== wasQuiet) injector.note(quiet ? 'clients quiet' : 'clients busy');
    await run.cluster.clock.advance(20 + schedule() * 380, () => monitor.checkStorage());
  }
  if (quiet) workload.start();
}

/**
 * Phase 2: every fault ends; within `bound` ms each, the nodes must agree on a leader,
 * every client must complete an operation, and all nodes must converge.
 */
async function livenessPhase(run: Run, bound: number, recovery: Recovery): Promise<void> {
  const { cluster, monitor, workload, injector } = run;
  const clock = cluster.clock;
  await injector.calm();
  const calmAt = clock.now();
  const settled = () => {
    injector.repairMembership();
    return injector.membershipComplete() && agreedLeader(cluster) !== null;
  };
  if (!(await waitUntil(run, settled, bound))) {
    monitor.report('liveness', `no leader all nodes (all voters again) agree on within ${bound} ms after the faults stopped (${describeStatuses(cluster)})`);
  } else {
    const since = clock.now();
    recovery.leader = since - calmAt;
    if (!(await waitUntil(run, () => workload.allCompletedSince(since), bound))) {
      monitor.report('liveness', `not every client completed an operation within ${bound} ms of a leader being elected (${describeStatuses(cluster)})`);
    } else {
      recovery.requests = clock.now() - since;
    }
  }
  workload.stop();
  await waitUntil(run, () => workload.outstanding === 0, bound);
  if (!(await waitUntil(run, () => converged(cluster), bound))) {
    monitor.report('liveness', `nodes did not converge within ${bound} ms after the workload stopped (${describeStatuses(cluster)})`);
  }
  monitor.checkConvergence();
}

/**
 * The command line that replays a run exactly, for the options the CLI can express
 * (seed, nodes, steps, clients, fault classes, snapshots, sessions, reads, forwarding). Planted
 * storage or transport faults are test code: replay those from the test.
 *
 * @example
 * reproduceCommand({ seed: 7, nodes: 3, steps: 40 }); // 'npm run sim -- --seeds 1 --from 7 --nodes 3 --steps 40'
 */
export function reproduceCommand(options: SimulationOptions): string {
  const parts = [`npm run sim -- --seeds 1 --from ${options.seed} --nodes ${options.nodes ?? DEFAULTS.nodes} --steps ${options.steps ?? DEFAULTS.steps}`];
  if (options.clients !== undefined && options.clients !== DEFAULTS.clients) parts.push(`--clients ${options.clients}`);
  if (options.faults && options.faults.join(',') !== ALL_FAULT_CLASSES.join(',')) parts.push(`--faults ${options.faults.join(',')}`);
  if (typeof options.snapshots === 'string' && options.snapshots !== 'mixed') parts.push(`--snapshots ${options.snapshots}`);
  if (options.workload?.sessions) parts.push(`--sessions ${options.workload.sessions}`);
  if (options.workload?.reads) parts.push(`--reads ${options.workload.reads}`);
  if ((options.cluster?.nodeOptions as { forward?: boolean } | undefined)?.forward === false) parts.push('--no-forward');
  if (options.linearizabilityBudget !== undefined) parts.push(`--budget ${options.linearizabilityBudget}`);
  if (options.readChecks === false) parts.push('--no-read-checks');
  if (options.plantedBug) parts.push(`--plant-bug ${options.plantedBug}`);
  return parts.join(' ');
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

/** The snapshot policy of a run, or null for none. */
function snapshotPolicy(setting: NonNullable<SimulationOptions['snapshots']>, random: () => number): Partial<SnapshotPolicy> | null {
  if (typeof setting === 'object') return setting;
  const on = setting === 'on' || (setting === 'mixed' && random() < 0.5);
  if (!on) return null;
  // Small enough that snapshots, compaction and multi-chunk InstallSnapshot happen all
  // the time, down to keeping no entries behind a snapshot (a follower catching up then
  // depends on the leader holding back compaction for it: `compactionPoint`). The kept
  // tail is capped in bytes too (a few dozen commands), so that the byte cap, not only
  // the count, decides where the log is cut; derived from chunkBytes so a seed draws the
  // same numbers as before the cap existed.
  const policy = {
    everyEntries: 20 + Math.floor(random() * 60),
    keepEntries: Math.floor(random() * 120),
    chunkBytes: 128 + Math.floor(random() * 896),
  };
  return { ...policy, keepBytes: 2 * policy.chunkBytes };
}

/** Derives an independent seed for one purpose from the run's seed. */
function mix(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
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
