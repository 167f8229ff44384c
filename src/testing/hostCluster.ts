import { interval, observeOn } from 'rxjs';
import type { StopOptions } from '../api';
import { GroupRouter } from '../host/groupRouter';
import { HostLiveness } from '../host/hostLiveness';
import type { GroupId } from '../messages/groupId';
import type { NodeId } from '../messages/types';
import type { RaftNode } from '../node';
import { seededRandom } from '../random';
import type { HostTransport } from '../transports/hostTransport';
import { MemoryHub } from '../transports/memoryHub';
import type { Transport } from '../transports/transport';
import { ClusterHost, TestCluster, TestClusterOptions } from './cluster';
import type { FaultStorage, FaultTarget } from './faults/target';
import { NodeScheduler, SimulatorClock } from './simulatorClock';

/** A group's `TestCluster` options, but what its hosts decide (`nodes`, `host`), and which hosts it lives on. */
export type HostGroupOptions = Omit<TestClusterOptions, 'nodes' | 'host' | 'scripted' | 'seeds' | 'faults'> & {
  /** The hosts this group has a member on (default every host). */
  readonly hosts?: readonly NodeId[];
};

/** Options of `HostCluster`. */
export interface HostClusterOptions {
  /** Host count (ids h1..hN) or explicit ids. */
  readonly hosts: number | readonly NodeId[];
  /** Decides the network's randomness (each group's nodes draw from their own `seed`). */
  readonly seed: number;
  /** One entry per group (ids g1..gG, in order): the options of its `TestCluster`, and the hosts it lives on. */
  readonly groups: readonly HostGroupOptions[];
  /**
   * Groups quiesce when idle, and each host watches the others with liveness pings
   * (`HostLiveness`, every `heartbeatInterval`, silent after `electionTimeoutMin`), as
   * `createRaftHost` does (default false). The groups' own timing must match.
   */
  readonly quiesce?: boolean | { readonly heartbeatInterval: number; readonly electionTimeoutMin: number };
}

/** One running incarnation of a host: its shared transport, the router handing each group its messages, its liveness watch (quiescence). */
interface HostProcess {
  readonly transport: HostTransport;
  readonly router: GroupRouter;
  readonly liveness: HostLiveness | null;
}

/**
 * Hosts of many Raft groups on virtual time: each host is one process on the shared
 * in-memory network (`MemoryHub.connectHost`) whose groups share its transport, routed
 * per group by the host layer's own `GroupRouter`, and its scheduler (pausing a host
 * freezes every group on it). Each group is a `TestCluster` whose members are the hosts
 * it lives on (every host, or some), with its own storage per host, so `SafetyMonitor`
 * and `KvWorkload` watch and drive a group exactly as they do a cluster of plain nodes.
 *
 * It does what `createRaftHost` does (a `GroupRouter` over one host transport, one
 * `createRaftNode` per group with the host's id) but starts each group's node
 * synchronously, so that the monitors see a node before it can emit anything.
 *
 * Faults strike hosts (it is a `FaultTarget` whose ids are hosts): `crash` takes every
 * group on a host down at once, each losing its unsynced writes, and `start` brings
 * them all back from their storage; a partition cuts every group's traffic between two
 * hosts; a storage fault damages every group's storage on the host. Each group still
 * keeps its own log here: when a host's groups share one write-ahead log, a lost tail
 * will strike the groups in that tail only, and this model goes with it.
 * `leader()` and `node(id)` speak for the group in focus (`focusOn`), so that a
 * transfer, a membership change or "target the leader" aims at one group.
 *
 * @example
 * const hosts = new HostCluster({ hosts: 3, seed: 1, groups: [{ seed: 11 }, { seed: 12 }] });
 * await hosts.groups[0].cluster.waitForLeader();
 * hosts.crash('h2');                 // both groups lose their replica on h2
 * hosts.hub.partition(['h1'], ['h2', 'h3']);
 * hosts.start('h2');                 // both groups restart on h2 from storage
 * await hosts.stop();
 * // g2 lives on three of the five hosts: crashing h2 leaves it alone
 * new HostCluster({ hosts: 5, seed: 1, groups: [{ seed: 11 }, { seed: 12, hosts: ['h1', 'h3', 'h4'] }] });
 */
