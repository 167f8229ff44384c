import * as http from 'node:http';

/** An HTTP answer, body as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The body as bytes. */
  readonly bytes: Buffer;
}

/** Options of `request`. */
export interface RequestOptions {
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep-alive agent to reuse connections (default: a new connection per request). */
  readonly agent?: http.Agent;
  /** Give up after this many ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Follow a 307 redirect (to the leader) once (default true). */
  readonly followRedirect?: boolean;
}

/**
 * A minimal HTTP client for the KV server (node:http, no dependencies). Resolves with any
 * status; rejects only on network errors and timeouts.
 *
 * @example
 * const { status, body } = await request('PUT', 'http://127.0.0.1:8001/kv/x', { body: '1' });
 */
export function request(method: string, url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
    const req = http.request(
      url,
      {
        method,
        agent: options.agent ?? false,
        headers: { ...options.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(body);
  }).then((answer) => {
    const location = answer.headers.location;
    if (answer.status === 307 && location && options.followRedirect !== false) {
      return request(method, location, { ...options, followRedirect: false });
    }
    return answer;
  });
}
