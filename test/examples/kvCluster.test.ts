/**
 * The KV server example as a real cluster: three kv-server processes on loopback (TCP
 * transport, FileStorage in a temporary directory), driven over HTTP.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpAnswer, request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../../examples/kv/processes';

jest.setTimeout(45_000);

const SECRET = 'integration-test-secret';
let root: string;
let specs: LocalNodeSpec[];
const children = new Map<string, KvChild>();
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function start(spec: LocalNodeSpec): KvChild {
  const child = forkKvServer({ id: spec.id, args: localNodeArgs(spec, specs, root), env: { RXRAFT_SECRET: SECRET } });
  children.set(spec.id, child);
  return child;
}

const url = (id: string, route: string) => `http://127.0.0.1:${specs.find((s) => s.id === id)!.httpPort}${route}`;
const call = (method: string, id: string, route: string, body?: string | Buffer, headers?: Record<string, string>): Promise<HttpAnswer> =>
  request(method, url(id, route), { body, headers, agent, timeoutMs: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The leader the given nodes agree on, waiting up to 10 s. */
async function leaderAmong(ids: string[]): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const views = await Promise.all(ids.map((id) => call('GET', id, '/status').then((a) => JSON.parse(a.body) as { leader: string | null; role: string }).catch(() => null)));
    const leaders = views.filter((v) => v?.role === 'leader').map((v) => v!.leader);
    if (leaders.length === 1 && leaders[0] && ids.includes(leaders[0])) return leaders[0];
    await sleep(50);
  }
  throw new Error(`no leader among ${ids.join(', ')}`);
}

/** A read that retries while the cluster has no leader (503) or the read times out (504). */
async function readEventually(id: string, key: string): Promise<HttpAnswer> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await call('GET', id, `/kv/${key}`).catch(() => null);
    if (answer && answer.status !== 503 && answer.status !== 504) return answer;
    if (Date.now() > deadline) throw new Error(`GET ${key} on ${id}: no answer`);
    await sleep(50);
  }
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-kv-test-'));
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

