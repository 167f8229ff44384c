import { Observable, SchedulerLike, Subject } from 'rxjs';
import { createRaftNode, RaftNode, RaftNodeOptions, StopOptions } from '../node';
import type { CommittedEntry } from '../messages/entry';
import type { NodeId } from '../messages/types';
import { seededRandom } from '../random';
import { MemoryStorage } from '../storage/memoryStorage';
import { MemoryHub, NetworkFaults } from '../transports/memoryHub';
import type { Transport } from '../transports/transport';
import type { NodeStatus } from '../api';
import { pausableTransport } from './faultsPause';
import { nodeTurns } from './nodeTurns';
import { NodeScheduler, SimulatorClock } from './simulatorClock';
import { NodeSeed, seedEntries } from './seeds';
import { ScriptedPeer } from './scriptedPeer';
import type { TimeoutRange } from '../api';
import { ReplicationView, testHooksOf } from '../testHooks';

export interface TestClusterOptions {
  /** Node count (ids n1..nN) or explicit ids. */
  readonly nodes: number | readonly NodeId[];
  /** Decides every random choice: election timeouts, delays, faults. */
  readonly seed: number;
  readonly faults?: NetworkFaults;
  /** Simulated fsync latency (default 1). */
  readonly syncDelay?: number;
  /** Extra node options (timeouts, limits). */
  readonly nodeOptions?: Partial<Omit<RaftNodeOptions, 'id' | 'peers' | 'transport' | 'storage'>>;
  /**
   * Per-node options, made at every start (after `nodeOptions`): e.g. a fresh state
   * machine for each run of each node.
   */
  readonly nodeOptionsFor?: (id: NodeId) => Partial<Omit<RaftNodeOptions, 'id' | 'peers' | 'transport' | 'storage'>>;
  /**
   * Makes a node's storage, once per node (it survives restarts). Default: a
   * `MemoryStorage` syncing after `syncDelay` on `scheduler` (the node's own, so a
   * paused node's syncs wait too). Tests plant faulty storage here.
   */
  readonly storage?: (id: NodeId, scheduler: SchedulerLike, syncDelay: number) => MemoryStorage;
  /** Wraps a node's transport at every start (tests plant faulty networks here). */
  readonly transport?: (id: NodeId, transport: Transport, scheduler: SchedulerLike) => Transport;
  /**
   * How a node's turns pass (its `turnScheduler`): `'instant'` (default) runs the work a
   * turn schedules within the same instant, before the promises that turn settled;
   * `'node'` runs it as Node does, after them (`nodeTurns`).
   */
  readonly turns?: 'instant' | 'node';
  /**
   * What each node holds on disk when it first starts (term, vote, log) and its own
   * election timer range; nodes without a seed start empty. See `TestCluster.fromLogs`.
   */
  readonly seeds?: Readonly<Record<NodeId, NodeSeed>>;
  /**
   * Members played by the test (`cluster.peer(id)`), not by rxraft nodes: they are in the
   * initial configuration and on the hub, and send only what the test writes.
   */
  readonly scripted?: readonly NodeId[];
  /**
   * No node's election timer fires by itself (etcd's tests tick by hand): elections start
   * only with `campaign(id)`, or after `setElectionTimeout(id, range)`. The protocol
   * windows (pre-vote veto, lease, CheckQuorum, transfer deadline) still follow
   * `nodeOptions.electionTimeout`.
   */
  readonly manualElections?: boolean;
  /**
   * Runs this cluster as one Raft group of a `HostCluster`: the clock, the network and
   * each node's scheduler are its hosts' (shared by every group), and a node's transport
   * is its host's view for this group. The host owns its scheduler: stopping or crashing
   * one group's node leaves what the host's other groups scheduled alone.
   */
  readonly host?: ClusterHost;
}

