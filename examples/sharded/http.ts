import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LeaderInfo, RaftNode } from '../../src';
import { HttpError, httpFailure } from '../kv/errors';
import { kvHttpHandler, MembershipOps } from '../kv/http';
import type { KvMetrics } from '../kv/metrics';
import type { KvStateMachine } from '../kv/stateMachine';
import { shardOf } from './shards';

/** One shard as the HTTP front end sees it: its group, its store and who leads it (from the group's `leader$`). */
export interface ShardView {
  readonly index: number;
  readonly id: string;
  readonly node: RaftNode;
  readonly kv: KvStateMachine;
  /** The latest value of the group's `leader$`. */
  leader(): LeaderInfo | null;
}

/** What the sharded front end works with. */
export interface ShardedHttpDeps {
  /** This host's id. */
  readonly id: string;
  readonly shards: readonly ShardView[];
  readonly metrics: KvMetrics;
  readonly maxBodyBytes: number;
  /** A host's HTTP address, for leader hints (this host's own included). */
  readonly httpAddressOf: (host: string) => string | undefined;
}

/** Membership is not changed through the sharded front end: every shard's members are the hosts it was started with. */
const NO_MEMBERSHIP: MembershipOps = {
  add: () => Promise.reject(new HttpError(501, 'membership changes are not served by the sharded example')),
  remove: () => Promise.reject(new HttpError(501, 'membership changes are not served by the sharded example')),
  transfer: () => Promise.reject(new HttpError(501, 'leadership transfer is not served by the sharded example')),
};

/**
 * The HTTP API of the sharded KV server, as a `node:http` request listener:
 *
 * | route | what |
 * |---|---|
 * | `GET/PUT/DELETE /kv/:key`, `POST /kv/:key?cas=` | as the KV server, in the key's shard (`shardOf(key)`) |
 * | `GET /shards` | each shard: its leader (host id, term) and the leader's HTTP address |
 * | `GET /status` | this host: id, shards, how many it leads |
 * | `GET /metrics` | Prometheus text: the KV server's metrics, counted over every shard |
 *
 * A key's request is served by that shard's group on this host, exactly as the KV server
 * serves a request on a follower: a write on a host that does not lead the shard is
 * forwarded by rxraft to the shard's leader (over the hosts' shared connection), a read
 * confirms with the leader (ReadIndex) and reads the local replica. So every host serves
 * every key. Each answer names the shard and its leader as this host follows it
 * (`X-Raft-Group`, `X-Raft-Group-Leader`, `X-Raft-Group-Leader-Http`), so a client can
 * send the next request for that shard to its leader directly.
 *
 * @example
 * http.createServer(shardedHttpHandler({ id: 'h1', shards, metrics, maxBodyBytes: 1 << 20, httpAddressOf }));
 */
export function shardedHttpHandler(deps: ShardedHttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const handlerOf = (shard: ShardView) =>
    kvHttpHandler({
      node: shard.node,
      kv: shard.kv,
      metrics: deps.metrics,
      membership: NO_MEMBERSHIP,
      maxBodyBytes: deps.maxBodyBytes,
      httpAddressOf: deps.httpAddressOf,
      leaderElsewhere: () => {
        const leader = shard.leader();
        return leader && !leader.self ? deps.httpAddressOf(leader.id) ?? null : null;
      },
      status: () => shardBody(shard, deps.httpAddressOf),
      members: () => ({}),
    });
  // Each shard's KV routes are made at its first request: a KV handler is a dozen closures
  // and route objects (about 2 KiB), and most shards of a host with thousands sit idle.
  const handlers: ((req: IncomingMessage, res: ServerResponse) => void)[] = new Array(deps.shards.length);
  const own: Readonly<Record<string, (() => unknown) | undefined>> = {
    '/shards': () => ({ shards: deps.shards.map((s) => shardBody(s, deps.httpAddressOf)) }),
    '/status': () => ({ id: deps.id, shards: deps.shards.length, leading: deps.shards.filter((s) => s.leader()?.self).length }),
  };
  return (req, res) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    if (pathname.startsWith('/kv/') && pathname.length > 4) {
      const shard = deps.shards[shardOf(keyOf(pathname.slice(4)), deps.shards.length)];
      const leader = shard.leader();
      res.setHeader('X-Raft-Group', shard.id);
      if (leader) res.setHeader('X-Raft-Group-Leader', leader.id);
      const leaderHttp = leader ? deps.httpAddressOf(leader.id) : undefined;
      if (leaderHttp) res.setHeader('X-Raft-Group-Leader-Http', leaderHttp);
      (handlers[shard.index] ??= handlerOf(shard))(req, res);
      return;
    }
    if (pathname === '/metrics' && req.method === 'GET') {
      deps.metrics.render().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType, 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
        },
        () => res.writeHead(500).end(),
      );
      return;
    }
    const route = own[pathname];
    const failure = route
      ? req.method === 'GET'
        ? null
        : httpFailure(new HttpError(405, `${req.method} not allowed on ${pathname}; allowed: GET`, { Allow: 'GET' }))
      : httpFailure(new HttpError(404, `no route ${pathname}; try /kv/:key, /shards, /status, /metrics`));
    const [status, body, headers] = failure ? [failure.status, failure.body, failure.headers ?? {}] : [200, route!(), {}];
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
}

/**
 * The key a `/kv/` path names, for routing only: a key that does not decode is routed as
 * the empty key, to one fixed shard, whose KV handler answers 400 with the reason.
 */
function keyOf(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}

function shardBody(shard: ShardView, httpAddressOf: (host: string) => string | undefined): Record<string, unknown> {
  const leader = shard.leader();
  return {
    shard: shard.index,
    group: shard.id,
    leader: leader?.id ?? null,
    term: leader?.term ?? null,
    leaderHttp: leader ? httpAddressOf(leader.id) ?? null : null,
    appliedIndex: shard.kv.appliedIndex,
    keys: shard.kv.size,
  };
}
