import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { asapScheduler, catchError, defer, EMPTY, exhaustMap, filter, Subscription, takeWhile } from 'rxjs';
import {
  createRaftNode,
  FileStorage,
  FollowerProgress,
  Membership,
  NodeStatus,
  RaftNode,
  tcpTransport,
  TcpTransport,
  immediateScheduler,
} from '../../src';
import { encodeCommand, Op } from './commands';
import type { KvServerConfig } from './config';
import { HttpError } from './errors';
import { AddMemberRequest, kvHttpHandler, MembershipOps } from './http';
import { KvMetrics } from './metrics';
import { KvStateMachine } from './stateMachine';

/** A running KV server: one Raft node, its store, and its HTTP endpoint. */
export interface KvServer {
  readonly config: KvServerConfig;
  readonly node: RaftNode;
  readonly kv: KvStateMachine;
  readonly metrics: KvMetrics;
  readonly transport: TcpTransport;
  readonly storage: FileStorage;
  readonly httpServer: http.Server;
  /** Where HTTP and Raft actually listen (ports resolved when 0 was asked). */
  readonly httpAddress: string;
  readonly raftAddress: string;
  /** The latest `status$` and `members$` values. */
  status(): NodeStatus;
  members(): Membership;
  /** Resolves once the node stops, whether by `stop()` or by a failure (fail-stop); with the failure if any. */
  readonly stopped: Promise<Error | null>;
  /** Stops HTTP, then the node (a leader hands leadership over first), the transport and the storage. */
  stop(): Promise<void>;
}

/** Extension points of `startKvServer`. */
export interface KvServerHooks {
  /** Called right after the node is created (before it starts), e.g. to watch its streams from the start. */
  readonly created?: (node: RaftNode) => Subscription;
}

const hostPort = (a: { host: string; port: number }) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/**
 * Starts a KV server: opens the write-ahead log in `config.dataDir`, listens for peers on
 * `config.raft` (TCP, authenticated with the cluster secret) and for clients on
 * `config.http`, and applies committed commands to the in-memory map. On restart the log
 * replays into the map before the node takes part again.
 *
 * @example
 * const server = await startKvServer(parseConfig(process.argv.slice(2)));
 * console.log(`HTTP on ${server.httpAddress}`);
 * process.on('SIGTERM', () => server.stop());
 */
export async function startKvServer(config: KvServerConfig, hooks: KvServerHooks = {}): Promise<KvServer> {
  const storage = await FileStorage.open(config.dataDir);
  let transport: TcpTransport | undefined;
  let httpServer: http.Server | undefined;
  try {
    const turnScheduler = config.turn === 'immediate' ? immediateScheduler : asapScheduler;
    transport = tcpTransport({
      id: config.id,
      listen: config.raft,
      peers: config.peers,
      clusterId: config.clusterId,
      secret: config.secret,
      // Members added while this node was down must reach it before it learns of them.
      acceptUnknownPeers: true,
    });
    const raftBound = await transport.listening();

    const kv = new KvStateMachine();
    const node = createRaftNode({
      id: config.id,
      peers: Object.keys(config.peers),
      join: config.join,
      addresses: { ...config.peers, [config.id]: hostPort(config.raft) },
      transport,
      storage,
      electionTimeout: config.electionTimeout,
      heartbeatInterval: config.heartbeatInterval,
      turnScheduler,
    });
    // Subscribe before anything is awaited: committed$ is hot and replays the log at start.
    const subscriptions = new Subscription();
    subscriptions.add(node.committed$.subscribe((entry) => kv.apply(entry)));
    if (hooks.created) subscriptions.add(hooks.created(node));
    let latestStatus!: NodeStatus;
    let latestMembers!: Membership;
    subscriptions.add(node.status$.subscribe((s) => (latestStatus = s)));
    subscriptions.add(node.members$.subscribe((m) => (latestMembers = m)));

    const metrics = new KvMetrics({ status: () => latestStatus, keys: () => kv.size, followers: () => node.followers() });
    subscriptions.add(node.errors$.subscribe((e) => metrics.errors.inc({ type: e.name })));
    const httpAddressOf = (id: string) => kv.httpAddresses().get(id);

    const server = http.createServer({ keepAliveTimeout: 30_000 });
    httpServer = server;
    const membership = membershipOps(node, () => latestMembers);
    server.on(
      'request',
      kvHttpHandler({
        node,
        kv,
        metrics,
        membership,
        maxBodyBytes: config.maxValueBytes,
        httpAddressOf,
        leaderElsewhere: () => {
          const leader = latestStatus.leaderId;
          return leader && leader !== config.id ? httpAddressOf(leader) ?? null : null;
        },
        status: () => statusBody(config.id, latestStatus, latestMembers, kv, httpAddressOf, node.followers()),
      }),
    );
    server.on('clientError', (_error, socket) => {
      metrics.errors.inc({ type: 'HttpParseError' });
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const httpBound = server.address() as AddressInfo;

    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await node.stop({ transferLeadership: true }); // a leader hands over first: no election gap
        subscriptions.unsubscribe();
      })();
      return stopping;
    };
    // A node that stops on its own (storage failure: fail-stop) completes errors$ too.
    const stopped = new Promise<Error | null>((resolve) => {
      let lastError: Error | null = null;
      node.errors$.subscribe({ next: (e) => (lastError = e), complete: () => resolve(stopping ? null : lastError ?? new Error('node stopped')) });
    });

    const httpAddress = hostPort({ host: httpBound.address, port: httpBound.port });
    subscriptions.add(announceHttpAddress(node, kv, config.id, httpAddress));

    return {
      config,
      node,
      kv,
      metrics,
      transport,
      storage,
      httpServer: server,
      httpAddress,
      raftAddress: hostPort(raftBound),
      status: () => latestStatus,
      members: () => latestMembers,
      stopped,
      stop,
    };
  } catch (e) {
    httpServer?.close();
    await transport?.close();
    await storage.close();
    throw e;
  }
}