/** What a `HostCluster` lends each of its groups' `TestCluster` (see `TestClusterOptions.host`). */
export interface ClusterHost {
  readonly clock: SimulatorClock;
  readonly hub: MemoryHub;
  /** The scheduler of host `id`, shared by its groups. */
  view(id: NodeId): NodeScheduler;
  /** The transport of this group's node on host `id`: the host's shared transport, for this group. */
  connect(id: NodeId): Transport;
  /** What the host supplies to its groups' nodes on host `id` (quiescence and its wake-ups), as `createRaftHost` does. */
  nodeOptions?(id: NodeId): Partial<RaftNodeOptions>;
}

/** What `TestCluster.started$` emits: a node was just created (committed$ not yet emitting). */
export interface NodeStart {
  readonly id: NodeId;
  readonly node: RaftNode;
  /** 0 for the first start, then one more at every restart. */
  readonly run: number;
}

/**
 * A cluster of real rxraft nodes on virtual time, an in-memory network and in-memory
 * storage, all driven by one seed. Crash a node (losing its unsynced writes), restart
 * it, partition the network, and watch what each node commits.
 *
 * @example
 * const cluster = new TestCluster({ nodes: 3, seed: 1 });
 * const leader = await cluster.waitForLeader();
 * await cluster.propose(leader, 'x=1');
 * cluster.committedData('n2'); // ['x=1'] once replicated
 * cluster.pause('n3');            // n3 runs nothing: no timers, no messages, no syncs
 * await cluster.clock.advance(500);
 * cluster.resume('n3');           // everything it missed runs now, late
 * await cluster.stop();
 */
export class TestCluster {
  readonly clock: SimulatorClock;
  readonly ids: readonly NodeId[];
  readonly hub: MemoryHub;
  readonly random: () => number;
  /** Emits synchronously each time a node is created, before it can emit anything. */
  readonly started$: Observable<NodeStart>;
  private readonly startedSubject = new Subject<NodeStart>();
  private readonly nodes = new Map<NodeId, RaftNode>();
  /** One scheduler per node, kept across restarts; pausing it pauses the node. */
  private readonly views = new Map<NodeId, NodeScheduler>();
  private readonly storages = new Map<NodeId, MemoryStorage>();
  private readonly statuses = new Map<NodeId, NodeStatus>();
  /** Everything each node emitted on committed$, across restarts (a restart replays). */
  private readonly committedRuns = new Map<NodeId, CommittedEntry[][]>();
  readonly errors: { id: NodeId; error: Error }[] = [];
  /** Nodes started with `join()`: not members of the initial configuration. */
  private readonly joiners = new Set<NodeId>();
  private readonly makeStorage: (id: NodeId, scheduler: SchedulerLike, syncDelay: number) => MemoryStorage;
  private readonly peers = new Map<NodeId, ScriptedPeer>();
  /** Election timer ranges set at run time, kept across restarts. */
  private readonly electionTimeouts = new Map<NodeId, TimeoutRange | 'never'>();

  /**
   * A cluster started from given logs and hard states (the paper's figures as one-liners):
   * one node per key of `seeds`, ids in that order, seed 1 unless given.
   *
   * @example
   * // Figure 7: the leader of term 8 and follower (a), which lacks one entry
   * const cluster = TestCluster.fromLogs({
   *   leader: { term: 7, log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], electionTimeout: { min: 10, max: 10 } },
   *   a: { term: 7, log: [1, 1, 1, 4, 4, 5, 5, 6, 6] },
   * }, { nodeOptions: { preVote: false, checkQuorum: false }, manualElections: true });
   * cluster.campaign('leader');
   * // a learner seeded through a configuration entry
   * TestCluster.fromLogs({ n1: { term: 1, log: [{ term: 1, config: { voters: ['n1'], learners: ['n2'] } }] }, n2: {} });
   */
  static fromLogs(seeds: Readonly<Record<NodeId, NodeSeed>>, options: Partial<Omit<TestClusterOptions, 'seeds'>> = {}): TestCluster {
    return new TestCluster({ nodes: Object.keys(seeds), seed: 1, ...options, seeds });
  }

