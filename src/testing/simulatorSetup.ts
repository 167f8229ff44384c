import { SchedulerLike, Subscription, timer } from 'rxjs';
import type { RaftNodeOptions, SnapshotPolicy } from '../api';
import type { GroupId } from '../messages/groupId';
import type { NodeId } from '../messages/types';
import { seededRandom } from '../random';
import { TestCluster } from './cluster';
import { FaultInjector } from './faults';
import { ALL_FAULT_CLASSES } from './faults/classes';
import type { FaultTarget } from './faults/target';
import { LateMessages } from './faultsMessages';
import { SendTriggers } from './faultsTriggers';
import { DEFAULT_ELECTION_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, defaultRequestTimeout } from '../options';
import { HostCluster, HostGroupOptions } from './hostCluster';
import { SafetyMonitor } from './invariants';
import { durabilityTap } from './invariantsWire';
import { entryRunDelivery } from './entryRunDelivery';
import type { SimulationOptions } from './simulatorOptions';
import type { SimulatorClock } from './simulatorClock';
import { SnapshotMachines } from './simulatorMachines';
import { LeaderBounds } from './invariantsBounds';
import { KvWorkload } from './workload';

/** Default clients per group: 4 for a cluster of plain nodes; 2 per group on hosts of several groups. */
export const DEFAULT_CLIENTS = 4;
export const DEFAULT_CLIENTS_PER_GROUP = 2;

/** One Raft group of a run: its nodes, its safety monitor and its clients. */
export interface GroupRun {
  /** The group's id on its hosts (g1, g2, ...); undefined for a cluster of plain nodes. */
  readonly id: GroupId | undefined;
  readonly cluster: TestCluster;
  readonly monitor: SafetyMonitor;
  readonly workload: KvWorkload;
  /** Checks that leaders' logs stay within `maxUncommittedBytes` (after every instant). */
  readonly bounds: LeaderBounds;
  /** Points the snapshot hooks at each new run's state machine; ended with the run. */
  readonly machinesSubscription: Subscription;
}

/** Everything one simulated run is made of. */
export interface Run {
  /** What the faults strike: the cluster (one group), or the hosts (several). */
  readonly target: FaultTarget;
  readonly clock: SimulatorClock;
  readonly groups: readonly GroupRun[];
  readonly injector: FaultInjector;
  readonly policy: Partial<SnapshotPolicy> | null;
  /** Whether the groups quiesce when idle (hosts of several groups only). */
  readonly quiesce: boolean;
  /** Stops every node (or host) and lets in-flight work drain. */
  stop(): Promise<void>;
}

/** What every group of a run shares: the message-level faults and the snapshot policy. */
interface Shared {
  readonly lateMessages: LateMessages;
  readonly triggers: SendTriggers;
  readonly policy: Partial<SnapshotPolicy> | null;
}

/** A group being set up: its cluster's options, then (once the cluster exists) its monitor and clients. */
interface GroupParts {
  readonly clusterOptions: HostGroupOptions;
  attach(cluster: TestCluster): GroupRun;
}

/**
 * Builds a run, all drawn from the seed: with one group, a `TestCluster` of `nodes`
 * plain nodes; with `groups` above 1, a `HostCluster` of `nodes` hosts each running
 * every group. Each group gets its own safety monitor, clients and history; the fault
 * injector strikes the nodes (or hosts).
 */
export function setUpRun(options: SimulationOptions, nodes: number): Run {
  const seed = options.seed;
  const groups = options.groups ?? 1;
  // Individual messages held back (the 'late-messages' faults), on the receiving node's side.
  const lateMessages = new LateMessages(seededRandom(mix(seed, 6)));
  // Faults set off by what a node sends (a transfer's TimeoutNow).
  const triggers = new SendTriggers();
  const policy = snapshotPolicy(options.snapshots ?? 'mixed', seededRandom(mix(seed, 4)));
  const shared: Shared = { lateMessages, triggers, policy };
  if (groups === 1) {
    const parts = groupParts(options, shared, seed, undefined);
    const cluster = new TestCluster({ nodes, ...parts.clusterOptions });
    const group = parts.attach(cluster);
    const injector = faultInjector(options, cluster, shared, () => group.monitor);
    return { target: cluster, clock: cluster.clock, groups: [group], injector, policy, quiesce: false, stop: () => cluster.stop() };
  }
  const parts = Array.from({ length: groups }, (_, i) => groupParts(options, shared, mix(seed, 100 + i), `g${i + 1}`));
  const quiesce = quiescing(options);
  const groupOptions = parts.map((p, i) => ({ ...p.clusterOptions, hosts: groupHosts(i, nodes) }));
  const hosts = new HostCluster({ hosts: nodes, seed, groups: groupOptions, quiesce: quiesce && hostTiming(options) });
  const runs = hosts.groups.map((g, i) => parts[i].attach(g.cluster));
  // A membership request that hangs is reported by the group in focus when it is noticed.
  const injector = faultInjector(options, hosts, shared, () => runs[hosts.groupKeys.indexOf(hosts.focused)].monitor);
  return { target: hosts, clock: hosts.clock, groups: runs, injector, policy, quiesce, stop: () => hosts.stop() };
}

