/**
 * What the KV server's HTTP layer costs per write, without Raft: a server process with
 * either a bare node:http handler (200 + a small JSON body) or the KV server's own
 * `kvHttpHandler` over a stand-in node whose `propose()` resolves at once (and a store
 * that applies nothing), driven by one raw keep-alive client (bench/clusterHttp.ts) in
 * this process, back to back and paced (a 1 ms timer between requests, so the server
 * sleeps before each one, as it does between the writes of one HTTP client to a cluster).
 * Prints requests/s and the server's CPU µs per request (user + system), alternating the
 * two servers for `--rounds` rounds.
 *
 *   npx ts-node --transpile-only bench/httpHandlerCost.ts [--seconds 3] [--rounds 3]
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { putClient } from './clusterHttp';
import { closedLoop } from './clusterStats';

type Kind = 'bare' | 'kv';

async function serve(kind: Kind): Promise<void> {
  let handler: http.RequestListener;
  if (kind === 'bare') {
    const body = '{"index":1}\n';
    handler = (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
        res.end(body);
      });
    };
  } else {
    const { kvHttpHandler } = await import('../examples/kv/http');
    const { KvMetrics } = await import('../examples/kv/metrics');
    const { KvStateMachine } = await import('../examples/kv/stateMachine');
    const kv = new KvStateMachine();
    let index = 0;
    const node = { propose: () => Promise.resolve({ index: ++index, term: 1 }) } as unknown as Parameters<typeof kvHttpHandler>[0]['node'];
    const metrics = new KvMetrics({
      status: () => ({}) as never,
      learner: () => false,
      keys: () => 0,
      valueBytes: () => ({ capacityBytes: 0, usedBytes: 0, garbageBytes: 0 }),
      largeValueBytes: () => ({ heldBytes: 0, liveBytes: 0, relocatedBytes: 0 }),
      followers: () => null,
      httpConnections: () => 1,
    });
    const none = () => Promise.reject(new Error('not here'));
    handler = kvHttpHandler({
      node,
      kv,
      metrics,
      membership: { add: none, remove: none, transfer: none },
      status: () => ({}),
      members: () => ({}),
      maxBodyBytes: 1 << 20,
      httpAddressOf: () => undefined,
      leaderElsewhere: () => null,
    });
  }
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send!({ cpu: u.user + u.system });
  });
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

async function measure(kind: Kind, seconds: number, paced: boolean): Promise<{ rate: number; cpuPerRequest: number }> {
  const child = fork(__filename, ['--serve', kind], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
  const next = () => new Promise<Record<string, number>>((resolve) => child.once('message', (m) => resolve(m as Record<string, number>)));
  const { port } = await next();
  const client = putClient('raw', '127.0.0.1', port, 1);
  const value = Buffer.alloc(100, 0x61);
  await closedLoop(1, 0, 1000, (w, i) => client.put(w, `k${i & 1023}`, value)); // warm-up
  child.send('cpu');
  const before = (await next()).cpu;
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1));
  const r = await closedLoop(1, 0, seconds * 1000, (w, i) => client.put(w, `k${i & 1023}`, value).then(() => (paced ? pause() : undefined)));
  child.send('cpu');
  const after = (await next()).cpu;
  client.close();
  child.kill();
  const requests = r.writes;
  return { rate: requests / seconds, cpuPerRequest: (after - before) / requests };
}

async function main(): Promise<void> {
  const serving = process.argv.indexOf('--serve');
  if (serving >= 0) return serve(process.argv[serving + 1] as Kind);
  const seconds = flag('seconds', 3);
  const rounds = flag('rounds', 3);
  for (let round = 1; round <= rounds; round++) {
    for (const paced of [false, true]) {
      for (const kind of ['bare', 'kv'] as const) {
        const m = await measure(kind, seconds, paced);
        console.log(`round ${round} ${kind.padEnd(4)} ${paced ? 'paced (1 ms idle between requests)' : 'back to back'}: ${Math.round(m.rate)} requests/s, server CPU ${m.cpuPerRequest.toFixed(1)} µs/request`);
      }
    }
  }
}

void main();
