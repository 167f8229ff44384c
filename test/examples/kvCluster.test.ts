/**
 * The KV server example as a real cluster: three kv-server processes on loopback (TCP
 * transport, FileStorage in a temporary directory), driven over HTTP.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import parsePrometheus from 'parse-prometheus-text-format';
import { HttpAnswer, request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../../examples/kv/processes';

jest.setTimeout(45_000);

const SECRET = 'integration-test-secret';
let root: string;
let specs: LocalNodeSpec[];
const children = new Map<string, KvChild>();
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
/** Each node's log, as parsed JSON lines (stdout is not a terminal: pino writes JSON). */
const logs = new Map<string, Record<string, unknown>[]>();

/** Small, so that the tests see snapshots taken and restored. */
const SNAPSHOT_EVERY = 64;

function start(spec: LocalNodeSpec, secret = SECRET, extra: string[] = ['--snapshot-every', String(SNAPSHOT_EVERY)]): KvChild {
  const lines: Record<string, unknown>[] = [];
  logs.set(spec.id, lines);
  const child = forkKvServer({
    id: spec.id,
    args: localNodeArgs(spec, specs, root, extra),
    env: { RXRAFT_SECRET: secret },
    onLine: (line, stream) => {
      if (stream === 'stdout' && line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  children.set(spec.id, child);
  return child;
}

/** Waits (up to 10 s) for a log line of `id` that matches. */
async function logLine(id: string, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = logs.get(id)!.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching log line from ${id}; got ${JSON.stringify(logs.get(id)!.map((l) => l.msg))}`);
    await sleep(50);
  }
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
    expect([refused.status, JSON.parse(refused.body).swapped]).toEqual([412, false]); // Precondition Failed
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
  });

  it('serves /metrics that a Prometheus text parser reads: default metrics, one-hot role, units, real route labels', async () => {
    const leader = await leaderAmong(['n1', 'n2', 'n3']);
    const followers = ['n1', 'n2', 'n3'].filter((id) => id !== leader);
    expect((await call('PUT', leader, '/kv/m', '1')).status).toBe(200);
    expect((await call('GET', leader, '/kv/')).status).toBe(400);
    const answer = await call('GET', leader, '/metrics');
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    const families = parsePrometheus(answer.body);
    // Every family in the text was parsed (none skipped as malformed).
    expect(families.length).toBe(answer.body.split('\n').filter((l) => l.startsWith('# TYPE ')).length);
    const family = (name: string) => {
      const f = families.find((x) => x.name === name);
      if (!f) throw new Error(`no metric ${name}`);
      return f;
    };
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(family(name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);

    // Roles are the four RoleNames, exactly one of them 1; learner-ness is its own gauge.
    const roles = Object.fromEntries(family('rxraft_role').metrics.map((m) => [m.labels!.role, Number(m.value)]));
    expect(roles).toEqual({ follower: 0, precandidate: 0, candidate: 0, leader: 1 });
    expect(value('rxraft_learner')).toBe(0);
    // Default process and Node.js metrics.
    expect(family('process_cpu_seconds_total').type).toBe('COUNTER');
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(family('nodejs_heap_size_total_bytes').type).toBe('GAUGE');
    // Conventional names: every counter ends in _total.
    for (const f of families.filter((x) => x.type === 'COUNTER')) expect(f.name).toMatch(/_total$/);
    expect(value('rxraft_leader_changes_total')).toBeGreaterThanOrEqual(1);
    expect(value('rxraft_committed_entries_total')).toBeGreaterThan(0);
    expect(value('rxraft_kv_proposals_total', { op: 'put', result: 'ok' })).toBeGreaterThan(0);
    expect(value('rxraft_apply_lag_entries')).toBeGreaterThanOrEqual(0);
    // The store's value buffer holds at least the value written ('1': one 16-byte record).
    expect(value('rxraft_kv_value_buffer_bytes', { kind: 'used' })).toBeGreaterThanOrEqual(16);
    expect(value('rxraft_kv_value_buffer_bytes', { kind: 'capacity' })).toBeGreaterThanOrEqual(value('rxraft_kv_value_buffer_bytes', { kind: 'used' }));
    // No value of 1 KiB or more was written: no buffer is held for one.
    expect(value('rxraft_kv_large_value_bytes', { kind: 'held' })).toBe(0);
    expect(value('rxraft_kv_large_value_bytes', { kind: 'live' })).toBe(0);
    // This parser folds the series of a labelled histogram into one (it keeps the buckets,
    // drops labels and counts): check its type and buckets here, the per-op count by line.
    const writes = family('rxraft_storage_write_duration_seconds');
    expect(writes.type).toBe('HISTOGRAM');
    expect(Number(writes.metrics[0].buckets!['+Inf'])).toBeGreaterThan(0);
    expect(Number(/^rxraft_storage_write_duration_seconds_count\{op="append"\} (\d+)$/m.exec(answer.body)?.[1])).toBeGreaterThan(0);
    expect(family('rxraft_snapshots_total').type).toBe('COUNTER');
    // Per-peer replication on the leader.
    expect(family('rxraft_follower_lag_entries').metrics.map((m) => m.labels!.peer).sort()).toEqual(followers.sort());
    expect(value('rxraft_follower_match_index', { peer: followers[0] })).toBeGreaterThan(0);
    // The 400 on /kv/ is counted under the route the client meant.
    expect(value('rxraft_kv_http_requests_total', { route: 'kv', code: '400' })).toBeGreaterThanOrEqual(1);
    expect(family('rxraft_kv_http_requests_total').metrics.some((m) => m.labels?.route === 'unknown')).toBe(false);

    // A follower reports its own role, and no per-peer series.
    const onFollower = parsePrometheus((await call('GET', followers[0], '/metrics')).body);
    const followerRoles = Object.fromEntries(onFollower.find((f) => f.name === 'rxraft_role')!.metrics.map((m) => [m.labels!.role, Number(m.value)]));
    expect(followerRoles).toEqual({ follower: 1, precandidate: 0, candidate: 0, leader: 0 });
    expect(onFollower.find((f) => f.name === 'rxraft_follower_lag_entries')?.metrics ?? []).toEqual([]);
  });

  it('redirects every leader-only route from a follower to the leader (307, Location, the route named)', async () => {
    const leader = await leaderAmong(['n1', 'n2', 'n3']);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const leaderHttp = `127.0.0.1:${specs.find((s) => s.id === leader)!.httpPort}`;
    const cases: [string, string, string | undefined, RegExp][] = [
      ['POST', '/transfer', '{}', /POST \/transfer \(leadership transfer\) is served by the leader/],
      ['POST', '/members', '{"id":"n9","raft":"127.0.0.1:1"}', /POST \/members \(adding a member\)/],
      ['DELETE', '/members/n9', undefined, /DELETE \/members\/n9 \(removing a member\)/],
    ];
    for (const [method, route, body, message] of cases) {
      const answer = await request(method, url(follower, route), { body, agent, timeoutMs: 5000, followRedirect: false });
      expect([method, route, answer.status, answer.headers.location]).toEqual([method, route, 307, `http://${leaderHttp}${route}`]);
      expect(JSON.parse(answer.body).error).toMatch(message);
    }
    // GET /members is served by any node.
    const members = await call('GET', follower, '/members');
    expect([members.status, JSON.parse(members.body).voters]).toEqual([200, ['n1', 'n2', 'n3']]);
    expect(JSON.parse(members.body).http[leader]).toBe(leaderHttp);
  });

  it('refuses an Idempotency-Key reused with a different body (422), through another node, and applies nothing', async () => {
    const headers = { 'Idempotency-Key': 'client-9:1' };
    expect((await call('PUT', 'n1', '/kv/reuse', 'first', headers)).status).toBe(200);
    const reused = await call('PUT', 'n2', '/kv/reuse', 'second', headers);
    expect(reused.status).toBe(422);
    expect(JSON.parse(reused.body).error).toMatch(/already used for a different request/);
    const retried = await call('PUT', 'n3', '/kv/reuse', 'first', headers);
    expect(retried.status).toBe(200);
    expect((await call('GET', 'n2', '/kv/reuse')).body).toBe('first');
  });

  it('logs leader changes and rejected Raft connections with the peer address and the reason', async () => {
    const leader = await leaderAmong(['n1', 'n2', 'n3']);
    const seen = await logLine('n1', (l) => l.msg === 'leader changed' || l.msg === 'this node is the leader');
    expect(seen).toMatchObject({ level: 30, node: 'n1', leader: expect.any(String), term: expect.any(Number) });
    expect(await logLine('n1', (l) => l.msg === 'membership')).toMatchObject({ voters: ['n1', 'n2', 'n3'], learners: [] });

    // A node with the wrong secret tries to take part: every member refuses it, and says why.
    const [raftPort, httpPort] = await freePorts(2);
    const intruder = { id: 'n9', raftPort, httpPort };
    const child = start(intruder, 'not-the-secret', ['--peers', specs.map((s) => `${s.id}=127.0.0.1:${s.raftPort}`).join(',')]);
    try {
      const rejected = await logLine(leader, (l) => l.msg === 'rejected Raft connection' && l.peer === 'n9');
      expect(rejected).toMatchObject({ level: 40, reason: 'wrong secret', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    } finally {
      await child.stop(1000);
      children.delete('n9');
    }

    // Bytes that are no handshake, from a socket whose address we know.
    const socket = net.connect(specs.find((s) => s.id === leader)!.raftPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const local = `127.0.0.1:${socket.localPort}`;
    socket.write(Buffer.from([0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef]));
    const bad = await logLine(leader, (l) => l.msg === 'rejected Raft connection' && l.address === local);
    socket.destroy();
    expect(bad).toMatchObject({ level: 40, reason: expect.stringMatching(/^handshake: /) });
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

  it('snapshots the store, and a node killed with SIGKILL restores from its snapshot and log', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const leader = await leaderAmong(ids);
    const follower = ids.find((id) => id !== leader)!;
    // A node that restarted from a snapshot (the test before restarts one) takes its next
    // snapshot only once its log outweighs the one it restored (`minLogPercent`): so write
    // at least three snapshot intervals, and on until the follower has taken one (bounded).
    const value = (i: number) => `s${i}-${'p'.repeat(200)}`;
    const snapshotted = () => logs.get(follower)!.some((l) => l.msg === 'snapshot taken');
    let written = 0;
    for (; written < 3 * SNAPSHOT_EVERY || (!snapshotted() && written < 40 * SNAPSHOT_EVERY); written += 8) {
      const answers = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((j) => call('PUT', leader, `/kv/snap-${written + j}`, value(written + j))));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    }
    const taken = await logLine(follower, (l) => l.msg === 'snapshot taken');
    expect(taken).toMatchObject({ index: expect.any(Number), seconds: expect.any(Number) });
    const metrics = (await call('GET', follower, '/metrics')).body;
    expect(Number(/^rxraft_snapshots_total\{result="ok"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    children.get(follower)!.kill('SIGKILL');
    await children.get(follower)!.exited;
    await start(specs.find((s) => s.id === follower)!).ready;
    for (let i = 0; i < written; i += 37) expect((await readEventually(follower, `snap-${i}`)).body).toBe(value(i));
    expect((await call('GET', follower, '/kv/snap-0?stale=1')).body).toBe(value(0));
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
