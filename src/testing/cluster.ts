import { createRaftNode, RaftNode, RaftNodeOptions } from '../node';
import type { CommittedEntry } from '../messages/entry';
import type { NodeId } from '../messages/types';
import { seededRandom } from '../random';
import { MemoryStorage } from '../storage/memoryStorage';
import { MemoryHub, NetworkFaults } from '../transports/memoryHub';
import type { NodeStatus } from '../streams/status';
import { VirtualClock } from './virtualClock';

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
 * await cluster.stop();
 */
export class TestCluster {
  readonly clock = new VirtualClock();
  readonly ids: readonly NodeId[];
  readonly hub: MemoryHub;
  readonly random: () => number;
  private readonly nodes = new Map<NodeId, RaftNode>();
  private readonly storages = new Map<NodeId, MemoryStorage>();
  private readonly statuses = new Map<NodeId, NodeStatus>();
  /** Everything each node emitted on committed$, across restarts (a restart replays). */
  private readonly committedRuns = new Map<NodeId, CommittedEntry[][]>();
  readonly errors: { id: NodeId; error: Error }[] = [];

  constructor(private readonly options: TestClusterOptions) {
    const n = options.nodes;
    this.ids = typeof n === 'number' ? Array.from({ length: n }, (_, i) => `n${i + 1}`) : [...n];
    this.random = seededRandom(options.seed);
    this.hub = new MemoryHub({ scheduler: this.clock.scheduler, random: this.random, faults: options.faults });
    for (const id of this.ids) {
      this.storages.set(id, new MemoryStorage({ scheduler: this.clock.scheduler, syncDelay: options.syncDelay ?? 1 }));
      this.start(id);
    }
  }

  /** Starts (or restarts) a node on its existing storage. */
  start(id: NodeId): RaftNode {
    if (this.nodes.has(id)) throw new Error(`${id} is running`);
    const node = createRaftNode({
      id,
      peers: this.ids,
      transport: this.hub.connect(id),
      storage: this.storages.get(id)!,
      scheduler: this.clock.scheduler,
      turnScheduler: this.clock.scheduler,
      random: this.random,
      ...this.options.nodeOptions,
    });
    const run: CommittedEntry[] = [];
    const runs = this.committedRuns.get(id) ?? [];
    runs.push(run);
    this.committedRuns.set(id, runs);
    node.committed$.subscribe((e) => run.push(e));
    node.status$.subscribe((s) => this.statuses.set(id, s));
    node.errors$.subscribe((error) => this.errors.push({ id, error }));
    this.nodes.set(id, node);
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

  /** Power loss: the node stops at once and its unsynced writes are gone. */
  crash(id: NodeId): void {
    const node = this.node(id);
    this.nodes.delete(id);
    void node.stop();
    this.storages.get(id)!.crash();
  }

  async restart(id: NodeId): Promise<RaftNode> {
    if (this.nodes.has(id)) this.crash(id);
    const node = this.start(id);
    await this.clock.advance(0);
    return node;
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

  /** Stops every node and lets in-flight work drain. */
  async stop(): Promise<void> {
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    await Promise.all(nodes.map((n) => n.stop()));
    await this.clock.advance(1000);
  }
}
