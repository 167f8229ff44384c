/**
 * One write's timeline end to end, in real processes: a three-node KV cluster (the
 * cluster benchmark's nodes, bench/clusterNode.ts) with `RXRAFT_LATENCY_TRACE=1`, one
 * proposer in the leader for a few seconds, then every node's trace (`latencyTrace.ts`)
 * laid out per write against the proposal's start: when the leader's turn ran, its append
 * was called and became durable, its frames left; when each follower read the frame,
 * stepped it, appended, was durable and answered; when the leader read the answers,
 * applied and resolved. Prints the median (and p90) of each stage in µs after the
 * proposal, and how many `setImmediate` turns each process took on the way.
 *
 *   npx ts-node --transpile-only bench/latencyTimeline.ts [--seconds 5] [--http] [--dump] [--log-writes <mode>]
 *
 * With `--http` the writes come from one keep-alive HTTP client in this process (the
 * cluster benchmark's), and the timeline starts at the request; `--dump` prints every
 * event of a few writes of median latency; `--log-writes` is passed to the servers (with
 * `event-loop` or `followers` a write made on the event loop shows no "write(2) issued").
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { forkKvServer, freePorts, KvChild, localNodeArgs } from '../examples/kv/processes';
import { putClient } from './clusterHttp';
import { closedLoop } from './clusterStats';
import type { TraceEvent } from './latencyTrace';

interface Stage {
  readonly name: string;
  readonly at: number | undefined;
}

function getJson(address: string, route: string): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    http
      .get(`http://${address}${route}`, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      })
      .on('error', () => resolve(null));
  });
}

async function leaderOf(children: Map<string, { child: KvChild; http: string }>): Promise<string> {
  for (let i = 0; i < 500; i++) {
    for (const [id, c] of children) {
      const status = await getJson(c.http, '/status');
      if (status?.role === 'leader') return id;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no leader within 10 s');
}

/** The index of the first event at or after time `t` (events are in time order): a binary search. */
function indexAt(events: readonly TraceEvent[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first event at or after `from` (and before `to`) that `match` accepts. */
function firstAfter(events: readonly TraceEvent[], from: number, to: number, match: (e: TraceEvent) => boolean): number | undefined {
  for (let i = indexAt(events, from); i < events.length && events[i].t < to; i++) if (match(events[i])) return events[i].t;
  return undefined;
}

/** The last event before `to` that `match` accepts (searching back at most 2 ms). */
function lastBefore(events: readonly TraceEvent[], to: number, match: (e: TraceEvent) => boolean): number | undefined {
  for (let i = indexAt(events, to) - 1; i >= 0 && events[i].t > to - 2000; i--) if (match(events[i])) return events[i].t;
  return undefined;
}

function count(events: readonly TraceEvent[], from: number, to: number, what: string): number {
  let n = 0;
  for (const e of events) if (e.t >= from && e.t < to && e.what === what) n++;
  return n;
}

function byIndex(events: readonly TraceEvent[], what: string): Map<number, number> {
  const map = new Map<number, number>();
  for (const e of events) if (e.what === what && !map.has(e.index)) map.set(e.index, e.t);
  return map;
}

function quantile(values: number[], q: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

/** The stages of each write, as µs after its proposal. */
function timelines(leader: readonly TraceEvent[], followers: ReadonlyMap<string, readonly TraceEvent[]>, client: readonly TraceEvent[] | null): Map<string, number[]> {
  const stages = new Map<string, number[]>();
  const add = (name: string, at: number | undefined, t0: number) => {
    if (!stages.has(name)) stages.set(name, []);
    stages.get(name)!.push(at === undefined ? NaN : at - t0);
  };
  const lAppend = byIndex(leader, 'appendCall');
  const lDurable = byIndex(leader, 'durable');
  const lApplied = byIndex(leader, 'applied');
  const fIndexes = new Map([...followers].map(([id, ev]) => [id, { append: byIndex(ev, 'appendCall'), durable: byIndex(ev, 'durable'), applied: byIndex(ev, 'applied') }]));
  const writes: { t0: number; t1: number; index: number }[] = [];
  let t0: number | null = null;
  for (const e of leader) {
    if (e.what === 'propose') t0 = e.t;
    else if (e.what === 'resolved' && t0 !== null) {
      writes.push({ t0, t1: e.t, index: e.index });
      t0 = null;
    }
  }
  // Past the warm-up; each write up to the next proposal.
  for (const w of writes.slice(Math.floor(writes.length / 5))) {
    const { t0, t1, index } = w;
    const end = t1 + 5000;
    const list: Stage[] = [
      { name: 'L first setImmediate turn', at: firstAfter(leader, t0, t1, (e) => e.what === 'immediate') },
      { name: 'L append called', at: lAppend.get(index) },
      { name: 'L write(2) issued', at: firstAfter(leader, t0, t1, (e) => e.what === 'fsWrite') },
      { name: 'L send AppendEntries', at: firstAfter(leader, t0, t1, (e) => e.what === 'send:AppendEntries') },
      ...[...followers.keys()].map((id) => ({ name: `L socket write to ${id}`, at: firstAfter(leader, t0, t1, (e) => e.what === `sockWrite:${id}`) })),
      ...[...followers.keys()].map((id) => ({ name: `L socket read from ${id}`, at: firstAfter(leader, t0, t1, (e) => e.what === `sockRead:${id}`) })),
      { name: 'L own append durable', at: lDurable.get(index) },
      { name: 'L response stepped', at: firstAfter(leader, t0, t1, (e) => e.what === 'stepped:AppendEntriesResponse') },
      { name: 'L applied', at: lApplied.get(index) },
      { name: 'L resolved', at: t1 },
    ];
    for (const s of list) add(s.name, s.at, t0);
    if (client) {
      const before = (events: readonly TraceEvent[], what: string) => lastBefore(events, t0, (e) => e.what === what);
      add('client request sent', before(client, 'clientSend'), t0);
      add('L HTTP bytes read', before(leader, 'httpRead'), t0);
      add('L HTTP handler called', before(leader, 'httpRequest'), t0);
      add('L HTTP answer ended', firstAfter(leader, t1, end, (e) => e.what === 'httpEnd'), t0);
      add('client answer read', firstAfter(client, t1, end, (e) => e.what === 'clientDone'), t0);
    }
    add('L setImmediate turns', count(leader, t0, t1, 'immediate') + t0, t0);
    add('L AppendEntries sent per write', count(leader, t0, t1, 'send:AppendEntries') + t0, t0);
    add('L socket writes per write', leader.filter((e) => e.t >= t0 && e.t < t1 && e.what.startsWith('sockWrite')).length + t0, t0);
    add('L socket reads per write', leader.filter((e) => e.t >= t0 && e.t < t1 && e.what.startsWith('sockRead')).length + t0, t0);
    // Durations of the stages that are CPU and event-loop work, not disk or network.
    const gap = (name: string, from: number | undefined, to: number | undefined) => add(`gap: ${name}`, from === undefined || to === undefined ? undefined : to - from + t0, t0);
    gap('L propose → first socket write', t0, firstAfter(leader, t0, t1, (e) => e.what.startsWith('sockWrite')));
    let answered: number | undefined;
    for (const [id, ev] of followers) {
      const ix = fIndexes.get(id)!;
      const read = firstAfter(ev, t0, end, (e) => e.what.startsWith('sockRead'));
      const durable = ix.durable.get(index);
      const written = durable === undefined ? undefined : firstAfter(ev, durable, end, (e) => e.what.startsWith('sockWrite'));
      gap('F socket read → write(2) issued', read, firstAfter(ev, read ?? end, end, (e) => e.what === 'fsWrite'));
      gap('F durable → socket write', durable, written);
      const back = written === undefined ? undefined : firstAfter(leader, written, end, (e) => e.what === `sockRead:${id}`);
      if (back !== undefined && (answered === undefined || back < answered)) answered = back;
    }
    const trigger = answered === undefined ? undefined : Math.max(answered, lDurable.get(index) ?? Infinity);
    gap('L commit trigger (answer read or own durable) → resolved', trigger, t1);
    for (const [id, ev] of followers) {
      const ix = fIndexes.get(id)!;
      const read = firstAfter(ev, t0, end, (e) => e.what.startsWith('sockRead'));
      const durable = ix.durable.get(index);
      add(`${id} socket read`, read, t0);
      add(`${id} AppendEntries stepped`, firstAfter(ev, t0, end, (e) => e.what === 'stepped:AppendEntries'), t0);
      add(`${id} append called`, ix.append.get(index), t0);
      add(`${id} write(2) issued`, firstAfter(ev, t0, end, (e) => e.what === 'fsWrite'), t0);
      add(`${id} append durable`, durable, t0);
      add(`${id} send response`, durable === undefined ? undefined : firstAfter(ev, durable, end, (e) => e.what === 'send:AppendEntriesResponse'), t0);
      add(`${id} socket write`, durable === undefined ? undefined : firstAfter(ev, durable, end, (e) => e.what.startsWith('sockWrite')), t0);
      add(`${id} setImmediate turns read→write`, read === undefined || durable === undefined ? NaN : count(ev, read, firstAfter(ev, durable, end, (e) => e.what.startsWith('sockWrite')) ?? end, 'immediate') + t0, t0);
    }
  }
  return stages;
}

/** Prints every event of every process during a few writes of median latency, merged in time order (µs after the proposal). */
function dumpMedianWrites(leader: string, traces: ReadonlyMap<string, readonly TraceEvent[]>): void {
  const l = traces.get(leader)!;
  const writes: { t0: number; t1: number }[] = [];
  let t0: number | null = null;
  for (const e of l) {
    if (e.what === 'propose') t0 = e.t;
    else if (e.what === 'resolved' && t0 !== null) {
      writes.push({ t0, t1: e.t });
      t0 = null;
    }
  }
  const sorted = writes.slice(Math.floor(writes.length / 5)).sort((a, b) => a.t1 - a.t0 - (b.t1 - b.t0));
  for (const w of sorted.slice(Math.floor(sorted.length / 2), Math.floor(sorted.length / 2) + 3)) {
    console.log(`--- write of ${(w.t1 - w.t0).toFixed(0)} µs`);
    const merged = [...traces].flatMap(([id, ev]) => ev.filter((e) => e.t >= w.t0 - 300 && e.t <= w.t1 + 300).map((e) => ({ id, ...e })));
    merged.sort((a, b) => a.t - b.t);
    for (const e of merged) console.log(`${(e.t - w.t0).toFixed(0).padStart(6)} ${e.id === leader ? 'L ' : '   '.repeat(e.id < leader ? 1 : 2)}${e.id} ${e.what}${e.index ? ` ${e.index}` : ''}`);
  }
}

interface LoadSummary {
  readonly writesPerSec: number;
  readonly latencyMs: { readonly p50: number };
}

/** One keep-alive HTTP client (the cluster benchmark's) writing to the leader; marks each request's start and end in `client`. */
async function httpLoad(address: string, seconds: number, client: TraceEvent[]): Promise<LoadSummary> {
  const [host, port] = address.split(':');
  const put = putClient('raw', host, Number(port), 1);
  const value = Buffer.alloc(100, 0x61);
  const mark = (what: string) => client.push({ t: Number(process.hrtime.bigint()) / 1000, what, index: 0 });
  try {
    return await closedLoop(1, 0, seconds * 1000, async (w, i) => {
      mark('clientSend');
      await put.put(w, `k${w}-${i & 1023}`, value);
      mark('clientDone');
    });
  } finally {
    put.close();
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 5);
  const httpMode = process.argv.includes('--http');
  const logWrites = process.argv.indexOf('--log-writes');
  const serverArgs = logWrites >= 0 ? ['--log-writes', process.argv[logWrites + 1]] : [];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-latency-'));
  const ports = await freePorts(6);
  const specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
  const secret = crypto.randomBytes(16).toString('hex');
  const children = new Map<string, { child: KvChild; http: string }>();
  try {
    for (const spec of specs) {
      const child = forkKvServer({
        id: spec.id,
        entry: 'bench/clusterNode.ts',
        args: localNodeArgs(spec, specs, root, serverArgs),
        env: { RXRAFT_SECRET: secret, RXRAFT_LATENCY_TRACE: '1' },
        onLine: (line, stream) => stream === 'stderr' && console.error(`[${spec.id}] ${line}`),
      });
      children.set(spec.id, { child, http: '' });
    }
    for (const [id, c] of children) children.set(id, { child: c.child, http: (await c.child.ready).http });
    const leader = await leaderOf(children);
    for (const c of children.values()) await c.child.call('latencyTrace');
    const client: TraceEvent[] = [];
    const result = httpMode ? await httpLoad(children.get(leader)!.http, seconds, client) : await children.get(leader)!.child.call<LoadSummary>('load', { concurrency: 1, warmupMs: 0, durationMs: seconds * 1000, valueBytes: 100 }, seconds * 1000 + 60_000);
    const traces = new Map<string, TraceEvent[]>();
    for (const [id, c] of children) traces.set(id, await c.child.call<TraceEvent[]>('latencyTrace', undefined, 60_000));
    const followers = new Map([...traces].filter(([id]) => id !== leader && id !== 'client'));
    if (httpMode) traces.set('client', client);
    if (process.argv.includes('--dump')) dumpMedianWrites(leader, traces);
    const stages = timelines(traces.get(leader)!, followers, httpMode ? client : null);
    console.log(`leader ${leader}; one proposer: ${result.writesPerSec.toFixed(0)} writes/s, p50 ${result.latencyMs.p50.toFixed(3)} ms; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('stage (µs after the proposal)                      p50      p90');
    const rows = [...stages].map(([name, values]) => ({ name, p50: quantile(values, 0.5), p90: quantile(values, 0.9) }));
    for (const r of rows.sort((a, b) => (/ turns|per write|^gap/.test(a.name) ? 1 : 0) - (/ turns|per write|^gap/.test(b.name) ? 1 : 0) || a.p50 - b.p50)) {
      console.log(`${r.name.padEnd(48)} ${r.p50.toFixed(0).padStart(8)} ${r.p90.toFixed(0).padStart(8)}`);
    }
  } finally {
    await Promise.all([...children.values()].map((c) => c.child.stop(5000)));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