export class HostCluster implements FaultTarget {
  readonly clock = new SimulatorClock();
  readonly ids: readonly NodeId[];
  readonly hub: MemoryHub;
  /** The groups, in order: ids g1..gG. */
  readonly groups: readonly { readonly id: GroupId; readonly cluster: TestCluster }[];
  readonly groupKeys: readonly GroupId[];
  /** Problems the hosts saw (messages for a group a host is not running, while it stops). */
  readonly errors: { readonly id: NodeId; readonly error: Error }[] = [];
  private readonly views = new Map<NodeId, NodeScheduler>();
  private readonly processes = new Map<NodeId, HostProcess>();
  private focus = 0;
  private readonly quiesce: { readonly heartbeatInterval: number; readonly electionTimeoutMin: number } | null;

  constructor(options: HostClusterOptions) {
    this.quiesce = options.quiesce === true ? { heartbeatInterval: 50, electionTimeoutMin: 150 } : options.quiesce || null;
    const n = options.hosts;
    this.ids = typeof n === 'number' ? Array.from({ length: n }, (_, i) => `h${i + 1}`) : [...n];
    if (options.groups.length === 0) throw new RangeError('a HostCluster needs at least one group');
    options.groups.forEach(({ hosts = this.ids }, i) => {
      if (hosts.length === 0 || hosts.some((h) => !this.ids.includes(h))) {
        throw new RangeError(`group g${i + 1} must live on some of the hosts ${this.ids.join(',')}, got [${hosts.join(',')}]`);
      }
    });
    this.hub = new MemoryHub({ scheduler: this.clock.scheduler, random: seededRandom(options.seed) });
    for (const id of this.ids) this.views.set(id, this.clock.view());
    for (const id of this.ids) this.open(id);
    this.groups = options.groups.map(({ hosts = this.ids, ...groupOptions }, i) => {
      const id = `g${i + 1}`;
      return { id, cluster: new TestCluster({ ...groupOptions, nodes: hosts, host: this.lend(id) }) };
    });
    this.groupKeys = this.groups.map((g) => g.id);
  }

  /** The group `leader()` and `node()` speak for. */
  get focused(): GroupId {
    return this.groups[this.focus].id;
  }

  focusOn(key: GroupId): void {
    const i = this.groupKeys.indexOf(key);
    if (i < 0) throw new Error(`no group ${key} on these hosts`);
    this.focus = i;
  }

  /** The cluster of the group in focus. */
  private get group(): TestCluster {
    return this.groups[this.focus].cluster;
  }

  /** Whether host `id` is up (while a clean stop is under way too, as a node that is stopping still runs). */
  isRunning(id: NodeId): boolean {
    return this.processes.has(id);
  }

  /** Whether the group in focus runs on host `id` (during a clean stop, some groups may have stopped already). */
  groupRunning(id: NodeId): boolean {
    return this.group.ids.includes(id) && this.group.isRunning(id);
  }

  /** The hosts the group in focus lives on. */
  groupMembers(): readonly NodeId[] {
    return this.group.ids;
  }

  /** The clusters of the groups that live on host `id`. */
  private on(id: NodeId): TestCluster[] {
    return this.groups.filter((g) => g.cluster.ids.includes(id)).map((g) => g.cluster);
  }

  isPaused(id: NodeId): boolean {
    return this.view(id).paused;
  }

  /** Freezes host `id`: none of its groups' timers, messages or syncs run until `resume`. */
  pause(id: NodeId): void {
    this.running(id);
    this.view(id).pause();
  }

  resume(id: NodeId): void {
    this.view(id).resume();
  }

  /** Starts host `id` again: its transport, then every group on it from its storage. */
  start(id: NodeId): void {
    if (this.processes.has(id)) throw new Error(`host ${id} is running`);
    this.open(id);
    for (const cluster of this.on(id)) cluster.start(id);
  }

  /** Power loss of host `id`: every group on it stops at once, losing its unsynced writes. */
  crash(id: NodeId): void {
    this.running(id);
    for (const cluster of this.on(id)) if (cluster.isRunning(id)) cluster.crash(id);
    this.close(id);
  }

