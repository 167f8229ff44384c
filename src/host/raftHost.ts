import { Observable, SchedulerLike, Subject, Subscription } from 'rxjs';
import type { RaftNode, StopOptions } from '../api';
import { InvalidOptionsError, StopTimeoutError } from '../errors';
import { GroupId, groupIdProblem } from '../messages/groupId';
import type { NodeId } from '../messages/types';
import { createRaftNode } from '../node';
import type { Storage } from '../storage/storage';
import { defaultScheduler } from '../defaults';
import { DEFAULT_ELECTION_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_STOP_TIMEOUT } from '../options';
import { closeWithin } from '../streams/closeWithin';
import { GroupRouter } from './groupRouter';
import { GroupStorage, groupStorage } from './groupStorage';
import { HeartbeatClocks } from './heartbeatClocks';
import { HostLiveness } from './hostLiveness';
import { GroupExistsError, HostStoppedError, TooManyGroupsError } from './hostErrors';
import { checkHostOptions, GroupOptions, RaftHostOptions } from './hostOptions';

export type { GroupOptions, RaftHostOptions } from './hostOptions';

/**
 * Many Raft groups in one process, sharing one transport: see `createRaftHost`.
 *
 * @example
 * const g = await host.createGroup('users-3', { peers: ['h1', 'h2', 'h3'] });
 * host.groups();                 // ['users-3']
 * host.group('users-3') === g;   // true
 * await host.removeGroup('users-3');
 * await host.stop();
 */
export interface RaftHost {
  readonly id: NodeId;
  /** Problems of the host: the shared transport's (bad input, failed connections) and messages for groups it does not run (`UnknownGroupError`, once per group until it runs here). A group's own problems are on its `errors$`. */
  readonly errors$: Observable<Error>;
  /**
   * Starts (or restarts, from its storage) a group on this host and returns its node: a
   * `RaftNode` like `createRaftNode`'s, whose members are host ids. Rejects with
   * `InvalidOptionsError` (a bad group id or option), `GroupExistsError`,
   * `TooManyGroupsError` or `HostStoppedError`. Stopping the node (`stop()`) stops the
   * group and keeps its storage; `removeGroup` also frees it.
   */
  createGroup(group: GroupId, options: GroupOptions): Promise<RaftNode>;
  /** The running group's node, if this host runs it. */
  group(group: GroupId): RaftNode | undefined;
  /** The ids of the running groups. */
  groups(): GroupId[];
  /** Stops the group if it runs and frees its storage (with `dataDir`: deletes its directory). Other hosts' replicas are theirs to remove. */
  removeGroup(group: GroupId): Promise<void>;
  /**
   * Stops every group (keeping their storage; each node's `stop(options)`), then closes
   * the groups' storage and the shared transport. Rejects with `StopTimeoutError` when a
   * group's node did not close within its `stopTimeout` (`'<group> storage'` in
   * `pending`) or the host's own parts not within the host's `stopTimeout`.
   */
  stop(options?: StopOptions): Promise<void>;
}

/**
 * Creates a host of Raft groups: many independent Raft groups (shards) in one process,
 * created and removed at run time, each its own `RaftNode` with its own membership (a
 * group may live on any subset of the hosts), all sharing one transport: over TCP, two
 * authenticated connections per pair of hosts (a bulk lane for entries, a control lane
 * for heartbeats, votes and answers) carry every group's messages, and the messages of
 * one turn for one host travel in one frame per lane. The leaders of its groups
 * heartbeat on one shared clock per interval, so their heartbeats share those frames.
 * A group's members are host ids.
 * Each group keeps its own log (`<dataDir>/groups/<groupId>/`), or with `sharedLog: true`
 * all groups write into one log of the host (`<dataDir>/wal/`, one fsync per turn for all
 * of them). Idle groups quiesce (`RaftNodeOptions.quiesce`, on by default here): the host
 * pings every peer host once per heartbeat interval (`HostLiveness`) and wakes its quiet
 * groups when one stops answering, restarts or stops a group.
 *
 * @example
 * const transport = tcpHostTransport({ id: 'h1', listen: { host: '0.0.0.0', port: 7001 }, peers, clusterId: 'shards', secret });
 * const host = createRaftHost({ id: 'h1', transport, dataDir: '/var/lib/shards' });
 * const orders = await host.createGroup('orders-1', { peers: ['h1', 'h2', 'h3'] });
 * orders.leader$.subscribe((l) => console.log('orders-1 led by', l?.id));
 * await orders.propose(new TextEncoder().encode('set x 1'));
 * await host.removeGroup('orders-1'); // stopped, its directory deleted
 */