/**
 * How long a leadership transfer may take to settle: an election timeout to hand over,
 * another for a leader to follow once the old one stepped down, and two heartbeat
 * intervals for the turns between.
 */
function transferLimit(options: SimulationOptions): number {
  const o = options.cluster?.nodeOptions;
  return 2 * (o?.electionTimeout?.max ?? DEFAULT_ELECTION_TIMEOUT.max) + 2 * (o?.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL);
}

/** The nodes' `requestTimeout` (the node default unless the run's node options set it). */
function requestTimeout(options: SimulationOptions): number {
  const o = options.cluster?.nodeOptions;
  return o?.requestTimeout ?? defaultRequestTimeout(o?.electionTimeout?.max ?? DEFAULT_ELECTION_TIMEOUT.max);
}

/**
 * How long a client's `propose` or `read` may stay unsettled (its node's running time):
 * `requestTimeout` x 8 — the longest wait the API documents is a leader's own proposal,
 * `requestTimeout` x 5 x 1.25 after its append, which a leadership transfer under way
 * may hold back for up to an election timeout first.
 */
function settleLimit(options: SimulationOptions): number {
  return 8 * requestTimeout(options);
}

/**
 * How long a membership change may take to settle (its leader not paused meanwhile):
 * the API fails one at `requestTimeout` x 5 from the call; x 6 leaves a margin.
 */
function membershipLimit(options: SimulationOptions): number {
  return 6 * requestTimeout(options);
}

/** Whether the groups of a run on hosts quiesce: `options.quiesce`, or for `'mixed'` (the default) every other seed, drawn from it. */
export function quiescing(options: SimulationOptions): boolean {
  const mode = options.quiesce ?? 'mixed';
  return (options.groups ?? 1) > 1 && (mode === 'on' || (mode === 'mixed' && mix(options.seed, 8) % 2 === 0));
}

/** The groups' heartbeat interval and shortest election timeout (node defaults unless the run's node options set them): the hosts' liveness timing. */
function hostTiming(options: SimulationOptions): { heartbeatInterval: number; electionTimeoutMin: number } {
  const o = options.cluster?.nodeOptions;
  return { heartbeatInterval: o?.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL, electionTimeoutMin: o?.electionTimeout?.min ?? DEFAULT_ELECTION_TIMEOUT.min };
}

/**
 * The hosts group number `i` (from 0) lives on: every host, but with 4 hosts or more,
 * every other group (g2, g4, ...) lives on 3 consecutive hosts only (h2-h4, h4,h5,h1, ...),
 * so that a host's crash takes some groups' members and not others'.
 */
function groupHosts(i: number, hosts: number): NodeId[] | undefined {
  if (hosts < 4 || i % 2 === 0) return undefined;
  return [0, 1, 2].map((k) => `h${((i + k) % hosts) + 1}`).sort();
}

function faultInjector(options: SimulationOptions, target: FaultTarget, shared: Shared, monitor: () => SafetyMonitor): FaultInjector {
  return new FaultInjector(target, {
    random: seededRandom(mix(options.seed, 2)),
    classes: options.faults ?? ALL_FAULT_CLASSES,
    onAnomaly: (m) => monitor().report('api-contract', m),
    transferLimit: transferLimit(options),
    membershipLimit: membershipLimit(options),
    lateMessages: shared.lateMessages,
    triggers: shared.triggers,
  });
}

/**
 * One group's cluster options, drawn from `seed` (the run's seed for a single group):
 * the message-level faults, the durability tap and the snapshot hooks on each node.
 */