describe('kv-server cluster over HTTP', () => {
  it('writes, reads, compare-and-sets and deletes through any node', async () => {
    const leader = await leaderAmong(['n1', 'n2', 'n3']);
    const [f1, f2] = ['n1', 'n2', 'n3'].filter((id) => id !== leader);

    expect((await call('PUT', f1, '/kv/color', 'red')).status).toBe(200);
    const read = await call('GET', f2, '/kv/color');
    expect([read.status, read.body]).toEqual([200, 'red']);

    const swapped = await call('POST', leader, '/kv/color?cas=red', 'green');
    expect([swapped.status, JSON.parse(swapped.body).swapped]).toEqual([200, true]);
    const refused = await call('POST', f2, '/kv/color?cas=red', 'blue');
    expect([refused.status, JSON.parse(refused.body).swapped]).toEqual([200, false]);
    expect((await call('GET', f1, '/kv/color')).body).toBe('green');

    const binary = Buffer.from([0, 1, 2, 255]);
    expect((await call('PUT', f2, `/kv/${encodeURIComponent('a key/with spaces')}`, binary)).status).toBe(200);
    expect((await call('GET', leader, `/kv/${encodeURIComponent('a key/with spaces')}`)).bytes).toEqual(binary);

    const deleted = await call('DELETE', f1, '/kv/color');
    expect([deleted.status, JSON.parse(deleted.body).deleted]).toEqual([200, true]);
    expect((await call('DELETE', f1, '/kv/color')).body).toContain('"deleted":false');
    expect((await call('GET', f2, '/kv/color')).status).toBe(404);

    const status = JSON.parse((await call('GET', f2, '/status')).body);
    expect(status).toMatchObject({ id: f2, role: 'follower', leader, members: { voters: ['n1', 'n2', 'n3'] } });
    expect(status.appliedIndex).toBeGreaterThan(0);
    expect(status.followers).toBeUndefined(); // only the leader knows them
    const leaderStatus = JSON.parse((await call('GET', leader, '/status')).body);
    expect(leaderStatus.followers.map((f: { id: string }) => f.id).sort()).toEqual([f1, f2].sort());
    const metrics = (await call('GET', leader, '/metrics')).body;
    expect(metrics).toContain('rxraft_role{role="leader"} 1');
    expect(metrics).toMatch(new RegExp(`rxraft_follower_lag_entries\\{peer="${f1}"\\} \\d+`));
    expect(metrics).toMatch(/rxraft_kv_http_request_duration_seconds_count\{route="kv"\} \d+/);
  });

  it('applies a write retried with the same Idempotency-Key once, through another node', async () => {
    await call('PUT', 'n1', '/kv/balance', '10');
    const headers = { 'Idempotency-Key': 'client-7:1' };
    const first = await call('POST', 'n1', '/kv/balance?cas=10', '20', headers);
    const retry = await call('POST', 'n3', '/kv/balance?cas=10', '20', headers);
    expect(JSON.parse(first.body)).toEqual(JSON.parse(retry.body));
    expect(JSON.parse(retry.body).swapped).toBe(true);
    expect((await call('GET', 'n2', '/kv/balance')).body).toBe('20');
  });

  it('answers bad requests with a 4xx and a message, and keeps serving', async () => {
    const cases: [string, string, string | undefined, Record<string, string> | undefined, number, RegExp][] = [
      ['GET', '/kv/%zz', undefined, undefined, 400, /percent-encoding/],
      ['PUT', '/kv/', 'x', undefined, 400, /empty/],
      ['PUT', `/kv/${'k'.repeat(1100)}`, 'x', undefined, 400, /longer than/],
      ['PUT', '/kv/big', 'x'.repeat(512 * 1024 + 1), undefined, 413, /larger than/],
      ['POST', '/kv/x', 'v', undefined, 400, /cas=/],
      ['PUT', '/kv/x', 'v', { 'Idempotency-Key': 'nope' }, 400, /Idempotency-Key/],
      ['POST', '/members', '{not json', undefined, 400, /bad JSON/],
      ['POST', '/members', '{"id":"n9"}', undefined, 400, /raft/],
      ['GET', '/nowhere', undefined, undefined, 404, /no route/],
      ['PATCH', '/kv/x', 'v', undefined, 405, /not allowed/],
      ['DELETE', '/status', undefined, undefined, 405, /not allowed/],
    ];
    const leader = await leaderAmong(['n1', 'n2', 'n3']);
    for (const [method, route, body, headers, status, message] of cases) {
      const answer = await call(method, leader, route, body, headers);
      expect([method, route.slice(0, 40), answer.status]).toEqual([method, route.slice(0, 40), status]);
      expect(JSON.parse(answer.body).error).toMatch(message);
    }
    expect((await call('GET', leader, '/status')).status).toBe(200);
  });

  it('keeps every acknowledged write when the leader is killed with SIGKILL', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const leader = await leaderAmong(ids);
    const acknowledged = new Map<string, string>();
    let writing = true;
    // Four clients write distinct keys through every node (followers forward) until told to stop.
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; writing; i++) {
        const key = `w${w}-${i}`;
        const via = ids[(w + i) % 3];
        const answer = await call('PUT', via, `/kv/${key}`, `v${i}`).catch(() => null);
        if (answer?.status === 200) acknowledged.set(key, `v${i}`);
        else await sleep(20);
      }
    });
    await sleep(300);
    children.get(leader)!.kill('SIGKILL');
    await children.get(leader)!.exited;
    const survivors = ids.filter((id) => id !== leader);
    const next = await leaderAmong(survivors);
    expect(next).not.toBe(leader);
    await sleep(300);
    writing = false;
    await Promise.all(writers);
    expect(acknowledged.size).toBeGreaterThan(10);

    for (const [key, value] of acknowledged) {
      const answer = await readEventually(survivors[acknowledged.size % 2], key);
      expect([key, answer.status, answer.body]).toEqual([key, 200, value]);
    }

    // The killed node comes back from its write-ahead log and catches up.
    await start(specs.find((s) => s.id === leader)!).ready;
    const sample = [...acknowledged].slice(-20);
    for (const [key, value] of sample) expect((await readEventually(leader, key)).body).toBe(value);
  });

  it('hands leadership over on POST /transfer', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const leader = await leaderAmong(ids);
    const to = ids.find((id) => id !== leader)!;
    const answer = await call('POST', leader, '/transfer', JSON.stringify({ to }));
    expect([answer.status, JSON.parse(answer.body)]).toEqual([200, { leader: to }]);
    expect(await leaderAmong(ids)).toBe(to);
  });
});
