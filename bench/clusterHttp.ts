/**
 * HTTP load for the cluster benchmark: closed-loop requests over keep-alive connections,
 * one request in flight per client, with either client —
 *
 * - `agent`: node:http with a keep-alive `http.Agent` (what an application would use);
 * - `raw`: one net.Socket per client writing HTTP/1.1 requests by hand and reading just
 *   the status line, `Content-Length` (or a chunked body's end) and body. Same requests on
 *   the wire, a fraction of the client's CPU: on a 2-core machine that runs the server too,
 *   the node:http client can cost more CPU per request than the server, and then it is the
 *   client being measured.
 *
 * The requests are spelled by an `HttpDialect`: the KV server's (`PUT /kv/<key>`, raw
 * value as the body) or etcd's v3 JSON gateway (`POST /v3/kv/put`, base64 in JSON), so
 * both servers are driven by the same client with the same keys and values.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export type HttpClientKind = 'agent' | 'raw';

/** A status other than 200, as an error named after it (counted per name). */
export class HttpStatusError extends Error {
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.name = `HTTP${status}`;
  }
}

/** One HTTP request as a dialect spells it. */
export interface HttpRequestSpec {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
}

/** How a server's API spells a write and a linearizable read of one key. */
export interface HttpDialect {
  readonly name: string;
  put(key: string, value: Buffer): HttpRequestSpec;
  get(key: string): HttpRequestSpec;
}

const EMPTY = Buffer.alloc(0);

/** The rxraft KV server (examples/kv): `PUT /kv/<key>` with the value as the body; `GET /kv/<key>` (linearizable). */
export const kvDialect: HttpDialect = {
  name: 'rxraft-kv',
  put: (key, value) => ({ method: 'PUT', path: `/kv/${key}`, body: value }),
  get: (key) => ({ method: 'GET', path: `/kv/${key}`, body: EMPTY }),
};

/**
 * etcd's v3 JSON gateway: `POST /v3/kv/put` with `{"key","value"}` in base64, and
 * `POST /v3/kv/range` with `{"key"}` (linearizable unless `serializable` is set, which it is not).
 *
 * @example
 * etcdDialect().put('k1', Buffer.from('v')); // { method: 'POST', path: '/v3/kv/put', body: '{"key":"azE=","value":"dg=="}' }
 */
export function etcdDialect(): HttpDialect {
  // The benchmark writes the same value buffer again and again: encode it once.
  let lastValue: Buffer | null = null;
  let lastBase64 = '';
  const base64 = (value: Buffer) => {
    if (value !== lastValue) {
      lastValue = value;
      lastBase64 = value.toString('base64');
    }
    return lastBase64;
  };
  const key64 = (key: string) => Buffer.from(key, 'utf8').toString('base64');
  return {
    name: 'etcd',
    put: (key, value) => ({ method: 'POST', path: '/v3/kv/put', body: Buffer.from(`{"key":"${key64(key)}","value":"${base64(value)}"}`, 'latin1') }),
    get: (key) => ({ method: 'POST', path: '/v3/kv/range', body: Buffer.from(`{"key":"${key64(key)}"}`, 'latin1') }),
  };
}

/** Issues writes and reads; `close()` releases the connections. */
export interface PutClient {
  put(worker: number, key: string, value: Buffer): Promise<void>;
  /** A linearizable read of `key`; any status but 200 fails. */
  get(worker: number, key: string): Promise<void>;
  close(): void;
}

/** A client of `kind` for `concurrency` workers talking to `host:port` in `dialect` (default: the KV server's). */
export function putClient(kind: HttpClientKind, host: string, port: number, concurrency: number, dialect: HttpDialect = kvDialect): PutClient {
  return kind === 'agent' ? agentClient(host, port, concurrency, dialect) : rawClient(host, port, concurrency, dialect);
}

