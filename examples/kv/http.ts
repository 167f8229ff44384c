import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RaftNode } from '../../src';
import { encodeCommand, MAX_KEY_BYTES, Op } from './commands';
import { HttpError, httpFailure } from './errors';
import type { KvMetrics } from './metrics';
import { KvStateMachine, Outcome } from './stateMachine';

/** A request to add a member, as `POST /members` takes it. */
export interface AddMemberRequest {
  readonly id: string;
  /** The new member's Raft address (`host:port`). */
  readonly raft: string;
  /** Its HTTP address, recorded so clients can be pointed at it. */
  readonly http?: string;
  /** Leave it a learner (true) or promote it to voter once it has caught up (false, default). */
  readonly learner: boolean;
}

/**
 * Membership changes, as the HTTP routes need them. Each returns what to answer with;
 * an unsupported operation throws an `HttpError` (e.g. 501).
 */
export interface MembershipOps {
  add(request: AddMemberRequest): Promise<Record<string, unknown>>;
  remove(id: string): Promise<Record<string, unknown>>;
  transfer(to: string | undefined): Promise<Record<string, unknown>>;
}

/** What the HTTP routes work with. */
export interface KvHttpDeps {
  readonly node: RaftNode;
  readonly kv: KvStateMachine;
  readonly metrics: KvMetrics;
  readonly membership: MembershipOps;
  /** The body of `GET /status`. */
  readonly status: () => Record<string, unknown>;
  /** The body of `GET /members`. */
  readonly members: () => Record<string, unknown>;
  /** Largest request body, in bytes. */
  readonly maxBodyBytes: number;
  /** A member's HTTP address, for leader hints. */
  readonly httpAddressOf: (id: string) => string | undefined;
  /** The leader's HTTP address when another node leads and its address is known, else null. */
  readonly leaderElsewhere: () => string | null;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: Params) => Promise<void> | void;

interface Params {
  /** Path and query of the request. */
  readonly url: { readonly pathname: string; readonly search: string; readonly searchParams: URLSearchParams };
  /** The decoded path parameter (`:key` or `:id`). */
  readonly arg: string;
}

interface Route {
  /** Metrics label. */
  readonly name: string;
  readonly prefix: string;
  /** Whether the path continues with a parameter after `prefix`. */
  readonly param: boolean;
  readonly methods: Readonly<Record<string, Handler>>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Parses `Idempotency-Key: <clientId>:<seq>` into a client session, if present. */
export function parseIdempotencyKey(header: string | string[] | undefined): { clientId: string; seq: number } | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw new HttpError(400, 'one Idempotency-Key header at most');
  const colon = header.lastIndexOf(':');
  const clientId = header.slice(0, colon);
  const seqText = header.slice(colon + 1);
  const seq = Number(seqText);
  if (colon <= 0 || clientId.length > 128 || !/^\d{1,15}$/.test(seqText) || !Number.isSafeInteger(seq)) {
    throw new HttpError(400, 'Idempotency-Key must be <clientId>:<seq>: a client id of 1-128 characters and a non-negative integer');
  }
  return { clientId, seq };
}

function decodeKey(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad key: invalid percent-encoding');
  }
  if (key.length === 0) throw new HttpError(400, 'bad key: empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new HttpError(400, `bad key: longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new HttpError(400, 'bad key: control characters');
  return key;
}

/** Reads the whole body, refusing more than `limit` bytes with 413. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new HttpError(413, `body larger than ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
      failed = true;
    });
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { ...headers, 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The HTTP API of the KV server, as a `node:http` request listener:
 *
 * | route | what |
 * |---|---|
 * | `GET /kv/:key` | the value (linearizable read); `?stale=1` local, `?lease=1` leader lease |
 * | `PUT /kv/:key` | stores the body |
 * | `DELETE /kv/:key` | removes the key |
 * | `POST /kv/:key?cas=<expected>` | replaces the value with the body if it equals `expected`; 412 if not |
 * | `GET /status` | role, term, leader, commit and applied index, members |
 * | `GET /metrics` | Prometheus text format |
 * | `GET /members` | voters, learners, their Raft and HTTP addresses |
 * | `POST /members` | `{ id, raft, http?, learner? }`: adds a member |
 * | `DELETE /members/:id` | removes a member |
 * | `POST /transfer` | `{ to? }`: hands leadership over |
 *
 * Writes answer once committed and applied. With `Idempotency-Key: <clientId>:<seq>` a
 * write is applied at most once however often it is retried, through any node; the same
 * key with a different request is refused with 422. Leader-only routes (`POST /members`,
 * `DELETE /members/:id`, `POST /transfer`) on a follower redirect (307, `Location`) to the
 * leader when its address is known.
 *
 * @example
 * const server = http.createServer(kvHttpHandler({ node, kv, metrics, membership, status, members, maxBodyBytes, httpAddressOf, leaderElsewhere }));
 */
