/**
 * Leader stability over a slow network (issue 17): the KV cluster as three hosts, each in
 * its own network namespace (scripts/netns-cluster.sh), every host's link shaped to one
 * bandwidth with `tc` (a token bucket on its egress), under large writes. Over a slow link
 * the bytes a leader has in flight to a follower (up to `maxInflightBytes`, 8 MiB) take
 * longer to drain than an election timeout; whatever waits behind them in a socket — a
 * heartbeat, a read round — comes late. Counts leader changes (terms seen by polling
 * every node's /status) and times linearizable reads beside the writes.
 *
 *   sudo npx ts-node --transpile-only bench/slowLink.ts [--rate 100mbit] [--clients 32]
 *        [--duration 20] [--value-bytes 65536]
 *
 * Needs root (ip netns, tc). Prints one line of results and writes JSON under
 * bench/results/. Removes its namespaces, processes and data directory when done.
 *
 * @example
 * // sudo npx ts-node --transpile-only bench/slowLink.ts --rate 100mbit --duration 20
 * // 100mbit, 32 clients of 65536 B: 172 writes/s (11.3 MB/s), p50 180 p99 900 ms; reads p50 4 p99 60 ms; terms 2 -> 2 (0 leader changes)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from '../examples/kv/client';
import { forkKvServer, KvChild, REPO_ROOT } from '../examples/kv/processes';
import { closedLoop } from './clusterStats';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'netns-cluster.sh');
const NAME = `rxsl${process.pid % 1000}`;
const SUBNET = `169.254.${160 + (process.pid % 60)}`;
const IDS = ['n1', 'n2', 'n3'];
const ip = (id: string) => `${SUBNET}.${IDS.indexOf(id) + 1}`;
const namespace = (id: string) => `${NAME}-${id}`;

interface Options {
  readonly rate: string;
  readonly clients: number;
  readonly durationMs: number;
  readonly valueBytes: number;
}

function parseOptions(argv: readonly string[]): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`usage: bench/slowLink.ts [--rate 100mbit] [--clients 32] [--duration 20] [--value-bytes 65536]`);
    flags.set(argv[i].slice(2), argv[i + 1]);
  }
  for (const k of flags.keys()) if (!['rate', 'clients', 'duration', 'value-bytes'].includes(k)) throw new Error(`unknown option --${k}`);
  const rate = flags.get('rate') ?? '100mbit';
  if (!/^\d+(kbit|mbit|gbit)$/.test(rate)) throw new Error('--rate: e.g. 100mbit');
  const num = (k: string, fallback: number) => {
    const v = Number(flags.get(k) ?? fallback);
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${k}: a positive integer`);
    return v;
  };
  return { rate, clients: num('clients', 32), durationMs: num('duration', 20) * 1000, valueBytes: num('value-bytes', 65536) };
}

function run(command: string, args: readonly string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

const status = (id: string) =>
  request('GET', `http://${ip(id)}:8001/status`, { timeoutMs: 2000 }).then((a) => JSON.parse(a.body) as { term: number; leader: string | null });

async function agreedLeader(): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const views = await Promise.all(IDS.map((id) => status(id).catch(() => null)));
    const leader = views[0]?.leader;
    if (leader && views.every((v) => v?.leader === leader)) return leader;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leader agreed within 30 s');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('needs root (ip netns, tc)');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-slowlink-'));
  const children: KvChild[] = [];
  run('bash', [SCRIPT, 'up', NAME, String(IDS.length), SUBNET]);
  try {
    for (const id of IDS) run('ip', ['netns', 'exec', namespace(id), 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', o.rate, 'burst', '64kb', 'latency', '50ms']);
    fs.writeFileSync(path.join(root, 'secret'), 'slow-link-bench-secret\n', { mode: 0o600 });
    for (const id of IDS) {
      const child = forkKvServer({
        id,
        args: [
          '--id', id, '--raft', `${ip(id)}:7001`, '--http', `${ip(id)}:8001`, '--data', path.join(root, id),
          '--peers', IDS.map((p) => `${p}=${ip(p)}:7001`).join(','), '--secret-file', path.join(root, 'secret'), '--log-level', 'warn',
        ],
        wrapper: ['ip', 'netns', 'exec', namespace(id)],
      });
      children.push(child);
    }
    await Promise.all(children.map((c) => c.ready));
    const leader = await agreedLeader();
    const termsBefore = await Promise.all(IDS.map((id) => status(id).then((s) => s.term)));
    const leaders = new Set<string>([`${Math.max(...termsBefore)}:${leader}`]);
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const v of await Promise.all(IDS.map((id) => status(id).catch(() => null)))) if (v?.leader) leaders.add(`${v.term}:${v.leader}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients + 1 });
    const value = Buffer.alloc(o.valueBytes, 0x61);
    const url = (key: string) => `http://${ip(leader)}:8001/kv/${key}`;
    const ok = (a: { status: number }) => {
      if (a.status !== 200 && a.status !== 204) throw new Error(`HTTP ${a.status}`);
    };
    // The reader reads a small key: the link's bytes are the writers'.
    ok(await request('PUT', url('probe'), { body: 'x', agent, timeoutMs: 10_000 }));
    const [writes, reads] = await Promise.all([
      closedLoop(o.clients, 2000, o.durationMs, (w, i) => request('PUT', url(`k${w}-${i & 63}`), { body: value, agent, timeoutMs: 10_000 }).then(ok)),
      closedLoop(1, 2000, o.durationMs, () => request('GET', url('probe'), { agent, timeoutMs: 10_000 }).then(ok)),
    ]);
    polling = false;
    await poller;
    agent.destroy();
    const termsAfter = await Promise.all(IDS.map((id) => status(id).then((s) => s.term).catch(() => NaN)));
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      options: o,
      writesPerSec: writes.writesPerSec,
      mbPerSec: (writes.writesPerSec * o.valueBytes) / 1e6,
      writeLatencyMs: writes.latencyMs,
      writeErrors: writes.errors,
      readsPerSec: reads.writesPerSec,
      readLatencyMs: reads.latencyMs,
      readErrors: reads.errors,
      termBefore: Math.max(...termsBefore),
      termAfter: Math.max(...termsAfter),
      leadersSeen: leaders.size,
    };
    const f = (x: number) => x.toFixed(x < 10 ? 1 : 0);
    console.log(
      `${o.rate}, ${o.clients} clients of ${o.valueBytes} B: ${f(result.writesPerSec)} writes/s (${f(result.mbPerSec)} MB/s), ` +
        `p50 ${f(writes.latencyMs.p50)} p99 ${f(writes.latencyMs.p99)} ms; reads ${f(reads.writesPerSec)}/s p50 ${f(reads.latencyMs.p50)} p99 ${f(reads.latencyMs.p99)} max ${f(reads.latencyMs.max)} ms; ` +
        `terms ${result.termBefore} -> ${result.termAfter}, leaders seen ${result.leadersSeen}; errors ${JSON.stringify({ ...writes.errors, ...reads.errors })}`,
    );
    const out = path.join(REPO_ROOT, 'bench', 'results', `slow-link-${result.date.replace(/[:.]/g, '-')}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    await Promise.all(children.map((c) => c.stop(3000)));
    run('bash', [SCRIPT, 'down', NAME, String(IDS.length)]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
