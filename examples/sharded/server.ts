import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { asapScheduler, Subscription } from 'rxjs';
import { balanceLeaders, createRaftHost, FileStorage, GroupStorage, groupStorage, immediateScheduler, LeaderInfo, NodeStatus, RaftHost, SnapshotMeta, Storage, tcpHostTransport, TcpHostTransport } from '../../src';
import { createLogger, Logger } from '../kv/log';
import { measuredStorage, StorageObserver } from '../kv/measuredStorage';
import { KvMetrics } from '../kv/metrics';
import { KvStateMachine } from '../kv/stateMachine';
import type { ShardedKvConfig } from './config';
import { shardedHttpHandler, ShardView } from './http';
import { shardId } from './shards';

/** A running sharded KV server: a host of `config.groups` Raft groups, one store per group, one HTTP front end. */
export interface ShardedKvServer {
  readonly config: ShardedKvConfig;
  readonly host: RaftHost;
  readonly transport: TcpHostTransport;
  readonly shards: readonly ShardView[];
  readonly metrics: KvMetrics;
  readonly httpAddress: string;
  readonly raftAddress: string;
  /** Syncs made so far by this host's storage: the shared log's (one per flush for every shard), or the sum of every shard's `FileStorage`. */
  fsyncs(): number;
  /** Resolves once the server stops, by `stop()` (null) or because a group stopped on its own (its failure). */
  readonly stopped: Promise<Error | null>;
  /** Stops HTTP, then every group (each leader hands over first), the transport and the storage. */
  stop(): Promise<void>;
}

const hostPort = (a: { host: string; port: number }) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** Leadership transfers `balanceLeaders` runs at once on a host (see where it starts). */
const SHARD_TRANSFERS_IN_FLIGHT = 16;

/**
 * Starts a sharded KV server: a `createRaftHost` over `tcpHostTransport` (two
 * authenticated connections per pair of hosts for every shard), `config.groups` groups
 * `kv-0 … kv-<n-1>` whose members are this host and `config.peers`, all writing into one
 * write-ahead log of the host in `<dataDir>/wal/` (`--group-storage files`: each its own
 * `FileStorage` in `<dataDir>/groups/<group>/`), each with its own KV store (the KV
 * server's state machine), and an HTTP front end that routes each key to its shard by hash.
 * With `config.balance`, `balanceLeaders` spreads the shards' leaders over the hosts.
 *
 * @example
 * const server = await startShardedKvServer(config);
 * console.log(`HTTP on ${server.httpAddress}, ${server.shards.length} shards`);
 */