  constructor(private readonly options: TestClusterOptions) {
    this.clock = options.host?.clock ?? new SimulatorClock();
    const n = options.nodes;
    this.ids = typeof n === 'number' ? Array.from({ length: n }, (_, i) => `n${i + 1}`) : [...n];
    for (const id of Object.keys(options.seeds ?? {})) if (!this.ids.includes(id)) throw new Error(`seed for ${id}, which is not a node of this cluster`);
    for (const id of options.scripted ?? []) if (this.ids.includes(id)) throw new Error(`${id} cannot be both a node and a scripted peer`);
    this.random = seededRandom(options.seed);
    this.hub = options.host?.hub ?? new MemoryHub({ scheduler: this.clock.scheduler, random: this.random, faults: options.faults });
    this.started$ = this.startedSubject.asObservable();
    this.makeStorage =
      options.storage ?? ((_id: NodeId, scheduler: SchedulerLike, syncDelay: number) => new MemoryStorage({ scheduler, syncDelay }));
    for (const id of options.scripted ?? []) this.peers.set(id, new ScriptedPeer(id, this.hub));
    for (const id of this.ids) this.createNodeResources(id);
    for (const id of this.ids) this.start(id);
  }

  private createNodeResources(id: NodeId): void {
    const view = this.options.host?.view(id) ?? this.clock.view();
    this.views.set(id, view);
    const storage = this.makeStorage(id, view, this.options.syncDelay ?? 1);
    const seed = this.options.seeds?.[id];
    if (seed) {
      const entries = seedEntries(seed.log ?? []);
      const term = seed.term ?? 0;
      const lastTerm = entries[entries.length - 1]?.term ?? 0;
      if (term < lastTerm) throw new RangeError(`seed for ${id}: term ${term} is older than its last entry's term ${lastTerm}`);
      storage.seed({ hardState: { term, votedFor: seed.votedFor ?? null }, entries });
    }
    this.storages.set(id, storage);
  }

  /** Every member of the initial configuration: the nodes and the scripted peers. */
  private get members(): NodeId[] {
    return [...this.ids, ...(this.options.scripted ?? [])];
  }

  /**
   * Starts a node that is not yet a member (`join: true`); a leader adds it with
   * `addLearner(id)`. It restarts like any other node.
   */
  join(id: NodeId): RaftNode {
    if (this.views.has(id)) throw new Error(`${id} already exists`);
    this.createNodeResources(id);
    this.joiners.add(id);
    return this.start(id);
  }