  /** Stops every group on host `id` cleanly (with `transferLeadership`, each leader hands over first); down once all have stopped. */
  async stopNode(id: NodeId, options?: StopOptions): Promise<void> {
    const process = this.running(id);
    await Promise.all(this.on(id).filter((c) => c.isRunning(id)).map((c) => c.stopNode(id, options)));
    if (this.processes.get(id) === process) this.close(id);
  }

  /** Every group's storage on host `id`, struck together. */
  storage(id: NodeId): FaultStorage {
    const storages = this.on(id).map((c) => c.storage(id));
    return {
      get damaged() {
        return storages.some((s) => s.damaged);
      },
      damageTail: (count) => storages.forEach((s) => s.damageTail(count)),
      loseHardState: () => storages.forEach((s) => s.loseHardState()),
      stallWrites: () => storages.forEach((s) => s.stallWrites()),
      resumeWrites: () => storages.forEach((s) => s.resumeWrites()),
    };
  }

  leader(): NodeId | undefined {
    return this.group.leader();
  }

  node(id: NodeId): RaftNode {
    return this.group.node(id);
  }

  /** Advances virtual time until `predicate` holds; throws after `timeout` virtual ms. */
  async waitFor(predicate: () => boolean, timeout = 5000, stepMs = 5): Promise<void> {
    const deadline = this.clock.now() + timeout;
    await this.clock.advance(0);
    while (!predicate()) {
      if (this.clock.now() >= deadline) throw new Error(`condition not met within ${timeout} virtual ms`);
      await this.clock.advance(stepMs);
    }
  }

  /** Stops every group on every host, closes the hosts and lets in-flight work drain. */
  async stop(): Promise<void> {
    await Promise.all(this.groups.map((g) => g.cluster.stop(0)));
    for (const id of [...this.processes.keys()]) this.close(id);
    await this.clock.advance(1000);
  }

  private view(id: NodeId): NodeScheduler {
    const view = this.views.get(id);
    if (!view) throw new Error(`${id} is not a host of this cluster`);
    return view;
  }

  private running(id: NodeId): HostProcess {
    const process = this.processes.get(id);
    if (!process) throw new Error(`host ${id} is not running`);
    return process;
  }

  /** What group `group`'s `TestCluster` borrows from the hosts. */
  private lend(group: GroupId): ClusterHost {
    return {
      clock: this.clock,
      hub: this.hub,
      view: (id) => this.view(id),
      connect: (id): Transport => this.running(id).router.attach(group),
      nodeOptions: (id) => {
        const liveness = this.running(id).liveness;
        return liveness ? { quiesce: true, wakeups: liveness.wakeupsOf(group) } : {};
      },
    };
  }

  private open(id: NodeId): void {
    const transport = this.hub.connectHost(id);
    const report = (error: Error) => this.errors.push({ id, error });
    const router = new GroupRouter(transport, report);
    this.processes.set(id, { transport, router, liveness: this.quiesce && this.watch(id, transport, report) });
  }

  /** The liveness watch of host `id`'s process, on its scheduler: a paused host neither pings nor answers. */
  private watch(id: NodeId, transport: HostTransport, report: (error: Error) => void): HostLiveness | null {
    const view = this.view(id);
    const { sendAlive, alive$ } = transport;
    if (!this.quiesce || !sendAlive || !alive$) return null;
    const link = { sendAlive: sendAlive.bind(transport), alive$: alive$.pipe(observeOn(view)) };
    const liveness = new HostLiveness({ id, link, scheduler: view, ticks$: interval(this.quiesce.heartbeatInterval, view), timeout: this.quiesce.electionTimeoutMin, silentTicks: Math.ceil(this.quiesce.electionTimeoutMin / this.quiesce.heartbeatInterval), report });
    liveness.watch(this.ids);
    return liveness;
  }

  /** The host's process ends: its router and transport close, and what it held on its scheduler is gone. */
  private close(id: NodeId): void {
    const process = this.processes.get(id);
    if (!process) return;
    this.processes.delete(id);
    process.liveness?.stop();
    process.router.stop();
    void process.transport.close();
    this.view(id).discardHeld();
  }
}
