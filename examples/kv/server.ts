import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { asapScheduler, catchError, defer, EMPTY, exhaustMap, filter, Subscription, takeWhile } from 'rxjs';
import {
  createRaftNode,
  eventLoopWrites,
  FileStorage,
  FileStorageOptions,
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
import { reportNodeEvents } from './events';
import { createLogger, Logger } from './log';
import { measuredStorage } from './measuredStorage';
import { KvMetrics } from './metrics';
import { KvStateMachine } from './stateMachine';

/** A running KV server: one Raft node, its store, and its HTTP endpoint. */
export interface KvServer {
  readonly config: KvServerConfig;
  readonly node: RaftNode;
  readonly kv: KvStateMachine;
  readonly metrics: KvMetrics;
  readonly log: Logger;
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
  /** Where the server logs (default: none). */
  readonly log?: Logger;
}

const hostPort = (a: { host: string; port: number }) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
/** A storage write slower than this is logged (info): next to an election report it tells a slow disk from a stalled process. */
const SLOW_WRITE_SECONDS = 0.1;

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
  const log = hooks.log ?? createLogger({ id: config.id, level: 'silent', format: 'json' });
  // Whether this node leads now (from status$): with --log-writes followers, the log is
  // written on the event loop only while it does not, so a leader stays responsive.
  let leading = false;
  const storage = await FileStorage.open(config.dataDir, storageOptions(config.logWrites, () => !leading));
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
    // Created first: the storage wrapper and the node's streams report into it from the start.
    let latestStatus!: NodeStatus;
    let latestMembers!: Membership;
    let httpConnections = 0;
    const metrics = new KvMetrics({
      status: () => latestStatus,
      learner: () => latestMembers.learners.includes(config.id),
      keys: () => kv.size,
      valueBytes: () => kv.valueBytes,
      largeValueBytes: () => kv.largeValueBytes,
      followers: () => node.followers(),
      httpConnections: () => httpConnections,
    });
    const measured = measuredStorage(storage, {
      written: (op, seconds) => {
        metrics.storageWrite.observe({ op }, seconds);
        if (seconds >= SLOW_WRITE_SECONDS) log.info({ op, ms: Math.round(seconds * 1000) }, 'slow storage write');
      },
      failed: (op, error) => log.error({ op, error: error instanceof Error ? error.message : String(error) }, 'storage write failed'),
      snapshot: (meta, seconds, error) => {
        metrics.snapshots.inc({ result: error ? 'error' : 'ok' });
        metrics.snapshotDuration.observe(seconds);
        if (error) log.error({ index: meta.index, term: meta.term, error: String(error) }, 'snapshot failed');
        else log.info({ index: meta.index, term: meta.term, seconds }, 'snapshot taken');
      },
    });
    const node = createRaftNode({
      id: config.id,
      peers: [config.id, ...Object.keys(config.peers)], // --peers lists the others
      join: config.join,
      addresses: { ...config.peers, [config.id]: hostPort(config.raft) },
      transport,
      storage: measured,
      electionTimeout: config.electionTimeout,
      heartbeatInterval: config.heartbeatInterval,
      // Clients usually write through the leader one request at a time: no commit notice
      // to followers that wait for none (one AppendEntries and answer less per write each).
      eagerCommitNotices: false,
      turnScheduler,
      stateMachine: kv.snapshots(),
      snapshot: { everyEntries: config.snapshotEvery },
      // Within main's 3 s forced exit: a close that hangs is logged by name (StopTimeoutError), not cut off silently.
      stopTimeout: 2000,
    });
    // Subscribe before anything is awaited: committed$ is hot and replays the log at start.
    const subscriptions = new Subscription();
    subscriptions.add(
      node.committed$.subscribe((entry) => {
        kv.apply(entry);
        metrics.noteCommitted();
      }),
    );
    if (hooks.created) subscriptions.add(hooks.created(node));
    subscriptions.add(
      node.status$.subscribe((s) => {
        latestStatus = s;
        leading = s.role === 'leader';
      }),
    );
    subscriptions.add(node.members$.subscribe((m) => (latestMembers = m)));
    subscriptions.add(reportNodeEvents(node, log, metrics));
    const httpAddressOf = (id: string) => kv.httpAddresses().get(id);

    const limits = config.httpLimits;
    const server = http.createServer({
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often the header and request deadlines are checked.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
    });
    // Bounded: past the limit a new connection is closed as it arrives, so idle clients
    // cannot take the descriptors the write-ahead log and the Raft transport need (issue 18).
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket) => {
      httpConnections++;
      socket.once('close', () => httpConnections--);
      // A connection that never sends a byte holds its slot (and descriptor) until a
      // deadline closes it. Node 20-24's own check (every connectionsCheckingInterval)
      // does, through clientError (docs/notes/http-flood-flake.md); this timeout does it
      // at headersTimeoutMs without depending on that check (node:http destroys a socket
      // whose timeout nobody handles). Whichever comes first closes it.
      socket.setTimeout(limits.headersTimeoutMs);
    });
    // Once a request arrives, its deadlines are requestTimeout and, between requests,
    // keepAliveTimeout (node:http sets that one itself).
    server.on('request', (req: http.IncomingMessage) => req.socket.setTimeout(0));
    let dropped = 0;
    server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
      dropped++;
      metrics.connectionsDropped.inc();
      // 1st, 10th, 100th, ...: a flood is visible in the log without flooding it.
      if (Number.isInteger(Math.log10(dropped))) {
        log.warn({ address: `${data?.remoteAddress}:${data?.remotePort}`, dropped, limit: limits.maxConnections }, 'HTTP connection limit reached: connection closed');
      }
    });
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
        members: () => membersBody(latestMembers, kv),
      }),
    );
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      // Node's deadline checker reports a request (or an idle connection) past
      // headersTimeout/requestTimeout here too: that is a 408, not a malformed request.
      const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      metrics.errors.inc({ type: timedOut ? 'HttpRequestTimeout' : 'HttpParseError' });
      const statusLine = timedOut ? '408 Request Timeout' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${statusLine}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
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
        try {
          await node.stop({ transferLeadership: true }); // a leader hands over first: no election gap
        } finally {
          subscriptions.unsubscribe(); // also when a close outlived stopTimeout (StopTimeoutError)
        }
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
      log,
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

/** FileStorage's options for `--log-writes`: the log written through the thread pool, on the event loop, or on it only while `following()`. */
function storageOptions(logWrites: KvServerConfig['logWrites'], following: () => boolean): FileStorageOptions {
  if (logWrites === 'thread-pool') return {};
  return { fs: eventLoopWrites(undefined, logWrites === 'followers' ? following : undefined), logSync: 'dsync' };
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
    members: membersBody(m, kv),
    keys: kv.size,
    ...(followers ? { followers } : {}),
  };
}

/** The cluster's members as `GET /members` and `GET /status` show them. */
function membersBody(m: Membership, kv: KvStateMachine): Record<string, unknown> {
  return {
    voters: m.voters,
    learners: m.learners,
    ...(m.joint ? { oldVoters: m.joint.oldVoters } : {}),
    configIndex: m.index,
    committed: m.committed,
    raft: m.addresses,
    http: Object.fromEntries(kv.httpAddresses()),
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
