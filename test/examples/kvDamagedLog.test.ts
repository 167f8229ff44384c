/**
 * Issue 18, finding 1, with real processes and a real damaged file: a follower whose last
 * WAL record is damaged (a flipped byte in an acknowledged record) restarts, is repaired
 * from the cluster and serves linearizable reads within two election timeouts of being
 * up again. Before, the leader kept the follower's old match above its new last index
 * and the follower stayed stuck at commit index 0.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpAnswer, request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../../examples/kv/processes';
import { FILE_HEADER_BYTES, scanRecords } from '../../src/storage/fileRecordFraming';

jest.setTimeout(60_000);

const ELECTION_TIMEOUT_MAX = 300;
let root: string;
let specs: LocalNodeSpec[];
const children = new Map<string, KvChild>();
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(spec: LocalNodeSpec): KvChild {
  const child = forkKvServer({ id: spec.id, args: localNodeArgs(spec, specs, root, ['--election-timeout', `150-${ELECTION_TIMEOUT_MAX}`]), env: { RXRAFT_SECRET: 'damaged-log-test' } });
  children.set(spec.id, child);
  return child;
}

const call = (method: string, id: string, route: string, body?: string): Promise<HttpAnswer> =>
  request(method, `http://127.0.0.1:${specs.find((s) => s.id === id)!.httpPort}${route}`, { body, agent, timeoutMs: 5000 });

async function status(id: string): Promise<{ role: string; leader: string | null; appliedIndex: number }> {
  return JSON.parse((await call('GET', id, '/status')).body);
}

/** Polls `probe` every 20 ms for at most `ms`; returns the first truthy result. */
async function within<T>(ms: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe().catch(() => null);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(20);
  }
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-kv-damage-'));
  const ports = await freePorts(6);
  specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
  await Promise.all(specs.map((s) => start(s).ready));
});

afterAll(async () => {
  try {
    await Promise.all([...children.values()].map((c) => c.stop(1000)));
  } finally {
    agent.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a follower whose last WAL record is damaged is repaired and serves reads within two election timeouts of restart', async () => {
  const leader = await within(10_000, async () => {
    const views = await Promise.all(specs.map((s) => status(s.id)));
    const leaders = views.filter((v) => v.role === 'leader');
    return leaders.length === 1 && views.every((v) => v.leader === leaders[0].leader) ? leaders[0].leader : null;
  });
  const follower = specs.map((s) => s.id).find((id) => id !== leader)!;
  for (let i = 0; i < 20; i++) expect((await call('PUT', leader!, `/kv/k${i}`, `v${i}`)).status).toBe(200);
  const applied = (await status(leader!)).appliedIndex;
  await within(5000, async () => (await status(follower)).appliedIndex >= applied || null);

  children.get(follower)!.kill('SIGKILL');
  await children.get(follower)!.exited;
  const dir = path.join(root, follower);
  const segment = path.join(dir, fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort().pop()!);
  const bytes = fs.readFileSync(segment);
  const records = scanRecords(bytes, FILE_HEADER_BYTES).records;
  const last = records[records.length - 1];
  bytes[last.offset + last.payload.length] ^= 0x10; // a flipped byte inside the last (acknowledged) record
  fs.writeFileSync(segment, bytes);
  // Writes go on while the follower is down.
  expect((await call('PUT', leader!, '/kv/during', 'down')).status).toBe(200);

  await start(specs.find((s) => s.id === follower)!).ready;
  const upAt = Date.now();
  const read = await within(5000, async () => {
    const answer = await call('GET', follower, '/kv/during');
    return answer.status === 200 ? answer : null;
  });
  const servedAfter = Date.now() - upAt;
  console.log(`damaged follower served a linearizable read ${servedAfter} ms after it was up`);
  expect(read.body).toBe('down');
  expect(servedAfter).toBeLessThanOrEqual(2 * ELECTION_TIMEOUT_MAX);
  // Every write is there, in a state the whole cluster agrees on.
  for (let i = 0; i < 20; i++) expect((await call('GET', follower, `/kv/k${i}`)).body).toBe(`v${i}`);
  const damageFile = path.join(dir, 'DAMAGE');
  await within(5000, async () => !fs.existsSync(damageFile) || null); // repaired: the report is cleared
});
