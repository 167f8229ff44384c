/**
 * Memory benchmark: three KV server processes (examples/kv-server.ts, compiled to JS)
 * on loopback with FileStorage, and closed-loop HTTP clients writing to the leader. The
 * RSS of every process (from /proc) and its V8 heap in use (`nodejs_heap_size_used_bytes`
 * from the server's /metrics) are sampled every few seconds, printed as a table and an
 * ASCII chart, and written as JSON under bench/results/.
 *
 *   npm run bench:memory                                  # 64 clients, 5 minutes
 *   npm run bench:memory -- --duration 60 --interval 5    # a short run while iterating
 *   npm run bench:memory -- --flags "--snapshot-every 100000"
 *
 * Keys come from a bounded key space (`--keys`, default 10,000: `k0` … `k9999`), so the
 * store itself stops growing once every key was written; what grows after that is the
 * node's own. The verdict compares the median of the last minute with that of the second
 * minute (issue 17's target: within 10%).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { forkKvServer, freePorts, KvChild, localNodeArgs } from '../examples/kv/processes';
import { putClient } from './clusterHttp';
import { median, nowMs } from './clusterStats';

interface Options {
  readonly durationS: number;
  readonly intervalS: number;
  readonly clients: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly flags: string[];
}

function parseOptions(argv: readonly string[]): Options {
  const o = { durationS: 300, intervalS: 5, clients: 64, keys: 10_000, valueBytes: 100, flags: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const num = (name: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
      i++;
      return n;
    };
    switch (argv[i]) {
      case '--duration': o.durationS = num('--duration'); break;
      case '--interval': o.intervalS = num('--interval'); break;
      case '--clients': o.clients = num('--clients'); break;
      case '--keys': o.keys = num('--keys'); break;
      case '--value-bytes': o.valueBytes = num('--value-bytes'); break;
      case '--flags': o.flags = (value ?? '').split(/\s+/).filter(Boolean); i++; break;
      default: throw new Error(`unknown flag ${argv[i]} (known: --duration --interval --clients --keys --value-bytes --flags)`);
    }
  }
  return o;
}

/** One sample of one process. */
interface Sample {
  readonly t: number;
  readonly rssMb: number;
  /** V8 heap in use, and memory outside the heap (Buffers), from the server's /metrics. */
  readonly heapMb: number | null;
  readonly externalMb: number | null;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

function get(port: number, pathname: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

async function heapMb(port: number): Promise<{ heapMb: number | null; externalMb: number | null }> {
  const text = await get(port, '/metrics');
  const read = (name: string) => {
    const m = text && new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) / 2 ** 20 : null;
  };
  return { heapMb: read('nodejs_heap_size_used_bytes'), externalMb: read('nodejs_external_memory_bytes') };
}

async function leaderOf(ports: Map<string, number>): Promise<string> {
  const deadline = nowMs() + 15_000;
  while (nowMs() < deadline) {
    const views = await Promise.all([...ports.values()].map(async (p) => JSON.parse((await get(p, '/status')) ?? 'null') as { role: string; leader: string } | null));
    const leaders = views.filter((v) => v?.role === 'leader');
    if (leaders.length === 1 && views.every((v) => v?.leader === leaders[0]!.leader)) return leaders[0]!.leader;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no leader within 15 s');
}

/** A small chart of one series per process: one row per sample, bars scaled to the largest value. */
function chart(series: Map<string, Sample[]>): string {
  const max = Math.max(...[...series.values()].flat().map((s) => s.rssMb));
  const width = 40;
  const lines: string[] = [];
  for (const [id, samples] of series) {
    lines.push(`RSS of ${id} (MB, full bar = ${max.toFixed(0)})`);
    for (const s of samples) lines.push(`${String(s.t).padStart(5)}s ${s.rssMb.toFixed(0).padStart(5)} ${'#'.repeat(Math.round((s.rssMb / max) * width))}`);
  }
  return lines.join('\n');
}

/** The median RSS over samples with `from <= t < to` seconds. */
function windowMedian(samples: readonly Sample[], from: number, to: number): number | null {
  const inside = samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rssMb);
  return inside.length ? median(inside) : null;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-memory-'));
  const ports = await freePorts(6);
  const specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
  const secret = crypto.randomBytes(16).toString('hex');
  const children: KvChild[] = [];
  const stopAll = async () => {
    await Promise.all(children.map((c) => c.stop(5000)));
    fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    for (const spec of specs) {
      const child = forkKvServer({
        id: spec.id,
        args: localNodeArgs(spec, specs, root, ['--log-level', 'warn', ...o.flags]),
        env: { RXRAFT_SECRET: secret },
        onLine: (line, stream) => stream === 'stderr' && console.error(`  [${spec.id}] ${line}`),
      });
      children.push(child);
    }
    await Promise.all(children.map((c) => c.ready));
    const httpPorts = new Map(specs.map((s) => [s.id, s.httpPort]));
    const leader = await leaderOf(httpPorts);
    console.log(`memory: 3 nodes, leader ${leader}, ${o.clients} clients, ${o.keys} keys, ${o.valueBytes}-byte values, ${o.durationS} s, flags: ${o.flags.join(' ') || '(none)'}`);

    // Writes go to the current leader: after a leader change (a 503 or 504 from the old
    // one), the workers pause briefly while the leader is found again and a client to it opened.
    let target = { leader, client: putClient('raw', '127.0.0.1', httpPorts.get(leader)!, o.clients) };
    let finding: Promise<void> | null = null;
    const leaderChanges: { t: number; leader: string }[] = [];
    const value = Buffer.alloc(o.valueBytes, 'v');
    const start = nowMs();
    const end = start + o.durationS * 1000;
    let writes = 0;
    const errors = new Map<string, number>();
    const refind = () =>
      (finding ??= leaderOf(httpPorts)
        .then((now) => {
          if (now === target.leader) return;
          target.client.close();
          target = { leader: now, client: putClient('raw', '127.0.0.1', httpPorts.get(now)!, o.clients) };
          leaderChanges.push({ t: Math.round((nowMs() - start) / 1000), leader: now });
        })
        .catch(() => undefined)
        .finally(() => (finding = null)));
    const workers = Array.from({ length: o.clients }, async (_, w) => {
      let seq = w;
      while (nowMs() < end) {
        try {
          await target.client.put(w, `k${seq % o.keys}`, value);
          writes++;
        } catch (e) {
          const name = (e as Error).name;
          errors.set(name, (errors.get(name) ?? 0) + 1);
          await Promise.all([refind(), new Promise((r) => setTimeout(r, 20))]);
        }
        seq += o.clients * 7 + 1;
      }
    });

    const series = new Map<string, Sample[]>(specs.map((s) => [s.id === leader ? `${s.id} (leader at start)` : s.id, []]));
    const names = [...series.keys()];
    console.log(`${'t'.padStart(5)}  ${names.map((n) => `${n} rss/heap/ext MB`.padStart(28)).join('')}  writes/s`);
    let lastWrites = 0;
    const sampling = (async () => {
      for (let t = 0; t <= o.durationS; t += o.intervalS) {
        const wait = start + t * 1000 - nowMs();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const row = await Promise.all(
          children.map(async (c, i) => ({ t, rssMb: rssMb(c.process.pid!), ...(await heapMb(specs[i].httpPort)) })),
        );
        row.forEach((s, i) => series.get(names[i])!.push(s));
        const rate = (writes - lastWrites) / o.intervalS;
        lastWrites = writes;
        console.log(`${String(t).padStart(5)}  ${row.map((s) => `${s.rssMb.toFixed(0)} / ${s.heapMb?.toFixed(0) ?? '?'} / ${s.externalMb?.toFixed(0) ?? '?'}`.padStart(28)).join('')}  ${t === 0 ? '' : rate.toFixed(0)}`);
      }
    })();
    await Promise.all([...workers, sampling]);
    target.client.close();

    console.log(`\n${chart(series)}\n`);
    const verdicts: Record<string, unknown> = {};
    // A leader holds more than a follower, so a leader change moves each process's RSS
    // whatever the log does: the largest of the three, sample by sample, is judged too.
    const perNode = [...series.values()];
    const largest = perNode[0].map((s, i) => ({ t: s.t, rssMb: Math.max(...perNode.map((p) => p[i].rssMb)), heapMb: null, externalMb: null }));
    for (const [id, samples] of [...series, ['largest of the three', largest] as const]) {
      // The second minute and the last one must not overlap (or touch the warm-up): 180 s at least.
      const judged = o.durationS >= 180;
      const second = judged ? windowMedian(samples, 60, 120) : null;
      const last = judged ? windowMedian(samples, o.durationS - 60, o.durationS + 1) : null;
      const growth = second && last ? (last - second) / second : null;
      verdicts[id] = { secondMinuteMedianMb: second, lastMinuteMedianMb: last, growth };
      console.log(`${id}: second minute median ${second?.toFixed(0) ?? '-'} MB, last minute median ${last?.toFixed(0) ?? '-'} MB, max ${Math.max(...samples.map((x) => x.rssMb)).toFixed(0)} MB${growth === null ? ' (run at least 180 s for a verdict)' : `, ${(growth * 100).toFixed(1)}% ${Math.abs(growth) <= 0.1 ? 'FLAT' : 'GROWS'}`}`);
    }
    console.log(`writes: ${writes} (${(writes / o.durationS).toFixed(0)}/s), errors: ${errors.size ? [...errors].map(([k, v]) => `${k}=${v}`).join(' ') : 'none'}, leader changes: ${leaderChanges.length ? leaderChanges.map((c) => `${c.leader} at ${c.t} s`).join(', ') : 'none'}`);

    const resultsDir = path.join(__dirname, 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify({ options: o, leader, leaderChanges, writes, errors: Object.fromEntries(errors), verdicts, samples: Object.fromEntries(series) }, null, 2));
    console.log(`results: ${path.relative(process.cwd(), file)}`);
  } finally {
    await stopAll();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