/**
 * Records this node's HTTP address in the replicated store (once a leader is known and
 * the store is up to date), unless it is already there: every node can then point
 * clients at the leader's HTTP endpoint. Retried on the next leader change if it fails.
 */
function announceHttpAddress(node: RaftNode, kv: KvStateMachine, id: string, address: string): Subscription {
  return node.leader$
    .pipe(
      filter((l) => l !== null),
      exhaustMap(() =>
        defer(async () => {
          await node.read();
          if (kv.httpAddresses().get(id) === address) return;
          await node.propose(encodeCommand({ op: Op.MemberHttp, key: id, value: Buffer.from(address, 'utf8') }));
        }).pipe(catchError(() => EMPTY)),
      ),
      takeWhile(() => kv.httpAddresses().get(id) !== address),
    )
    .subscribe();
}

function statusBody(
  id: string,
  s: NodeStatus,
  m: Membership,
  kv: KvStateMachine,
  httpAddressOf: (id: string) => string | undefined,
  followers: readonly FollowerProgress[] | null,
): Record<string, unknown> {
  return {
    id,
    role: s.role,
    term: s.term,
    leader: s.leaderId,
    leaderHttp: s.leaderId ? httpAddressOf(s.leaderId) ?? null : null,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    lastIndex: s.lastIndex,
    stopped: s.stopped,
    members: {
      voters: m.voters,
      learners: m.learners,
      ...(m.joint ? { oldVoters: m.joint.oldVoters } : {}),
      configIndex: m.index,
      committed: m.committed,
      raft: m.addresses,
      http: Object.fromEntries(kv.httpAddresses()),
    },
    keys: kv.size,
    ...(followers ? { followers } : {}),
  };
}

/** The membership routes, on rxraft's membership API. */
function membershipOps(node: RaftNode, members: () => Membership): MembershipOps {
  const view = (m: Membership) => ({ voters: m.voters, learners: m.learners, configIndex: m.index });
  return {
    async add(request: AddMemberRequest) {
      let m = await node.addLearner(request.id, request.raft);
      if (request.http) {
        await node.propose(encodeCommand({ op: Op.MemberHttp, key: request.id, value: Buffer.from(request.http, 'utf8') }));
      }
      // promote() waits for the learner to catch up before it changes the configuration.
      if (!request.learner) m = await node.promote(request.id);
      return { added: request.id, as: request.learner ? 'learner' : 'voter', members: view(m) };
    },
    async remove(id: string) {
      if (!members().voters.includes(id) && !members().learners.includes(id)) {
        throw new HttpError(404, `${id} is not a member`);
      }
      return { removed: id, members: view(await node.removeMember(id)) };
    },
    async transfer(to: string | undefined) {
      const { leaderId } = await node.transferLeadership(to);
      return { leader: leaderId };
    },
  };
}
