/**
 * The KV cluster as three hosts: each node in its own network namespace with its own
 * address (169.254.<n>.1-3, link-local, on a private bridge with no uplink;
 * scripts/netns-cluster.sh builds and removes it). Needs root; skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from '../../examples/kv/client';
import { forkKvServer, KvChild, REPO_ROOT } from '../../examples/kv/processes';

jest.setTimeout(90_000);

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'netns-cluster.sh');
const NAME = `rxk${process.pid % 100_000}`;
const IDS = ['n1', 'n2', 'n3'];
/** A link-local /24 per test process, so that two runs at once do not collide. */
const SUBNET = `169.254.${20 + (process.pid % 140)}`;
const ip = (id: string) => `${SUBNET}.${IDS.indexOf(id) + 1}`;
const namespace = (id: string) => `${NAME}-${id}`;

function netnsAvailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return '`ip netns` is not available';
  return null;
}
const unavailable = netnsAvailable();
if (unavailable) console.warn(`kvNetns.test.ts skipped: ${unavailable}`);
const describeIfNetns = unavailable ? describe.skip : describe;

const script = (...args: string[]) => {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`netns-cluster.sh ${args.join(' ')}: ${r.stderr}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call = (method: string, id: string, route: string, body?: string) =>
  request(method, `http://${ip(id)}:8001${route}`, { body, timeoutMs: 3000 });

describeIfNetns('kv-server on three hosts (network namespaces)', () => {
  let root: string;
  const children = new Map<string, KvChild>();

  function start(id: string): KvChild {
    const child = forkKvServer({
      id,
      args: [
        '--id', id,
        '--raft', `${ip(id)}:7001`,
        '--http', `${ip(id)}:8001`,
        '--data', path.join(root, id),
        '--peers', IDS.map((p) => `${p}=${ip(p)}:7001`).join(','),
        '--secret-file', path.join(root, 'secret'),
        '--log-level', 'warn',
      ],
      wrapper: ['ip', 'netns', 'exec', namespace(id)],
    });
    children.set(id, child);
    return child;
  }

  async function leaderAmong(ids: string[]): Promise<string> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const views = await Promise.all(ids.map((id) => call('GET', id, '/status').then((a) => JSON.parse(a.body) as { leader: string | null }).catch(() => null)));
      const leaders = new Set(views.map((v) => v?.leader ?? null));
      if (leaders.size === 1 && views[0]?.leader && ids.includes(views[0].leader)) return views[0].leader;
      await sleep(100);
    }
    throw new Error(`no leader agreed among ${ids.join(', ')}`);
  }

  async function eventually(id: string, route: string, expected: string): Promise<string> {
    const deadline = Date.now() + 20_000;
    let last = '';
    while (Date.now() < deadline) {
      const a = await call('GET', id, route).catch(() => null);
      last = a ? `${a.status} ${a.body}` : 'no answer';
      if (a?.status === 200 && a.body === expected) return a.body;
      await sleep(100);
    }
    throw new Error(`${id} ${route}: ${last}`);
  }

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-kv-netns-'));
    fs.writeFileSync(path.join(root, 'secret'), 'netns-test-secret\n', { mode: 0o600 });
    script('down', NAME, '3'); // leftovers of a killed run with the same pid, if any
    script('up', NAME, '3', SUBNET);
    await Promise.all(IDS.map((id) => start(id).ready));
  });

  afterAll(async () => {
    try {
      await Promise.all([...children.values()].map((c) => c.stop(1000)));
    } finally {
      script('down', NAME, '3');
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('elects a leader across hosts and replicates writes; members are known by their own addresses', async () => {
    const leader = await leaderAmong(IDS);
    const follower = IDS.find((id) => id !== leader)!;
    expect((await call('PUT', follower, '/kv/city', 'Lisbon')).status).toBe(200);
    for (const id of IDS) expect(await eventually(id, '/kv/city', 'Lisbon')).toBe('Lisbon');
    const members = JSON.parse((await call('GET', follower, '/members')).body) as { voters: string[]; raft: Record<string, string>; http: Record<string, string> };
    expect(members.voters).toEqual(IDS);
    expect(members.raft).toEqual(Object.fromEntries(IDS.map((id) => [id, `${ip(id)}:7001`])));
    expect(Object.keys(members.http).sort()).toEqual(IDS);
    expect(members.http[leader]).toBe(`${ip(leader)}:8001`);
  });

  it('a leader cut off the network is replaced, and catches up once it is back', async () => {
    const leader = await leaderAmong(IDS);
    const rest = IDS.filter((id) => id !== leader);
    const cut = spawnSync('ip', ['-n', namespace(leader), 'link', 'set', 'eth0', 'down']);
    expect(cut.status).toBe(0);
    try {
      const next = await leaderAmong(rest);
      expect(next).not.toBe(leader);
      expect((await call('PUT', rest[0], '/kv/after-cut', 'yes')).status).toBe(200);
    } finally {
      spawnSync('ip', ['-n', namespace(leader), 'link', 'set', 'eth0', 'up']);
    }
    // Back on the network, the old leader follows the new one and has the write.
    expect(await eventually(leader, '/kv/after-cut?stale=1', 'yes')).toBe('yes');
    expect(await leaderAmong(IDS)).not.toBe(leader);
  });
});