function groupParts(options: SimulationOptions, shared: Shared, seed: number, id: GroupId | undefined): GroupParts {
  // The tap sees what each node sends (before any planted network fault rewrites it) and
  // reports promises of durability that storage does not back; nothing is sent before
  // the monitor exists (nodes load their storage first).
  let monitor: SafetyMonitor | undefined;
  let cluster: TestCluster | undefined;
  const tap = durabilityTap((m) => monitor?.report('durability', m), (node) => cluster!.storage(node));
  const wrap = options.cluster?.transport;
  const checkWire = options.wireChecks ?? true;
  const machines = new SnapshotMachines(() => monitor!);
  const nodeOptionsFor = simulatedNodeOptions(options, shared.policy, machines, (node) => cluster!.scheduler(node));
  const { lateMessages, triggers } = shared;
  const clusterOptions: HostGroupOptions = {
    seed,
    turns: 'node',
    ...options.cluster,
    nodeOptionsFor,
    transport: (node, t, s) => {
      const late = triggers.wrap(node, lateMessages.wrap(node, t, s), s);
      const wrapped = wrap ? wrap(node, late, s) : late;
      const inner = receivesRuns(options, seed, node) ? entryRunDelivery(wrapped) : wrapped;
      return checkWire ? tap(node, inner) : inner;
    },
  };
  const attach = (made: TestCluster): GroupRun => {
    cluster = made;
    const safety = new SafetyMonitor(made);
    monitor = safety;
    const workload = new KvWorkload(made, {
      ...options.workload,
      random: seededRandom(mix(seed, 1)),
      clients: options.clients ?? (id === undefined ? DEFAULT_CLIENTS : DEFAULT_CLIENTS_PER_GROUP),
      onAnomaly: (m) => safety.report('api-contract', m),
      settleLimit: settleLimit(options),
      onRead: options.readChecks === false ? undefined : (node, lease) => safety.readStarted(node, lease),
    });
    for (const node of made.ids) machines.attach(node, 0, () => workload.machine(node));
    const machinesSubscription = made.started$.subscribe(({ id: node, run }) => machines.attach(node, run, () => workload.machine(node)));
    const bounds = new LeaderBounds(made, (message) => safety.report('bounds', message));
    return { id, cluster: made, monitor: safety, workload, bounds, machinesSubscription };
  };
  return { clusterOptions, attach };
}

/** Whether `node` receives AppendEntries' entries as runs (`options.entryRuns`; for `'mixed'`, the default, drawn per node from the seed). */
function receivesRuns(options: SimulationOptions, seed: number, node: NodeId): boolean {
  const mode = options.entryRuns ?? 'mixed';
  if (mode !== 'mixed') return mode === 'on';
  let h = 0;
  for (let i = 0; i < node.length; i++) h = (h * 31 + node.charCodeAt(i)) >>> 0;
  return mix(seed, 9 + (h % 1000)) % 2 === 0;
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
  const clients = options.clients ?? ((options.groups ?? 1) === 1 ? DEFAULT_CLIENTS : DEFAULT_CLIENTS_PER_GROUP);
  const sessions = fullSessionTable(options.workload?.sessions ?? 'mixed', clients);
  const applyRandom = seededRandom(mix(options.seed, 7));
  const applyDelay = applyRandom() < 0.5 ? Math.floor(applyRandom() * 4) : null;
  const stateMachineOptions = (id: NodeId) => {
    const apply = applyDelay === null ? {} : { apply: () => timer(applyDelay, schedulerOf(id)) };
    if (policy) return { stateMachine: { ...machines.stateMachineFor(id), ...apply }, snapshot: policy };
    return applyDelay === null ? {} : { stateMachine: apply };
  };
  const cache = logCacheFor(options.seed);
  // Quiescing groups go quiet at every idle moment here (production waits a heartbeat
  // interval): the most quiet leaders and wake-ups for the faults to strike.
  const quiet = { quiesceAfterTicks: 0 };
  return (id) => ({ ...uncommittedLimit, sessions, ...cache, ...quiet, ...stateMachineOptions(id), ...options.cluster?.nodeOptionsFor?.(id) });
}

/**
 * Half the seeds keep no cache of applied entries in memory (every entry durable and
 * applied is evicted at once, and a follower behind is served entries read back from
 * storage), a quarter a cache of a few commands, the rest the default. Half of the seeds
 * without a cache also give each follower a window (and AppendEntries) of a few commands'
 * bytes: a leader keeps what a replicating follower has not acknowledged only up to
 * `cacheBytes + maxInflightBytes` of committed entries, so with a small window a follower slightly behind is
 * served from storage too.
 */
function logCacheFor(seed: number): { log: { cacheBytes?: number }; maxBytesPerMessage?: number; maxInflightBytes?: number } {
  const random = seededRandom(mix(seed, 8));
  const draw = random();
  if (draw < 0.25) {
    const window = 64 + Math.floor(random() * 512);
    return { log: { cacheBytes: 0 }, maxBytesPerMessage: window, maxInflightBytes: window };
  }
  if (draw < 0.5) return { log: { cacheBytes: 0 } };
  return { log: draw < 0.75 ? { cacheBytes: 64 + Math.floor(random() * 1024) } : {} };
}

/**
 * Half the seeds run with a leader limit of a few commands' worth of uncommitted bytes,
 * so that refusals (LeaderOverloadedError) happen under faults; the others with the default.
 */
function uncommittedLimitFor(seed: number): { maxUncommittedBytes?: number } {
  const limitRandom = seededRandom(mix(seed, 5));
  return limitRandom() < 0.5 ? { maxUncommittedBytes: 16 + Math.floor(limitRandom() * 112) } : {};
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
  // Half the seeds snapshot by the counts alone, as before the size floor existed (derived,
  // not drawn, so every seed draws the same numbers as before).
  return { ...policy, keepBytes: 2 * policy.chunkBytes, minLogPercent: policy.everyEntries % 2 === 0 ? 0 : 100 };
}

/** Derives an independent seed for one purpose from the run's seed. */
export function mix(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