export function createRaftHost(options: RaftHostOptions): RaftHost {
  return new Host(checkHostOptions(options));
}

class Host implements RaftHost {
  readonly id: NodeId;
  readonly errors$: Observable<Error>;
  private readonly errors = new Subject<Error>();
  private readonly running = new Map<GroupId, RaftNode>();
  /** Groups whose storage is being opened. */
  private readonly opening = new Set<GroupId>();
  private readonly removing = new Map<GroupId, Promise<void>>();
  private readonly router: GroupRouter;
  /** One heartbeat clock per interval for the groups' leaders: their heartbeats leave together. */
  private readonly clocks = new HeartbeatClocks();
  private readonly storage: GroupStorage;
  private readonly transportErrors: Subscription;
  private readonly maxGroups: number;
  /** The groups' default scheduler: the host's stop deadline runs on it. */
  private readonly scheduler: SchedulerLike;
  private readonly stopTimeout: number;
  /** Watches the peer hosts and wakes quiet groups (quiescence); null when the transport cannot carry liveness messages. */
  private readonly liveness: HostLiveness | null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: RaftHostOptions) {
    this.id = options.id;
    this.errors$ = this.errors.asObservable();
    this.maxGroups = options.maxGroups ?? 10_000;
    this.scheduler = options.groupDefaults?.scheduler ?? defaultScheduler;
    this.stopTimeout = options.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
    const given = options.storage;
    this.storage = typeof given === 'object' ? given : groupStorage({ dataDir: options.dataDir, factory: given, sharedLog: options.sharedLog });
    this.router = new GroupRouter(options.transport, (e) => this.errors.next(e));
    this.transportErrors = options.transport.errors$.subscribe((e) => this.errors.next(e));
    this.liveness = hostLiveness(options, this.clocks, (e) => this.errors.next(e));
  }

  async createGroup(group: GroupId, options: GroupOptions): Promise<RaftNode> {
    this.checkCanCreate(group);
    this.opening.add(group);
    let storage: Storage;
    try {
      storage = await this.storage.open(group);
    } finally {
      this.opening.delete(group);
    }
    if (this.stopping) {
      await storage.close();
      throw new HostStoppedError(this.id);
    }
    const transport = this.router.attach(group, () => {
      this.running.delete(group);
      this.liveness?.groupStopped();
    });
    try {
      const given = { ...this.options.groupDefaults, ...options };
      const heartbeatTicks = given.heartbeatTicks ?? this.clocks.for(given.scheduler ?? defaultScheduler, given.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL);
      const quiet = { quiesce: given.quiesce ?? this.liveness !== null, wakeups: given.wakeups ?? this.liveness?.wakeupsOf(group) };
      const node = createRaftNode({ ...given, heartbeatTicks, ...quiet, id: this.id, transport, storage });
      this.liveness?.watch(given.peers ?? []);
      this.running.set(group, node);
      return node;
    } catch (e) {
      await Promise.allSettled([transport.close(), storage.close()]);
      throw e;
    }
  }

  group(group: GroupId): RaftNode | undefined {
    return this.running.get(group);
  }

  groups(): GroupId[] {
    return [...this.running.keys()];
  }

  removeGroup(group: GroupId): Promise<void> {
    const problem = groupIdProblem(group);
    if (problem !== null) return Promise.reject(new InvalidOptionsError('group', problem));
    if (this.opening.has(group)) return Promise.reject(new GroupExistsError(group, 'creating'));
    const pending = this.removing.get(group);
    if (pending) return pending;
    const node = this.running.get(group);
    const removal = (async () => {
      await node?.stop();
      await this.storage.remove(group);
    })().finally(() => this.removing.delete(group));
    this.removing.set(group, removal);
    return removal;
  }

  stop(options?: StopOptions): Promise<void> {
    this.stopping ??= (async () => {
      const lateGroups = await this.stopGroups(options);
      this.router.stop();
      this.liveness?.stop();
      this.transportErrors.unsubscribe();
      const own = { storage: { close: () => this.closeStorage() }, transport: this.options.transport };
      const lateOwn = await closeWithin(this.id, own, this.stopTimeout, this.scheduler).then(() => [], (e: StopTimeoutError) => e.pending);
      this.errors.complete();
      if (lateGroups.length + lateOwn.length > 0) throw new StopTimeoutError(this.id, [...lateGroups, ...lateOwn], this.stopTimeout);
    })();
    return this.stopping;
  }

  /** Stops every running group's node; returns what did not close within the node's `stopTimeout`, as `'<group> <part>'`. */
  private async stopGroups(options?: StopOptions): Promise<string[]> {
    const late = (group: GroupId, node: RaftNode) =>
      node.stop(options).then(
        () => [],
        (e: unknown) => (e instanceof StopTimeoutError ? e.pending.map((part) => `${group} ${part}`) : []),
      );
    return (await Promise.all([...this.running].map(([group, node]) => late(group, node)))).flat();
  }

  /** Waits for the removals under way, then closes what the groups' storage shares (a failure is reported on `errors$`). */
  private async closeStorage(): Promise<void> {
    await Promise.allSettled([...this.removing.values()]);
    await this.storage.close?.().catch((e: unknown) => this.errors.next(e instanceof Error ? e : new Error(String(e))));
  }

  /** Throws why `group` cannot be created now. */
  private checkCanCreate(group: GroupId): void {
    const problem = groupIdProblem(group);
    if (problem !== null) throw new InvalidOptionsError('group', problem);
    if (this.stopping) throw new HostStoppedError(this.id);
    if (this.running.has(group)) throw new GroupExistsError(group, 'running');
    if (this.opening.has(group)) throw new GroupExistsError(group, 'creating');
    if (this.removing.has(group)) throw new GroupExistsError(group, 'removing');
    if (this.running.size + this.opening.size >= this.maxGroups) throw new TooManyGroupsError(this.maxGroups);
  }
}

/**
 * The host's liveness watch, over its transport's liveness messages, pinging on the
 * groups' shared heartbeat clock (`groupDefaults.heartbeatInterval`) and counting a host silent after
 * `groupDefaults.electionTimeout.min` and as many heartbeat ticks (defaults as for a node); null when the transport has
 * no `sendAlive` / `alive$` (its groups then do not quiesce unless asked).
 */
function hostLiveness(o: RaftHostOptions, clocks: HeartbeatClocks, report: (e: Error) => void): HostLiveness | null {
  const t = o.transport;
  if (typeof t.sendAlive !== 'function' || t.alive$ === undefined) return null;
  const d = o.groupDefaults ?? {};
  const link = { sendAlive: t.sendAlive.bind(t), alive$: t.alive$ };
  const scheduler = d.scheduler ?? defaultScheduler;
  const interval = d.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
  const timeout = d.electionTimeout?.min ?? DEFAULT_ELECTION_TIMEOUT.min;
  const ticks$ = d.heartbeatTicks ?? clocks.for(scheduler, interval);
  return new HostLiveness({ id: o.id, link, scheduler, ticks$, timeout, silentTicks: Math.ceil(timeout / interval), report });
}