export async function startShardedKvServer(config: ShardedKvConfig, options: { readonly log?: Logger } = {}): Promise<ShardedKvServer> {
  const log = options.log ?? createLogger({ id: config.id, level: 'silent', format: 'json' });
  const transport = tcpHostTransport({ id: config.id, listen: config.raft, peers: config.peers, clusterId: config.clusterId, secret: config.secret });
  let httpConnections = 0;
  const metrics = new KvMetrics({
    status: () => statusOf(shards[0]),
    learner: () => false,
    keys: () => shards.reduce((n, s) => n + s.kv.size, 0),
    valueBytes: () => sumOver(shards, (kv) => kv.valueBytes, { capacityBytes: 0, usedBytes: 0, garbageBytes: 0 }),
    largeValueBytes: () => sumOver(shards, (kv) => kv.largeValueBytes, { heldBytes: 0, liveBytes: 0, relocatedBytes: 0 }),
    followers: () => null,
    httpConnections: () => httpConnections,
  });
  const storage = measuredGroups(groupStorage({ dataDir: config.dataDir, sharedLog: config.groupStorage === 'shared' }), log, metrics);
  const host = createRaftHost({
    id: config.id,
    transport,
    storage,
    groupDefaults: {
      electionTimeout: config.electionTimeout,
      heartbeatInterval: config.heartbeatInterval,
      quiesce: config.quiesce,
      turnScheduler: config.turn === 'immediate' ? immediateScheduler : asapScheduler,
      stopTimeout: 1000,
    },
    // Groups' closes, then the host's, within main's 3 s forced exit: a close that hangs is logged by name (StopTimeoutError).
    stopTimeout: 1500,
  });
  const subscriptions = new Subscription();
  const shards: (ShardView & { status: NodeStatus | null })[] = [];
  let server: http.Server | undefined;
  try {
    const raftBound = await transport.listening();
    subscriptions.add(host.errors$.subscribe((e) => log.warn({ error: e.message }, 'host'))); // e.g. UnknownGroupError while peers start
    const hosts = [config.id, ...Object.keys(config.peers)].sort();
    shards.push(...(await startShards(host, hosts, config, subscriptions)));
    if (config.balance) {
      // 16 transfers at a time (default 4): a host restarted beside 1,000 groups leads none of
      // them, and 4 slots, each held for a second's cool-down, took ~100 s to even out ~200.
      subscriptions.add(balanceLeaders(host, { maxInFlight: SHARD_TRANSFERS_IN_FLIGHT }).subscribe((e) => (e.kind === 'failed' ? log.warn({ group: e.group, to: e.to, error: e.error.message }, 'leadership transfer failed') : log.info({ group: e.group, to: e.to }, 'leadership handed over'))));
    }
    const httpAddresses: Record<string, string> = { ...config.peersHttp };
    server = http.createServer({ keepAliveTimeout: config.httpLimits.keepAliveTimeoutMs, headersTimeout: config.httpLimits.headersTimeoutMs, requestTimeout: config.httpLimits.requestTimeoutMs });
    server.maxConnections = config.httpLimits.maxConnections; // bounded, as the KV server's
    server.on('connection', (socket) => {
      httpConnections++;
      socket.once('close', () => httpConnections--);
      socket.setTimeout(config.httpLimits.headersTimeoutMs); // an idle connection that never sends a request is closed
    });
    server.on('request', (req: http.IncomingMessage) => req.socket.setTimeout(0));
    server.on('request', shardedHttpHandler({ id: config.id, shards, metrics, maxBodyBytes: config.maxValueBytes, httpAddressOf: (id) => httpAddresses[id] }));
    const httpBound = await listen(server, config.http);
    const httpAddress = hostPort({ host: httpBound.address, port: httpBound.port });
    httpAddresses[config.id] = httpAddress;
    return finish(config, { host, transport, shards, metrics, syncs: storage.syncs, server, subscriptions, httpAddress, raftAddress: hostPort(raftBound) });
  } catch (e) {
    server?.close();
    subscriptions.unsubscribe();
    await host.stop().catch(() => undefined); // the start's error is the one to report
    throw e;
  }
}

/**
 * The host's group storage with each group's writes timed for the metrics, and its syncs
 * counted: the shared log's, or the sum of every group's `FileStorage` opened so far.
 */
function measuredGroups(groups: GroupStorage, log: Logger, metrics: KvMetrics): GroupStorage & { syncs(): number } {
  const files: FileStorage[] = [];
  const measured = (group: string, storage: Storage) => measuredStorage(storage, new GroupStorageObserver(group, log, metrics));
  return {
    open: async (group) => {
      const storage = await groups.open(group);
      if (storage instanceof FileStorage) files.push(storage);
      return measured(group, storage);
    },
    remove: (group) => groups.remove(group),
    close: async () => groups.close?.(),
    syncs: () => groups.syncs?.() ?? files.reduce((n, s) => n + s.syncs, 0),
  };
}

/**
 * The field-by-field sum of `pick` over the shards' stores, from `zero`, for the host's metrics.
 *
 * @example
 * sumOver(shards, (kv) => kv.largeValueBytes, { heldBytes: 0, liveBytes: 0, relocatedBytes: 0 });
 */
function sumOver<T extends Record<keyof T, number>>(shards: readonly ShardView[], pick: (kv: KvStateMachine) => T, zero: T): T {
  const sum = { ...zero };
  for (const { kv } of shards) {
    const part = pick(kv);
    for (const field of Object.keys(zero) as (keyof T)[]) (sum[field] as number) += part[field];
  }
  return sum;
}

/** Most shards being created at once: each creation waits on its storage, so they overlap; bounded, as every wait. */
const CREATING_AT_ONCE = 32;

/** Starts every shard, `CREATING_AT_ONCE` at a time; returns them in shard order. */
async function startShards(host: RaftHost, hosts: string[], config: ShardedKvConfig, subscriptions: Subscription): Promise<(ShardView & { status: NodeStatus | null })[]> {
  const shards: (ShardView & { status: NodeStatus | null })[] = new Array(config.groups);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < config.groups; index = next++) shards[index] = await startShard(host, index, hosts, config, subscriptions);
  };
  await Promise.all(Array.from({ length: Math.min(CREATING_AT_ONCE, config.groups) }, worker));
  return shards;
}

