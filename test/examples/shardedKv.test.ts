/**
 * The sharded KV example as a user runs it: three processes on loopback, 8 groups each,
 * one shared write-ahead log per process in a temp directory, HTTP through every process; then one process is
 * killed with SIGKILL and the shards it led elect leaders elsewhere and keep taking writes.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpAnswer, request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild } from '../../examples/kv/processes';
import { readShardedCommandLine, SHARDED_USAGE } from '../../examples/sharded/config';
import { fnv1a32, shardId, shardOf } from '../../examples/sharded/shards';
import { within } from './kvProcessCluster';

jest.setTimeout(60_000);

const GROUPS = 8;
const IDS = ['h1', 'h2', 'h3'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let root = '';
let ports: number[] = [];
const children = new Map<string, KvChild>();

const raftPort = (id: string) => ports[IDS.indexOf(id)];
const httpPort = (id: string) => ports[IDS.indexOf(id) + 3];
const others = (id: string, port: (id: string) => number) => IDS.filter((o) => o !== id).map((o) => `${o}=127.0.0.1:${port(o)}`).join(',');

function start(id: string): KvChild {
  const args = [
    '--id', id, '--raft', `127.0.0.1:${raftPort(id)}`, '--http', `127.0.0.1:${httpPort(id)}`, '--data', path.join(root, id),
    '--groups', String(GROUPS), '--peers', others(id, raftPort), '--peers-http', others(id, httpPort), '--election-timeout', '150-300', '--log-level', 'warn', '--balance',
  ];
  const child = forkKvServer({ id, entry: 'examples/sharded-kv.ts', args, env: { RXRAFT_SECRET: 'sharded-test' } });
  children.set(id, child);
  return child;
}

const call = (method: string, id: string, route: string, body?: string): Promise<HttpAnswer> =>
  request(method, `http://127.0.0.1:${httpPort(id)}${route}`, { body, agent, timeoutMs: 5000 });

interface ShardInfo {
  readonly group: string;
  readonly leader: string | null;
  readonly leaderHttp: string | null;
}

async function shards(id: string): Promise<ShardInfo[]> {
  return (JSON.parse((await call('GET', id, '/shards')).body) as { shards: ShardInfo[] }).shards;
}

/** Resolves once every host of `on` sees a leader among `on` in every shard, the same one; returns the leaders by shard. */
function leadersAgreed(on: readonly string[]): Promise<string[]> {
  return within(20_000, async () => {
    const views = await Promise.all(on.map(shards));
    const leaders = views[0].map((s) => s.leader);
    const agreed = leaders.every((l, i) => l !== null && on.includes(l) && views.every((v) => v[i].leader === l));
    return agreed ? (leaders as string[]) : null;
  });
}

/** Resolves once the leaders agree on every shard and no host leads more than its share, ceil(8 / 3) = 3; returns the leaders. */
function balanced(): Promise<string[]> {
  return within(30_000, async () => {
    const leaders = await leadersAgreed(IDS);
    return IDS.every((id) => leaders.filter((l) => l === id).length <= 3) ? leaders : null;
  });
}

/** Keys, two per shard at least, found by hashing candidate names. */
const KEYS = (() => {
  const keys: string[] = [];
  const perShard = new Array<number>(GROUPS).fill(0);
  for (let i = 0; perShard.some((n) => n < 2) && i < 10_000; i++) {
    const key = `user:${i}`;
    const s = shardOf(key, GROUPS);
    if (perShard[s] < 2) {
      perShard[s]++;
      keys.push(key);
    }
  }
  return keys;
})();

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-sharded-'));
  ports = await freePorts(6);
  await Promise.all(IDS.map((id) => start(id).ready));
});

