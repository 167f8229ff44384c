import type { SchedulerLike } from 'rxjs';
import type { LeaderInfo, RaftNode } from '../../src/api';
import { createRaftHost, GroupOptions, RaftHost } from '../../src/host/raftHost';
import type { CommittedEntry } from '../../src/messages/entry';
import type { NodeId } from '../../src/messages/types';
import { seededRandom } from '../../src/random';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { VirtualClock } from '../../src/testing/virtualClock';
import { MemoryHub } from '../../src/transports/memoryHub';

/** Upper bound of any wait, in virtual milliseconds. */
const MAX_WAIT = 20_000;
const STEP = 10;

/**
 * Hosts of Raft groups on one `MemoryHub`, on virtual time with a fixed seed. Remembers,
 * per host and group, the latest `leader$` and everything committed, and keeps each
 * group's `MemoryStorage` across a host's restarts.
 */
export class Hosts {
  readonly clock = new VirtualClock();
  readonly scheduler: SchedulerLike = this.clock.scheduler;
  readonly random: () => number;
  readonly hub: MemoryHub;
  readonly hosts = new Map<NodeId, RaftHost>();
  readonly errors: { host: NodeId; error: Error }[] = [];
  private readonly leaders = new Map<string, LeaderInfo | null>();
  private readonly committed = new Map<string, string[]>();
  private readonly storages = new Map<string, MemoryStorage>();

  constructor(ids: readonly NodeId[], seed: number) {
    this.random = seededRandom(seed);
    this.hub = new MemoryHub({ scheduler: this.scheduler, random: this.random, faults: { delay: { min: 1, max: 3 } } });
    for (const id of ids) this.start(id);
  }

  start(id: NodeId): RaftHost {
    const host = createRaftHost({
      id,
      transport: this.hub.connectHost(id),
      storage: (group) => this.storageOf(id, group),
      groupDefaults: { scheduler: this.scheduler, turnScheduler: this.scheduler, random: this.random, electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 },
    });
    host.errors$.subscribe((error) => this.errors.push({ host: id, error }));
    this.hosts.set(id, host);
    return host;
  }

  host(id: NodeId): RaftHost {
    const host = this.hosts.get(id);
    if (!host) throw new Error(`no host ${id}`);
    return host;
  }

  /** Creates `group` on each of `on`, with those hosts as its voters (`options` per host when a function: a state machine of its own). */
  async create(group: string, on: readonly NodeId[], options: Partial<GroupOptions> | ((host: NodeId) => Partial<GroupOptions>) = {}): Promise<void> {
    for (const id of on) this.watch(id, group, await this.host(id).createGroup(group, { peers: on, ...(typeof options === 'function' ? options(id) : options) }));
  }

  /** The storage of `group` on `host` (kept across the host's restarts). */
  storage(host: NodeId, group: string): MemoryStorage {
    return this.storageOf(host, group);
  }

  node(host: NodeId, group: string): RaftNode {
    const node = this.host(host).group(group);
    if (!node) throw new Error(`${host} does not run ${group}`);
    return node;
  }

  /** The leader every running replica of `group` on `on` agrees on, or null. */
  leaderOf(group: string, on: readonly NodeId[]): NodeId | null {
    const seen = on.map((id) => this.leaders.get(`${id}/${group}`)?.id ?? null);
    return seen[0] !== null && seen.every((l) => l === seen[0]) ? seen[0] : null;
  }

  committedOn(host: NodeId, group: string): string[] {
    return this.committed.get(`${host}/${group}`) ?? [];
  }

  /** Advances virtual time until `done()` holds; throws after `MAX_WAIT` virtual ms. */
  async waitFor(done: () => boolean, what: string): Promise<void> {
    for (let waited = 0; !done(); waited += STEP) {
      if (waited >= MAX_WAIT) throw new Error(`not within ${MAX_WAIT} virtual ms: ${what}`);
      await this.clock.advance(STEP);
    }
  }

  /** Proposes `text` in `group` through its leader, once the hosts of `on` agree it is one of them, and waits until every host of `on` applied it. */
  async commit(group: string, on: readonly NodeId[], text: string): Promise<void> {
    await this.waitFor(() => on.includes(this.leaderOf(group, on) ?? ''), `a leader of ${group} among ${on.join(', ')}`);
    const leader = this.leaderOf(group, on) as NodeId;
    const proposed = this.node(leader, group).propose(Buffer.from(text));
    await this.waitFor(() => on.every((id) => this.committedOn(id, group).includes(text)), `${text} committed in ${group}`);
    await proposed;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.stop()));
    await this.clock.advance(1000);
  }

  private storageOf(host: NodeId, group: string): MemoryStorage {
    const key = `${host}/${group}`;
    const storage = this.storages.get(key) ?? new MemoryStorage({ scheduler: this.scheduler, syncDelay: 1 });
    this.storages.set(key, storage);
    return storage;
  }

  private watch(host: NodeId, group: string, node: RaftNode): void {
    const key = `${host}/${group}`;
    this.committed.set(key, []);
    node.leader$.subscribe((l) => this.leaders.set(key, l));
    node.committed$.subscribe((e: CommittedEntry) => {
      if (e.data.length > 0) this.committed.get(key)?.push(Buffer.from(e.data).toString());
    });
  }
}