/** Starts shard `index` on `host` and follows its streams. */
async function startShard(host: RaftHost, index: number, hosts: string[], config: ShardedKvConfig, subscriptions: Subscription): Promise<ShardView & { status: NodeStatus | null }> {
  const kv = new KvStateMachine();
  const node = await host.createGroup(shardId(index), { peers: hosts, stateMachine: kv.snapshots(), snapshot: { everyEntries: config.snapshotEvery } });
  // Subscribed before anything else is awaited: committed$ is hot and replays the log at start.
  let leader: LeaderInfo | null = null;
  const shard = { index, id: shardId(index), node, kv, leader: () => leader, status: null as NodeStatus | null };
  subscriptions.add(node.committed$.subscribe((entry) => kv.apply(entry)));
  subscriptions.add(node.leader$.subscribe((l) => (leader = l)));
  // The metrics' node gauges show shard 0's status (`statusOf`): only its status is followed.
  if (index === 0) subscriptions.add(node.status$.subscribe((s) => (shard.status = s)));
  return shard;
}

/** What the metrics' per-node gauges show: shard 0's status (the counters cover every shard). */
const statusOf = (shard: { status: NodeStatus | null } | undefined): Pick<NodeStatus, 'role' | 'term' | 'commitIndex' | 'appliedIndex' | 'lastIndex'> =>
  shard?.status ?? { role: 'follower', term: 0, commitIndex: 0, appliedIndex: 0, lastIndex: 0 };

function listen(server: http.Server, at: { host: string; port: number }): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

interface Parts {
  readonly host: RaftHost;
  readonly transport: TcpHostTransport;
  readonly shards: readonly (ShardView & { status: NodeStatus | null })[];
  readonly metrics: KvMetrics;
  readonly syncs: () => number;
  readonly server: http.Server;
  readonly subscriptions: Subscription;
  readonly httpAddress: string;
  readonly raftAddress: string;
}

/** The running server: stop, and the failure of any group (a group whose node stops on its own stops the server: fail-stop). */
function finish(config: ShardedKvConfig, p: Parts): ShardedKvServer {
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        p.server.close(() => resolve());
        p.server.closeAllConnections();
      });
      try {
        await p.host.stop({ transferLeadership: true });
      } finally {
        p.subscriptions.unsubscribe(); // also when a close outlived stopTimeout (StopTimeoutError)
      }
    })();
    return stopping;
  };
  // One promise for all groups, and a small watcher per group (not a promise and closures each).
  const stopped = new Promise<Error | null>((resolve) => {
    const ended = (error: Error) => resolve(stopping ? null : error);
    for (const s of p.shards) s.node.errors$.subscribe(new GroupEndWatch(s.id, ended));
  });
  return {
    config,
    host: p.host,
    transport: p.transport,
    shards: p.shards,
    metrics: p.metrics,
    httpAddress: p.httpAddress,
    raftAddress: p.raftAddress,
    fsyncs: p.syncs,
    stopped,
    stop,
  };
}

/** One group's storage timings into the metrics, failures into the log: methods, not three closures per group. */
class GroupStorageObserver implements StorageObserver {
  constructor(
    private readonly group: string,
    private readonly log: Logger,
    private readonly metrics: KvMetrics,
  ) {}

  written(op: 'append' | 'hard_state', seconds: number): void {
    this.metrics.storageWrite.observe({ op }, seconds);
  }

  failed(op: string, e: unknown): void {
    this.log.error({ group: this.group, op, error: String(e) }, 'storage write failed');
  }

  snapshot(meta: SnapshotMeta, seconds: number, error?: unknown): void {
    this.metrics.snapshots.inc({ result: error ? 'error' : 'ok' });
    this.metrics.snapshotDuration.observe(seconds);
    if (error) this.log.error({ group: this.group, index: meta.index, error: String(error) }, 'snapshot failed');
  }
}

/** Watches one group's `errors$` until it completes (its node stopped), then reports the last error, or that it stopped. */
class GroupEndWatch {
  private lastError: Error | null = null;

  constructor(
    private readonly group: string,
    private readonly ended: (error: Error) => void,
  ) {}

  next(error: Error): void {
    this.lastError = error;
  }

  complete(): void {
    this.ended(this.lastError ?? new Error(`group ${this.group} stopped`));
  }
}