/** One PUT to the KV server through node:http. */
export function httpPut(agent: http.Agent, host: string, port: number, key: string, value: Buffer, timeoutMs = 10_000): Promise<void> {
  return httpSend(agent, host, port, kvDialect.put(key, value), timeoutMs);
}

function httpSend(agent: http.Agent, host: string, port: number, spec: HttpRequestSpec, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: spec.path, method: spec.method, agent, timeout: timeoutMs, headers: { 'Content-Length': spec.body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new HttpStatusError(res.statusCode ?? 0))));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'Timeout' })));
    req.on('error', reject);
    req.end(spec.body);
  });
}

function agentClient(host: string, port: number, concurrency: number, dialect: HttpDialect): PutClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  return {
    put: (_w, key, value) => httpSend(agent, host, port, dialect.put(key, value)),
    get: (_w, key) => httpSend(agent, host, port, dialect.get(key)),
    close: () => agent.destroy(),
  };
}

/** Where the first complete response in `buffered` ends, and its status; null if it is not all there yet. */
export interface ResponseEnd {
  readonly status: number;
  /** Offset just past the response. */
  readonly end: number;
  /** The server asked to close the connection. */
  readonly close: boolean;
}

/**
 * Finds the end of the first HTTP/1.1 response in `buffered`: its head, then a
 * `Content-Length` body or a chunked body (up to its last, empty chunk). Only what a
 * benchmark client needs: no trailers, no bodies delimited by closing the connection.
 *
 * @example
 * responseEnd(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')); // { status: 200, end: 40, close: false }
 */
export function responseEnd(buffered: Buffer): ResponseEnd | null {
  const headEnd = buffered.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buffered.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection: *close/i.test(head);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    let at = headEnd + 4;
    for (;;) {
      const lineEnd = buffered.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(buffered.toString('latin1', at, lineEnd), 16);
      if (!Number.isFinite(size)) throw new Error(`bad chunk size in a response: ${buffered.toString('latin1', at, lineEnd)}`);
      const next = lineEnd + 2 + size + 2;
      if (buffered.length < next) return null;
      if (size === 0) return { status, end: next, close };
      at = next;
    }
  }
  const m = /\r\ncontent-length: *(\d+)/i.exec(head);
  const end = headEnd + 4 + (m ? Number(m[1]) : 0);
  return buffered.length < end ? null : { status, end, close };
}

/** A keep-alive connection that sends one request at a time and parses the answer minimally. */
class RawConnection {
  private socket: net.Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly host: string, private readonly port: number) {}

  send(spec: HttpRequestSpec): Promise<void> {
    const socket = this.socket ?? this.connect();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      // Head and body in one write(2), as node:http's own client sends a small request: with
      // two, the head alone could wake the server, whose parser then waits for the body.
      const head = `${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Length: ${spec.body.length}\r\n\r\n`;
      socket.write(spec.body.length ? Buffer.concat([Buffer.from(head, 'latin1'), spec.body]) : head);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this.socket = socket;
    socket.on('data', (chunk) => this.received(chunk));
    const fail = (e: Error) => {
      if (this.socket === socket) this.socket = null;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(Object.assign(new Error('connection closed'), { name: 'ConnectionClosed' })));
    return socket;
  }

  private received(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const r = responseEnd(this.buffered);
    if (!r) return;
    this.buffered = this.buffered.subarray(r.end);
    const w = this.waiting;
    this.waiting = null;
    if (r.status === 200) w?.resolve();
    else w?.reject(new HttpStatusError(r.status));
    if (r.close) this.close();
  }
}

function rawClient(host: string, port: number, concurrency: number, dialect: HttpDialect): PutClient {
  const connections = Array.from({ length: concurrency }, () => new RawConnection(host, port));
  return {
    put: (w, key, value) => connections[w].send(dialect.put(key, value)),
    get: (w, key) => connections[w].send(dialect.get(key)),
    close: () => connections.forEach((c) => c.close()),
  };
}