afterAll(async () => {
  try {
    await Promise.all([...children.values()].map((c) => c.stop(1000)));
  } finally {
    agent.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

describe('routing keys to shards', () => {
  it('hashes a key with 32-bit FNV-1a, the same everywhere', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(shardOf('foobar', 8)).toBe(0xbf9cf968 % 8);
    expect(() => shardOf('x', 0)).toThrow(RangeError);
    expect(KEYS.length).toBe(2 * GROUPS);
  });

  it('refuses bad sharded flags with a clear error', () => {
    const base = ['--id', 'h1', '--raft', '127.0.0.1:1', '--http', '127.0.0.1:2', '--peers', 'h2=127.0.0.1:3'];
    const env = { RXRAFT_SECRET: 's' };
    expect(() => readShardedCommandLine([...base, '--groups', '0'], env)).toThrow(/--groups: expected 1 to 10000/);
    expect(() => readShardedCommandLine([...base, '--peers-http', 'h9=127.0.0.1:4'], env)).toThrow(/h9 is not one of --peers/);
    expect(() => readShardedCommandLine([...base, '--join'], env)).toThrow(/--join is not supported/);
    expect(() => readShardedCommandLine([...base, '--group-storage', 'both'], env)).toThrow(/--group-storage: expected shared or files/);
    const line = readShardedCommandLine([...base, '--groups=3', '--balance', '--peers-http', 'h2=127.0.0.1:4'], env);
    expect(line.kind === 'run' && [line.config.groups, line.config.balance, line.config.peersHttp, line.config.groupStorage, line.config.quiesce]).toEqual([3, true, { h2: '127.0.0.1:4' }, 'shared', true]);
    const files = readShardedCommandLine([...base, '--group-storage=files'], env);
    expect(files.kind === 'run' && files.config.groupStorage).toBe('files');
    const loud = readShardedCommandLine([...base, '--quiesce=false'], env);
    expect(loud.kind === 'run' && loud.config.quiesce).toBe(false);
    expect(() => readShardedCommandLine([...base, '--quiesce=maybe'], env)).toThrow(/--quiesce takes =true or =false/);
  });

  it('--help names the flags it reads, the --cluster default it uses, and not --join, which it refuses', () => {
    const line = readShardedCommandLine(['--id', 'h1', '--raft', '127.0.0.1:1', '--http', '127.0.0.1:2'], { RXRAFT_SECRET: 's' });
    expect(line.kind === 'run' && line.config.clusterId).toBe('rxraft-kv');
    expect(SHARDED_USAGE).toMatch(/^usage: sharded-kv \[options\]/);
    expect(SHARDED_USAGE).toContain('(default rxraft-kv) [RXRAFT_CLUSTER]');
    for (const flag of ['--groups', '--peers-http', '--balance', '--group-storage', '--quiesce', '--peers', '--election-timeout']) expect(SHARDED_USAGE).toContain(`${flag} `);
    expect(SHARDED_USAGE).not.toContain('--join');
  });
});

describe('sharded KV: 3 processes × 8 groups over HTTP', () => {
  it('every shard elects a leader, the same seen from every process, and --balance spreads them (at most 3 per host)', async () => {
    const leaders = await balanced();
    expect(leaders).toHaveLength(GROUPS);
    const view = await shards('h2');
    expect(view.map((s) => s.group)).toEqual(Array.from({ length: GROUPS }, (_, i) => shardId(i)));
    for (const s of view) expect(s.leaderHttp).toBe(`127.0.0.1:${httpPort(s.leader!)}`);
    // Every group of a process writes into that process's one shared write-ahead log (no log per group).
    for (const id of IDS) {
      expect(fs.readdirSync(path.join(root, id, 'wal')).filter((f) => f.endsWith('.wal')).length).toBeGreaterThan(0);
      for (const group of fs.existsSync(path.join(root, id, 'groups')) ? fs.readdirSync(path.join(root, id, 'groups')) : []) {
        expect(fs.readdirSync(path.join(root, id, 'groups', group)).filter((f) => f !== 'snapshots')).toEqual([]);
      }
    }
  });

  it('puts through every process and gets through another; every shard gets writes', async () => {
    await leadersAgreed(IDS);
    for (const [i, key] of KEYS.entries()) {
      const put = await call('PUT', IDS[i % 3], `/kv/${encodeURIComponent(key)}`, `v1-${key}`);
      expect([put.status, put.headers['x-raft-group']]).toEqual([200, shardId(shardOf(key, GROUPS))]);
    }
    for (const [i, key] of KEYS.entries()) {
      const got = await call('GET', IDS[(i + 1) % 3], `/kv/${encodeURIComponent(key)}`);
      expect([got.status, got.body]).toEqual([200, `v1-${key}`]);
    }
    // Every shard's store holds its two keys on every process (followers apply a moment later).
    for (const id of IDS) {
      const counts = await within(5000, async () => {
        const view = (JSON.parse((await call('GET', id, '/shards')).body) as { shards: { keys: number }[] }).shards;
        return view.every((s) => s.keys === 2) ? view.map((s) => s.keys) : null;
      });
      expect(counts).toEqual(new Array(GROUPS).fill(2));
    }
  });

  it('answers unknown routes and bad keys with a 4xx and a message', async () => {
    expect((await call('GET', 'h1', '/nope')).status).toBe(404);
    expect((await call('POST', 'h1', '/shards')).status).toBe(405);
    const bad = await call('GET', 'h1', '/kv/%zz');
    expect([bad.status, JSON.parse(bad.body).error]).toEqual([400, 'bad key: invalid percent-encoding']);
    const status = JSON.parse((await call('GET', 'h1', '/status')).body);
    expect([status.id, status.shards]).toEqual(['h1', GROUPS]);
    const metrics = await call('GET', 'h1', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^rxraft_kv_proposals_total\{op="put",result="ok"\} [1-9]/m); // counted over every shard
  });

  it('kill -9 of one process: its shards elect leaders on the others and writes continue; no acknowledged write is lost', async () => {
    const leaders = await leadersAgreed(IDS);
    // Kill the process leading the most shards (a host that leads none would prove less).
    const victim = IDS.map((id) => [id, leaders.filter((l) => l === id).length] as const).sort((a, b) => b[1] - a[1])[0][0];
    const survivors = IDS.filter((id) => id !== victim);
    const led = leaders.flatMap((l, i) => (l === victim ? [shardId(i)] : []));
    expect(led.length).toBeGreaterThan(0);
    children.get(victim)!.kill('SIGKILL');
    await children.get(victim)!.exited;

    const after = await leadersAgreed(survivors);
    for (const l of after) expect(survivors).toContain(l); // every shard, including those the victim led
    // A read that meets a leader change (503, 504) is retried, at most 20 times.
    const read = async (id: string, key: string) => {
      let got = await call('GET', id, `/kv/${encodeURIComponent(key)}`);
      for (let attempt = 1; attempt < 20 && (got.status === 503 || got.status === 504); attempt++) {
        await new Promise((r) => setTimeout(r, 100));
        got = await call('GET', id, `/kv/${encodeURIComponent(key)}`);
      }
      return [got.status, got.body];
    };
    for (const [i, key] of KEYS.entries()) expect(await read(survivors[i % 2], key)).toEqual([200, `v1-${key}`]); // acknowledged before the kill
    // As a client does: a write whose outcome is unknown (504) or that found no leader (503)
    // is retried with its Idempotency-Key, so it applies once; bounded to 20 tries.
    for (const [i, key] of KEYS.entries()) {
      let status = 0;
      for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        status = (await request('PUT', `http://127.0.0.1:${httpPort(survivors[(i + attempt) % 2])}/kv/${encodeURIComponent(key)}`, { body: `v2-${key}`, agent, timeoutMs: 5000, headers: { 'Idempotency-Key': `test-${key}:2` } })).status;
        expect([200, 503, 504]).toContain(status);
      }
      expect(status).toBe(200);
    }
    for (const [i, key] of KEYS.entries()) expect(await read(survivors[(i + 1) % 2], key)).toEqual([200, `v2-${key}`]);

    // The victim restarts from its files, catches up on what it missed, gets its share of leaders back (--balance) and serves every key again.
    await start(victim).ready;
    const back = await balanced();
    expect(back.filter((l) => l === victim).length).toBeGreaterThanOrEqual(2); // 4 / 4 / 0 → at most 3 each
    for (const key of KEYS) expect(await read(victim, key)).toEqual([200, `v2-${key}`]);
  });
});