  /** Starts (or restarts) a node on its existing storage. */
  start(id: NodeId): RaftNode {
    if (this.nodes.has(id)) throw new Error(`${id} is running`);
    const view = this.views.get(id);
    if (!view) throw new Error(`${id} is not a member of this cluster`);
    const wrap = this.options.transport;
    const host = this.options.host;
    const transport = pausableTransport(host ? host.connect(id) : this.hub.connect(id), view);
    const node = createRaftNode({
      id,
      peers: this.members,
      transport: wrap ? wrap(id, transport, view) : transport,
      storage: this.storages.get(id)!,
      scheduler: view,
      turnScheduler: this.options.turns === 'node' ? nodeTurns(view) : view,
      random: this.random,
      ...host?.nodeOptions?.(id),
      ...this.options.nodeOptions,
      ...this.options.nodeOptionsFor?.(id),
      ...(this.joiners.has(id) ? { join: true } : {}),
    });
    const timing = this.electionTimeouts.get(id) ?? this.options.seeds?.[id]?.electionTimeout ?? (this.options.manualElections ? 'never' : undefined);
    if (timing) testHooksOf(node).setElectionTimeout(timing);
    const run: CommittedEntry[] = [];
    const runs = this.committedRuns.get(id) ?? [];
    runs.push(run);
    this.committedRuns.set(id, runs);
    node.committed$.subscribe((e) => run.push(e));
    node.status$.subscribe((s) => this.statuses.set(id, s));
    node.errors$.subscribe((error) => this.errors.push({ id, error }));
    this.nodes.set(id, node);
    this.startedSubject.next({ id, node, run: runs.length - 1 });
    return node;
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`${id} is not running`);
    return node;
  }

  isRunning(id: NodeId): boolean {
    return this.nodes.has(id);
  }

  storage(id: NodeId): MemoryStorage {
    return this.storages.get(id)!;
  }

  status(id: NodeId): NodeStatus | undefined {
    return this.nodes.has(id) ? this.statuses.get(id) : undefined;
  }

  /** The scheduler of node `id` (kept across restarts). */
  scheduler(id: NodeId): NodeScheduler {
    const view = this.views.get(id);
    if (!view) throw new Error(`${id} is not a member of this cluster`);
    return view;
  }

  /**
   * A clean stop, as an operator's planned restart: `node.stop(options)` (with
   * `transferLeadership`, a leader hands over first); the node counts as down once it has
   * stopped, and `start` brings it back. Writes the in-memory storage had not yet synced
   * by then are dropped as in a crash, so that none lands under the next run.
   */
  async stopNode(id: NodeId, options?: StopOptions): Promise<void> {
    const node = this.node(id);
    await node.stop(options);
    if (this.nodes.get(id) !== node) return; // crashed meanwhile
    this.nodes.delete(id);
    if (!this.options.host) this.scheduler(id).discardHeld();
    this.storages.get(id)!.crash();
  }

  /** Power loss: the node stops at once and its unsynced writes are gone. */
  crash(id: NodeId): void {
    const node = this.node(id);
    this.nodes.delete(id);
    if (!this.options.host) this.scheduler(id).discardHeld();
    this.storages.get(id)!.crash();
    void node.stop();
  }

  /**
   * Freezes a running node, as SIGSTOP or a long GC pause would: none of its timers
   * fire, none of its messages are handled and none of its syncs complete until
   * `resume`. Messages sent to it wait (they are not lost); the rest of the cluster
   * sees only silence.
   */
  pause(id: NodeId): void {
    this.node(id);
    this.scheduler(id).pause();
  }

  /** Unfreezes a paused node: everything that fell due meanwhile runs now, in order. */
  resume(id: NodeId): void {
    this.scheduler(id).resume();
  }

  isPaused(id: NodeId): boolean {
    return this.scheduler(id).paused;
  }

  async restart(id: NodeId): Promise<RaftNode> {
    if (this.nodes.has(id)) this.crash(id);
    const node = this.start(id);
    await this.clock.advance(0);
    return node;
  }

  /**
   * Starts an election on `id` now, as if its election timer had run out (etcd's MsgHup):
   * a follower or candidate campaigns, through PreVote when it is on; a leader or a
   * learner does nothing. Its messages leave through the hub, so advance the clock to
   * see the outcome.
   *
   * @example
   * cluster.campaign('n1');
   * await cluster.clock.advance(10);
   * cluster.status('n1')?.role; // 'leader'
   */
  campaign(id: NodeId): void {
    if (this.isPaused(id)) throw new Error(`${id} is paused: resume it before it can campaign`);
    if (!testHooksOf(this.node(id)).campaign()) throw new Error(`${id} has not loaded its storage yet: advance the clock first`);
  }

  /**
   * Changes when `id`'s election timer fires from now on (and across its restarts): it
   * restarts with a draw from `range`; `'never'` stops it firing by itself (then only
   * `campaign` starts its elections). The protocol's windows — the pre-vote veto, the
   * lease, CheckQuorum, the transfer deadline — keep `nodeOptions.electionTimeout`: this
   * changes only this node's patience, as etcd's randomized election timeout.
   *
   * @example
   * cluster.setElectionTimeout('n3', { min: 20, max: 20 }); // n3 times out first
   * cluster.setElectionTimeout('n2', 'never');              // n2 waits for campaign('n2')
   */
  setElectionTimeout(id: NodeId, range: TimeoutRange | 'never'): void {
    if (!this.views.has(id)) throw new Error(`${id} is not a node of this cluster`);
    this.electionTimeouts.set(id, range);
    if (this.nodes.has(id)) testHooksOf(this.node(id)).setElectionTimeout(range);
  }

  /**
   * A copy of `id`'s Raft state now: role, term, vote, log, commit/applied/durable
   * indexes, the unstable (appended, not yet durable) entries and, on a leader, each
   * follower's replication (match, next, in flight, probe/replicate/snapshot).
   *
   * @example
   * const view = cluster.replication('n1');
   * view.progress?.get('n3'); // { match: 4, next: 5, state: 'replicate', inflight: 0, ... }
   */
  replication(id: NodeId): ReplicationView {
    const view = testHooksOf(this.node(id)).inspect();
    if (!view) throw new Error(`${id} has not loaded its storage yet: advance the clock`);
    return view;
  }

  /** The terms of `id`'s durable log, by index from the first entry after its snapshot. */
  logTerms(id: NodeId): number[] {
    return this.storage(id)
      .durableEntries()
      .map((e) => e.term);
  }

  /** The scripted peer `id` (see `TestClusterOptions.scripted`). */
  peer(id: NodeId): ScriptedPeer {
    const peer = this.peers.get(id);
    if (!peer) throw new Error(`${id} is not a scripted peer of this cluster`);
    return peer;
  }

  /** Ids of running nodes that believe they lead, with their terms. */
  leaders(): { id: NodeId; term: number }[] {
    const out: { id: NodeId; term: number }[] = [];
    for (const id of this.nodes.keys()) {
      const s = this.statuses.get(id);
      if (s?.role === 'leader') out.push({ id, term: s.term });
    }
    return out;
  }

  /** The leader of the highest term among running nodes, if any. */
  leader(): NodeId | undefined {
    const all = this.leaders().sort((a, b) => b.term - a.term);
    return all[0]?.id;
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

  /** Waits until some running node leads and every running node agrees on it. */
  async waitForLeader(timeout = 5000): Promise<NodeId> {
    let leader: NodeId | undefined;
    await this.waitFor(() => {
      leader = this.leader();
      if (!leader) return false;
      const term = this.statuses.get(leader)!.term;
      return [...this.nodes.keys()].every((id) => {
        const s = this.statuses.get(id)!;
        return s.leaderId === leader && s.term === term;
      });
    }, timeout);
    return leader!;
  }

  /** Proposes a string command through `id`, advancing time until it settles. */
  async propose(id: NodeId, command: string, timeout = 5000): Promise<{ index: number; term: number }> {
    let outcome: { ok: true; value: { index: number; term: number } } | { ok: false; error: unknown } | undefined;
    this.node(id)
      .propose(new TextEncoder().encode(command))
      .then(
        (value) => (outcome = { ok: true, value }),
        (error) => (outcome = { ok: false, error }),
      );
    await this.waitFor(() => outcome !== undefined, timeout);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.value;
  }

  /** The commands a node applied in its current run, decoded as strings. */
  committedData(id: NodeId): string[] {
    const runs = this.committedRuns.get(id) ?? [];
    return (runs[runs.length - 1] ?? []).map((e) => new TextDecoder().decode(e.data));
  }

  /** Every run of committed$ of a node (one per start). */
  committedRunsOf(id: NodeId): readonly (readonly CommittedEntry[])[] {
    return this.committedRuns.get(id) ?? [];
  }

  /** Stops every node and lets in-flight work drain for `drain` virtual ms (default 1000). */
  async stop(drain = 1000): Promise<void> {
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    for (const view of this.views.values()) view.discardHeld();
    await Promise.all([...nodes.map((n) => n.stop()), ...[...this.peers.values()].map((p) => p.close())]);
    await this.clock.advance(drain);
  }
}
