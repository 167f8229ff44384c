/**
 * Issue 18, finding 6, with real processes and a real deleted file: a follower whose
 * `hardstate` file (term and vote) is gone beside its kept WAL restarts, recovers a safe
 * term from every other member (core/termRecovery.ts), clears its damage record, serves
 * a linearizable read, and votes and campaigns again: a leadership transfer to it
 * succeeds. Before, it started at term 0 with no vote (it could vote twice in a term),
 * and later refused to start at all (`HardStateLostError`).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpAnswer, request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../../examples/kv/processes';
import { DAMAGE_FILE } from '../../src/storage/fileDamage';
import { HARD_STATE_FILE } from '../../src/storage/fileHardState';

jest.setTimeout(60_000);

const ELECTION_TIMEOUT_MAX = 300;
let root: string;
let specs: LocalNodeSpec[];
const children = new Map<string, KvChild>();
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(spec: LocalNodeSpec): KvChild {
  const child = forkKvServer({ id: spec.id, args: localNodeArgs(spec, specs, root, ['--election-timeout', `150-${ELECTION_TIMEOUT_MAX}`]), env: { RXRAFT_SECRET: 'lost-hard-state-test' } });
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
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-kv-hardstate-'));
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

async function leaderOf(): Promise<string> {
  return within(10_000, async () => {
    const views = await Promise.all(specs.map((s) => status(s.id)));
    const leaders = views.filter((v) => v.role === 'leader');
    return leaders.length === 1 && views.every((v) => v.leader === leaders[0].leader) ? leaders[0].leader : null;
  });
}

test('a follower whose hard state file is deleted rejoins, is repaired from the cluster, serves a read and can lead again', async () => {
  const leader = await leaderOf();
  const follower = specs.map((s) => s.id).find((id) => id !== leader)!;
  for (let i = 0; i < 10; i++) expect((await call('PUT', leader, `/kv/k${i}`, `v${i}`)).status).toBe(200);
  const applied = (await status(leader)).appliedIndex;
  await within(5000, async () => (await status(follower)).appliedIndex >= applied || null);

  children.get(follower)!.kill('SIGKILL');
  await children.get(follower)!.exited;
  const dir = path.join(root, follower);
  fs.rmSync(path.join(dir, HARD_STATE_FILE));
  expect((await call('PUT', leader, '/kv/during', 'down')).status).toBe(200);

  await start(specs.find((s) => s.id === follower)!).ready;
  // FileStorage recorded the loss before making up a hard state; the node clears it once repaired.
  await within(10_000, async () => !fs.existsSync(path.join(dir, DAMAGE_FILE)) || null);
  const read = await within(5000, async () => {
    const answer = await call('GET', follower, '/kv/during');
    return answer.status === 200 ? answer : null;
  });
  expect(read.body).toBe('down');
  for (let i = 0; i < 10; i++) expect((await call('GET', follower, `/kv/k${i}`)).body).toBe(`v${i}`);

  // It votes and campaigns again: the leader hands over to it, and the others elect it.
  const current = await leaderOf();
  if (current !== follower) expect((await call('POST', current, '/transfer', JSON.stringify({ to: follower }))).status).toBe(200);
  expect(await leaderOf()).toBe(follower);
  expect((await call('PUT', follower, '/kv/after', 'led')).status).toBe(200);
});