export function kvHttpHandler(deps: KvHttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { node, kv, metrics } = deps;

  /**
   * Proposes a write and answers once it is applied: 200, or `status(outcome)` when the
   * outcome has its own (412 for a compare-and-set that found another value). A retry
   * with an Idempotency-Key resolves with the original entry: if that entry holds another
   * command, the key was reused for a different request, answered 422 (nothing applied).
   */
  async function write(
    req: IncomingMessage,
    res: ServerResponse,
    opName: string,
    command: Uint8Array,
    answer: (o: Outcome | undefined) => Record<string, unknown>,
    status: (o: Outcome | undefined) => number = () => 200,
  ): Promise<void> {
    const session = parseIdempotencyKey(req.headers['idempotency-key']);
    let index: number;
    try {
      ({ index } = await node.propose(command, session ? { session } : undefined));
      metrics.proposals.inc({ op: opName, result: 'ok' });
    } catch (e) {
      metrics.proposals.inc({ op: opName, result: 'error' });
      throw e;
    }
    if (session && kv.sameCommandAt(index, command) === false) {
      throw new HttpError(422, `Idempotency-Key ${session.clientId}:${session.seq} was already used for a different request (entry ${index}); nothing was applied`);
    }
    const outcome = kv.outcomeAt(index);
    sendJson(res, status(outcome), { index, ...answer(outcome) });
  }

  const kvRoute: Route = {
    name: 'kv',
    prefix: '/kv/',
    param: true,
    methods: {
      GET: async (_req, res, { url, arg }) => {
        const key = decodeKey(arg);
        const kind = flag(url, 'stale') ? 'stale' : flag(url, 'lease') ? 'lease' : 'linearizable';
        if (kind !== 'stale') await node.read({ lease: kind === 'lease' });
        metrics.reads.inc({ kind });
        const value = kv.get(key);
        if (!value) {
          sendJson(res, 404, { error: 'key not found', key }, { 'X-Raft-Applied-Index': String(kv.appliedIndex) });
          return;
        }
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': value.length,
          'X-Raft-Applied-Index': String(kv.appliedIndex),
        });
        res.end(value);
      },
      PUT: async (req, res, { arg }) => {
        const key = decodeKey(arg);
        const value = await readBody(req, deps.maxBodyBytes);
        await write(req, res, 'put', encodeCommand({ op: Op.Put, key, value }), (o) => (o === undefined ? { outcome: 'duplicate' } : {}));
      },
      DELETE: async (req, res, { arg }) => {
        const key = decodeKey(arg);
        await write(req, res, 'delete', encodeCommand({ op: Op.Delete, key }), (o) => ({
          deleted: o === Outcome.Deleted ? true : o === Outcome.Absent ? false : null,
        }));
      },
      POST: async (req, res, { url, arg }) => {
        const key = decodeKey(arg);
        const expected = url.searchParams.get('cas');
        if (expected === null) throw new HttpError(400, 'POST /kv/:key needs ?cas=<expected value> (compare-and-set); use PUT to store');
        const value = await readBody(req, deps.maxBodyBytes);
        await write(
          req,
          res,
          'cas',
          encodeCommand({ op: Op.Cas, key, expected: Buffer.from(expected, 'utf8'), value }),
          (o) => ({ swapped: o === Outcome.Swapped ? true : o === Outcome.NotSwapped ? false : null, ...(o === Outcome.NotSwapped ? { error: 'the current value is not the expected one' } : {}) }),
          (o) => (o === Outcome.NotSwapped ? 412 : 200), // Precondition Failed, as etcd's v2 API answers a failed compareAndSwap
        );
      },
    },
  };

  /**
   * Routes that only the leader serves (membership changes, leadership transfer): a
   * follower that knows the leader's HTTP address redirects there (307 keeps the method
   * and body; `curl -L` follows it), naming the route in the message.
   */
  const onLeader = (what: string, handler: Handler): Handler => (req, res, params) => {
    const leader = deps.leaderElsewhere();
    if (!leader) return handler(req, res, params);
    const location = `http://${leader}${params.url.pathname}${params.url.search}`;
    sendJson(res, 307, { error: `${req.method} ${params.url.pathname} (${what}) is served by the leader`, location }, { Location: location });
  };

  const routes: Route[] = [
    kvRoute,
    {
      name: 'status',
      prefix: '/status',
      param: false,
      methods: { GET: (_req, res) => sendJson(res, 200, deps.status()) },
    },
    {
      name: 'metrics',
      prefix: '/metrics',
      param: false,
      methods: {
        GET: async (_req, res) => {
          const text = await metrics.render();
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
        },
      },
    },
    {
      name: 'members',
      prefix: '/members',
      param: false,
      methods: {
        GET: (_req, res) => sendJson(res, 200, deps.members()),
        POST: onLeader('adding a member', async (req, res) => sendJson(res, 200, await deps.membership.add(parseAddMember(await readJson(req, 64 * 1024))))),
      },
    },
    {
      name: 'members',
      prefix: '/members/',
      param: true,
      methods: { DELETE: onLeader('removing a member', async (_req, res, { arg }) => sendJson(res, 200, await deps.membership.remove(decodeKey(arg)))) },
    },
    {
      name: 'transfer',
      prefix: '/transfer',
      param: false,
      methods: {
        POST: onLeader('leadership transfer', async (req, res) => {
          const body = await readJson(req, 64 * 1024, true);
          const to = body?.to;
          if (to !== undefined && (typeof to !== 'string' || to === '')) throw new HttpError(400, '"to" must be a member id');
          sendJson(res, 200, await deps.membership.transfer(to));
        }),
      },
    },
  ];

  return (req, res) => {
    const started = process.hrtime.bigint();
    let routeName = 'unknown';
    res.on('finish', () => {
      metrics.requests.inc({ route: routeName, code: String(res.statusCode) });
      metrics.latency.observe({ route: routeName }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    const fail = (error: unknown) => {
      const failure = httpFailure(error, deps.httpAddressOf);
      metrics.errors.inc({ type: error instanceof Error ? error.name : 'Error' });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // After a refused body the client may still be sending: answer, then close.
      const headers = failure.status === 413 ? { ...failure.headers, Connection: 'close' } : failure.headers;
      sendJson(res, failure.status, failure.body, headers);
      if (failure.status === 413) res.once('finish', () => req.destroy());
    };
    try {
      const url = parseTarget(req.url ?? '/');
      const path = url.pathname;
      const route = routes.find((r) => (r.param ? path.startsWith(r.prefix) && path.length > r.prefix.length : path === r.prefix));
      if (!route) {
        if (path === '/kv/' || path === '/kv') {
          routeName = kvRoute.name; // the route the client meant, not "unknown"
          throw new HttpError(400, 'bad key: empty');
        }
        throw new HttpError(404, `no route ${path}; try /kv/:key, /status, /metrics, /members, /transfer`);
      }
      routeName = route.name;
      const handler = route.methods[req.method ?? ''];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        throw new HttpError(405, `${req.method} not allowed on ${route.prefix}${route.param ? ':param' : ''}; allowed: ${allow}`, { Allow: allow });
      }
      const arg = route.param ? path.slice(route.prefix.length) : '';
      Promise.resolve()
        .then(() => handler(req, res, { url, arg }))
        .catch(fail);
    } catch (e) {
      fail(e);
    }
  };
}

const NO_QUERY = new URLSearchParams();

/** Splits a request target into path and query (cheaper than `new URL` on every request). */
function parseTarget(target: string): Params['url'] {
  const q = target.indexOf('?');
  if (q < 0) return { pathname: target, search: '', searchParams: NO_QUERY };
  const search = target.slice(q);
  return { pathname: target.slice(0, q), search, searchParams: new URLSearchParams(search) };
}

function flag(url: Params['url'], name: string): boolean {
  const v = url.searchParams.get(name);
  return v !== null && v !== '0' && v !== 'false';
}

async function readJson(req: IncomingMessage, limit: number, optional = false): Promise<Record<string, unknown> | undefined> {
  const body = await readBody(req, limit);
  if (body.length === 0 && optional) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `bad JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'bad JSON: expected an object');
  return value as Record<string, unknown>;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

function parseAddMember(body: Record<string, unknown> | undefined): AddMemberRequest {
  const { id, raft, http, learner } = body ?? {};
  if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new HttpError(400, '"id" must be 1-64 letters, digits, "_", "." or "-"');
  if (typeof raft !== 'string' || !HOST_PORT.test(raft)) throw new HttpError(400, '"raft" must be the new member\'s Raft address, host:port');
  if (http !== undefined && (typeof http !== 'string' || !HOST_PORT.test(http))) throw new HttpError(400, '"http" must be host:port');
  if (learner !== undefined && typeof learner !== 'boolean') throw new HttpError(400, '"learner" must be true or false');
  return { id, raft, http, learner: learner === true };
}
