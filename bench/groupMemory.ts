/**
 * Memory per idle group replica (issue 19), in one process: 3 hosts of N groups on an
 * in-memory network with in-memory storage, on virtual time; every group gets a leader,
 * then 2 virtual seconds pass (the groups quiesce). Prints the heap (plus external
 * memory) per group replica over the empty hosts, after full collections.
 *
 *     node --expose-gc -r ts-node/register/transpile-only bench/groupMemory.ts [groups=200]
 *     node --expose-gc -r ts-node/register/transpile-only bench/groupMemory.ts 200 --snapshot
 *
 * With `--snapshot` it runs itself twice in child processes, with 1 group and with N,
 * writes a heap snapshot at the end of each, and prints what the N-group heap holds more,
 * per group replica: by constructor (objects, closures, arrays…) and, for closures, by
 * the source line that made them (lines of the code as run: transpiled for `.ts`), that
 * is, which stream or operator a group pays for. The
 * library's part only: the KV example's stores and the TCP transport come on top in
 * `npm run bench -- --only groups --groups 1,1000 --levels 0`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { createRaftHost, RaftHost } from '../src/host/raftHost';
import { seededRandom } from '../src/random';
import { MemoryStorage } from '../src/storage/memoryStorage';
import { VirtualClock } from '../src/testing/virtualClock';
import { MemoryHub } from '../src/transports/memoryHub';

const HOSTS = ['h1', 'h2', 'h3'];

async function measure(groups: number, snapshotTo: string | null): Promise<{ perReplicaKiB: number; led: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const used = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const clock = new VirtualClock();
  const random = seededRandom(7);
  const hub = new MemoryHub({ scheduler: clock.scheduler, random, faults: { delay: { min: 1, max: 3 } } });
  const defaults = { scheduler: clock.scheduler, turnScheduler: clock.scheduler, random, electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 };
  const hosts: RaftHost[] = HOSTS.map((id) => createRaftHost({ id, transport: hub.connectHost(id), storage: () => new MemoryStorage({ scheduler: clock.scheduler, syncDelay: 1 }), groupDefaults: defaults }));
  await clock.advance(10);
  const before = used();
  const ids = Array.from({ length: groups }, (_, i) => `g${i}`);
  for (const g of ids) for (const host of hosts) await host.createGroup(g, { peers: HOSTS });
  const leaders = () => ids.filter((g) => hosts.some((h) => h.group(g)?.followers() !== null));
  for (let waited = 0; leaders().length < groups && waited < 20_000; waited += 10) await clock.advance(10);
  await clock.advance(2000);
  const perReplicaKiB = (used() - before) / (groups * HOSTS.length) / 1024;
  if (snapshotTo) v8.writeHeapSnapshot(snapshotTo);
  const led = leaders().length;
  await Promise.all(hosts.map((h) => h.stop()));
  return { perReplicaKiB, led };
}

interface Tally {
  readonly count: number;
  readonly bytes: number;
}

/** Objects of a heap snapshot by kind and name, and closures by the script line that made them. */
function tally(file: string): Map<string, Tally> {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { node_fields: nf, node_types: [types], edge_fields: ef, edge_types: [edgeTypes] } = snap.snapshot.meta;
  const [N, E] = [nf.length, ef.length];
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const nodes: number[] = snap.nodes;
  const edges: number[] = snap.edges;
  const strings: string[] = snap.strings;
  const location = new Map<number, string>();
  for (let i = 0; i < snap.locations.length; i += 4) location.set(snap.locations[i] / N, `${snap.locations[i + 2] + 1}`);
  const out = new Map<string, Tally>();
  const add = (key: string, bytes: number) => {
    const t = out.get(key) ?? { count: 0, bytes: 0 };
    out.set(key, { count: t.count + 1, bytes: t.bytes + bytes });
  };
  const count = nodes.length / N;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * N + EDGES] * E;
  /** The edge named `name` of node `i`, as the index of the node it leads to, or -1. */
  const edge = (i: number, name: string): number => {
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) if (edgeTypes[edges[e]] === 'internal' && strings[edges[e + 1]] === name) return edges[e + 2] / N;
    return -1;
  };
  /** The file a closure's code comes from (its shared info's script), without the checkout's path. */
  const scriptOf = (closure: number): string => {
    const shared = edge(closure, 'shared');
    const script = shared < 0 ? -1 : edge(shared, 'script_or_debug_info');
    return script < 0 ? '?' : strings[nodes[script * N + NAME]].replace(/.*\/(node_modules|rxraft[^/]*|wt-[^/]*)\//, '');
  };
  for (let i = 0; i < count; i++) {
    const type = types[nodes[i * N + TYPE]];
    const name = type === 'object' || type === 'closure' || type === 'array' ? strings[nodes[i * N + NAME]].slice(0, 50) : '';
    add(`${type} ${name}`, nodes[i * N + SIZE]);
    if (type === 'closure') add(`  closure made at ${scriptOf(i)}:${location.get(i) ?? '?'}`, nodes[i * N + SIZE]);
  }
  return out;
}

function compare(one: string, many: string, replicas: number): void {
  const [a, b] = [tally(one), tally(many)];
  const rows = [...b].map(([key, t]) => ({ key, count: (t.count - (a.get(key)?.count ?? 0)) / replicas, bytes: (t.bytes - (a.get(key)?.bytes ?? 0)) / replicas }));
  const top = (filter: (key: string) => boolean) =>
    rows
      .filter((r) => filter(r.key) && r.bytes > 20)
      .sort((x, y) => y.bytes - x.bytes)
      .slice(0, 25)
      .map((r) => `${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(7)}  ${r.key.trim()}`);
  console.log(`per group replica, ${replicas} replicas more (bytes, count, kind):`);
  console.log(top((k) => !k.startsWith('  ')).join('\n'));
  console.log('closures by where they are made:');
  console.log(top((k) => k.startsWith('  ')).join('\n'));
}

async function main(): Promise<void> {
  const groups = Number(process.argv[2] ?? 200);
  const child = process.env.GROUP_MEMORY_CHILD;
  if (!Number.isSafeInteger(groups) || groups < (child === undefined ? 2 : 1)) throw new Error('groups: an integer of at least 2');
  if (child !== undefined) {
    process.stdout.write(`${JSON.stringify(await measure(groups, child || null))}\n`);
    return;
  }
  if (!process.argv.includes('--snapshot')) {
    const r = await measure(groups, null);
    console.log(`${groups} idle groups on 3 hosts: ${r.perReplicaKiB.toFixed(1)} KiB per group replica (heap + external); ${r.led} led`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-group-memory-'));
  try {
    const run = (n: number) => {
      const file = path.join(dir, `${n}.heapsnapshot`);
      const out = execFileSync(process.execPath, [...process.execArgv, __filename, String(n)], { env: { ...process.env, GROUP_MEMORY_CHILD: file }, encoding: 'utf8', maxBuffer: 1 << 20 });
      console.log(`${n} group(s): ${out.trim()}`);
      return file;
    };
    compare(run(1), run(groups), (groups - 1) * HOSTS.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
