/**
 * Issue 18, finding 3: with a 1024 open-file limit, 1,000 idle HTTP connections used up a
 * follower's descriptors; at the next election it failed to open hardstate.tmp (EMFILE)
 * and exited. Here the same node runs under `prlimit --nofile=1024` and takes ten times
 * that flood, then has to win an election (which writes its hard state): it stays up,
 * the extra connections are closed as they arrive, and once the idle ones time out it
 * serves again.
 *
 * The flood's clients behave as real ones would in two ways the test relies on: they read
 * what the server sends (Node's headers-timeout checker may close an idle connection with
 * an HTTP error response; a socket that never reads that response never sees the close),
 * and they send TCP keep-alive probes, so a connection the server never accepted (its
 * listen queue overflowed while the node was stalled, and the kernel forgot the
 * handshake) is reset instead of staying half-open forever.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../../examples/kv/processes';

jest.setTimeout(180_000);

const SECRET = 'limits-test-secret';
const FLOOD = 10_000;
// Long enough that the flood, the election and the write below finish while the idle
// connections are still held, even on a loaded machine (they take well under a second alone).
const HEADERS_TIMEOUT_MS = 15_000;
// n2's, for the slow-headers test: short, so that test is quick.
const N2_HEADERS_TIMEOUT_MS = 3000;
let root: string;
let specs: LocalNodeSpec[];
const children = new Map<string, KvChild>();
const logs = new Map<string, Record<string, unknown>[]>();
const sockets: net.Socket[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const url = (id: string, route: string) => `http://127.0.0.1:${specs.find((s) => s.id === id)!.httpPort}${route}`;
const status = async (id: string) => JSON.parse((await request('GET', url(id, '/status'), { timeoutMs: 3000 })).body) as { leader: string | null; role: string; term: number };

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-kv-limits-'));
  const ports = await freePorts(6);
  specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
  await Promise.all(
    specs.map((spec) => {
      const lines: Record<string, unknown>[] = [];
      logs.set(spec.id, lines);
      const limited = spec.id === 'n3';
      const extra = limited
        ? ['--http-headers-timeout', String(HEADERS_TIMEOUT_MS), '--http-request-timeout', String(HEADERS_TIMEOUT_MS)]
        : spec.id === 'n2' ? ['--http-headers-timeout', String(N2_HEADERS_TIMEOUT_MS)] : [];
      const child = forkKvServer({
        id: spec.id,
        args: localNodeArgs(spec, specs, root, extra),
        env: { RXRAFT_SECRET: SECRET },
        // n3 as in the finding: a process limited to 1024 descriptors.
        wrapper: limited ? ['prlimit', '--nofile=1024:1024'] : undefined,
        onLine: (line, stream) => stream === 'stdout' && line.startsWith('{') && lines.push(JSON.parse(line) as Record<string, unknown>),
      });
      children.set(spec.id, child);
      return child.ready;
    }),
  );
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all([...children.values()].map((c) => c.stop(1000)));
  fs.rmSync(root, { recursive: true, force: true });
});

async function leaderOf(ids: string[]): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const views = await Promise.all(ids.map((id) => status(id).catch(() => null)));
    const leaders = new Set(views.map((v) => v?.leader));
    if (leaders.size === 1 && views[0]?.leader) return views[0].leader;
    await sleep(50);
  }
  throw new Error('no agreed leader');
}

it('a client that sends its headers too slowly gets a 408 once the headers timeout has passed', async () => {
  // One byte every 100 ms keeps the socket from idling (the server's idle timeout equals
  // the headers timeout), so only the headers deadline can end it.
  const socket = net.connect(specs[1].httpPort, '127.0.0.1');
  sockets.push(socket);
  const received: Buffer[] = [];
  let ended = false;
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  socket.on('close', () => (ended = true));
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const trickle = 'GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
  for (let i = 0; i < trickle.length && !ended; i++) {
    socket.write(trickle[i]);
    await sleep(100);
  }
  socket.destroy();
  expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  const metrics = await request('GET', url('n2', '/metrics'), { timeoutMs: 3000 });
  expect(metrics.body).toContain('rxraft_kv_errors_total{type="HttpRequestTimeout"} 1');
});

it('a node limited to 1024 descriptors survives 10,000 idle HTTP connections, wins an election, and serves again', async () => {
  // The limit is sized from the descriptor budget: 1024 - 256 reserved.
  const listening = logs.get('n3')!.find((l) => l.msg === 'listening')!;
  expect(listening.httpMaxConnections).toBe(768);
  // n3 must win an election after the flood: it does not lead before it.
  if ((await leaderOf(['n1', 'n2', 'n3'])) === 'n3') {
    const away = await request('POST', url('n3', '/transfer'), { body: JSON.stringify({ to: 'n1' }), timeoutMs: 10_000 });
    expect(away.status).toBe(200);
  }
  expect(await leaderOf(['n1', 'n2', 'n3'])).not.toBe('n3');

  // The flood: idle connections that never send a byte. `ended` counts every connection
  // that ended: closed by the server, or reset by its kernel because the server never
  // accepted it (see the header comment); a connection the server accepted and then
  // forgot would stay open and keep `ended` below FLOOD.
  let ended = 0;
  let connected = 0;
  for (let i = 0; i < FLOOD; i++) {
    const socket = net.connect(specs[2].httpPort, '127.0.0.1');
    socket.setKeepAlive(true, 1000);
    socket.resume();
    socket.on('connect', () => connected++);
    socket.on('error', () => undefined);
    socket.on('close', () => ended++);
    sockets.push(socket);
    if (i % 100 === 99) await sleep(20);
  }
  const floodDeadline = Date.now() + 40_000;
  while (connected < FLOOD && Date.now() < floodDeadline) await sleep(50);
  // Every connection was accepted by the kernel; the server closed those past its limit.
  expect(connected).toBe(FLOOD);
  while (ended < FLOOD - 768 && Date.now() < floodDeadline) await sleep(50);
  expect(ended).toBeGreaterThanOrEqual(FLOOD - 768);
  expect(ended).toBeLessThan(FLOOD); // the rest are held open, idle
  expect(logs.get('n3')!.some((l) => l.msg === 'HTTP connection limit reached: connection closed')).toBe(true);

  // Now the flooded node must write its hard state (new term, vote) to become leader:
  // the write that failed with EMFILE in the finding.
  const leader = await leaderOf(['n1', 'n2']);
  const asked = await request('POST', url(leader, '/transfer'), { body: JSON.stringify({ to: 'n3' }), timeoutMs: 10_000 });
  expect([asked.status, asked.body]).toEqual([200, JSON.stringify({ leader: 'n3' }) + '\n']);
  expect(children.get('n3')!.process.exitCode).toBeNull();
  const write = await request('PUT', url('n1', '/kv/after-flood'), { body: 'ok', timeoutMs: 10_000 });
  expect(write.status).toBe(200);
  expect((await status('n1')).leader).toBe('n3');
  expect(ended).toBeLessThan(FLOOD); // all this while the idle connections were held

  // The idle connections time out (headers timeout): the node serves HTTP again.
  const idleDeadline = Date.now() + HEADERS_TIMEOUT_MS + 60_000; // generous: the server checks for timed-out connections periodically, later on a loaded machine
  while (ended < FLOOD && Date.now() < idleDeadline) await sleep(100);
  expect(ended).toBe(FLOOD);
  const agent = new http.Agent({ keepAlive: false });
  const read = await request('GET', url('n3', '/kv/after-flood'), { agent, timeoutMs: 5000 });
  agent.destroy();
  expect([read.status, read.body]).toEqual([200, 'ok']);
  expect(children.get('n3')!.process.exitCode).toBeNull();
});
