/**
 * HTTP load for the cluster benchmark: closed-loop PUTs over keep-alive connections, one
 * request in flight per client, with either client —
 *
 * - `agent`: node:http with a keep-alive `http.Agent` (what an application would use);
 * - `raw`: one net.Socket per client writing HTTP/1.1 requests by hand and reading just
 *   the status line, `Content-Length` and body. Same requests on the wire, a fraction of
 *   the client's CPU: on a 2-core machine that runs the server too, the node:http client
 *   can cost more CPU per request than the server, and then it is the client being measured.
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

/** Issues PUTs; `close()` releases the connections. */
export interface PutClient {
  put(worker: number, key: string, value: Buffer): Promise<void>;
  close(): void;
}

/** A client of `kind` for `concurrency` workers writing to `host:port`. */
export function putClient(kind: HttpClientKind, host: string, port: number, concurrency: number): PutClient {
  return kind === 'agent' ? agentClient(host, port, concurrency) : rawClient(host, port, concurrency);
}

/** One PUT through node:http. */
export function httpPut(agent: http.Agent, host: string, port: number, key: string, value: Buffer, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: `/kv/${key}`, method: 'PUT', agent, timeout: timeoutMs, headers: { 'Content-Length': value.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new HttpStatusError(res.statusCode ?? 0))));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'Timeout' })));
    req.on('error', reject);
    req.end(value);
  });
}

function agentClient(host: string, port: number, concurrency: number): PutClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  return { put: (_w, key, value) => httpPut(agent, host, port, key, value), close: () => agent.destroy() };
}

/** A keep-alive connection that sends one request at a time and parses the answer minimally. */
class RawConnection {
  private socket: net.Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly host: string, private readonly port: number) {}

  put(key: string, value: Buffer): Promise<void> {
    const socket = this.socket ?? this.connect();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`PUT /kv/${key} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Length: ${value.length}\r\n\r\n`);
      socket.write(value);
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
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    const bodyEnd = headEnd + 4 + (m ? Number(m[1]) : 0);
    if (this.buffered.length < bodyEnd) return;
    this.buffered = this.buffered.subarray(bodyEnd);
    const w = this.waiting;
    this.waiting = null;
    if (status === 200) w?.resolve();
    else w?.reject(new HttpStatusError(status));
    if (/\r\nconnection: *close/i.test(head)) this.close();
  }
}

function rawClient(host: string, port: number, concurrency: number): PutClient {
  const connections = Array.from({ length: concurrency }, () => new RawConnection(host, port));
  return {
    put: (w, key, value) => connections[w].put(key, value),
    close: () => connections.forEach((c) => c.close()),
  };
}
