/**
 * Memory per idle group in the processes of the multi-group benchmark (issue 19): three
 * sharded KV host processes (bench/shardedNode.ts, one shared write-ahead log each, as
 * `npm run bench -- --only groups`), with 1 group and then with N, each idle for a while
 * once every group is led and the leaders are spread. Prints, per host and per group over
 * the 1-group run: RSS, and what it is made of — the V8 heap in use, the heap's committed
 * pages that hold nothing (free), each heap space, memory outside the heap
 * (ArrayBuffers and native bindings) and the rest (code, malloc, stacks).
 *
 *     node -r ts-node/register/transpile-only bench/groupMemoryKv.ts [groups=1000] [--idle <s>=20] [--snapshot [dir]]
 *
 * With `--snapshot` (into `dir`, kept, if given) it writes a heap snapshot of host h1 at
 * the end of each run and prints what the N-group heap holds more, per group, by
 * constructor, by the line and the file that made each closure, and by owner
 * (bench/heapSnapshotDiff.ts). A snapshot of 1,000 groups is large: 300 groups tell
 * the same.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../examples/kv/processes';
import { GroupsCluster } from './clusterGroups';
import { compareHeapSnapshots, compareOwners } from './heapSnapshotDiff';
import type { HostMemory } from './shardedNode';

const HOSTS = ['h1', 'h2', 'h3'];

/** What one group count left in each host process after the idle wait. */
async function run(groups: number, idleMs: number, snapshotTo: string | null): Promise<HostMemory[]> {
  const note = (line: string) => console.log(line);
  const cluster = await GroupsCluster.start(groups, { groupStorage: 'shared', electionTimeout: null, quiesce: true, note }, null);
  try {
    await cluster.balanced();
    await new Promise((r) => setTimeout(r, idleMs));
    const memory = await cluster.callAll<HostMemory>('memory');
    if (snapshotTo) await cluster.callAll('heapSnapshot', (id) => ({ file: id === 'h1' ? snapshotTo : null }), 600_000).catch(() => undefined);
    return memory;
  } finally {
    await cluster.stop();
  }
}

/** The rows of the table: each a part of RSS, per group (KiB) on each host. */
function parts(m: HostMemory): Record<string, number> {
  const physical = m.spaces.reduce((n, s) => n + s.physical_space_size, 0);
  const out: Record<string, number> = {
    rss: m.rss,
    'rss right after the GC': m.usage.rss,
    'heap used': m.usage.heapUsed,
    'heap committed, free': physical - m.usage.heapUsed,
    external: m.usage.external,
    '  of which ArrayBuffers': m.usage.arrayBuffers,
    'rest (code, malloc, stacks)': m.rss - physical - m.usage.external,
  };
  for (const [kind, kib] of Object.entries(m.resident.kinds)) out[`resident ${kind}`] = kib * 1024;
  for (const [size, a] of Object.entries(m.resident.anonBySize)) out[`  anon ${size}`] = a.residentKiB * 1024;
  for (const s of m.spaces) {
    out[`  ${s.space_name} used`] = s.space_used_size;
    out[`  ${s.space_name} committed`] = s.physical_space_size;
  }
  return out;
}

/** The classes an object's bytes are counted for (`bytesByOwner`): this repository's, and RxJS's subscribers and subjects. */
function ownerClasses(): Set<string> {
  const names = new Set(['SafeSubscriber', 'OperatorSubscriber', 'Subscriber', 'Subject', 'Observable', 'Subscription', 'Map', 'Set', 'Promise']);
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, e.name);
      if (e.isDirectory()) walk(file);
      else if (file.endsWith('.ts')) for (const m of fs.readFileSync(file, 'utf8').matchAll(/^(?:export )?(?:abstract )?class (\w+)/gm)) names.add(m[1]);
    }
  };
  for (const dir of ['src', 'examples', 'bench']) walk(path.join(REPO_ROOT, dir));
  return names;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const groups = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--idle') ?? 1000);
  const idleAt = args.indexOf('--idle');
  const idleMs = (idleAt >= 0 ? Number(args[idleAt + 1]) : 20) * 1000;
  if (!Number.isSafeInteger(groups) || groups < 2 || !Number.isFinite(idleMs) || idleMs < 0) throw new Error('usage: groupMemoryKv.ts [groups >= 2] [--idle <seconds>] [--snapshot [dir]]');
  const snapshotAt = args.indexOf('--snapshot');
  const keep = snapshotAt >= 0 && args[snapshotAt + 1] !== undefined && !args[snapshotAt + 1].startsWith('--') ? args[snapshotAt + 1] : null;
  if (keep) fs.mkdirSync(keep, { recursive: true });
  const dir = snapshotAt < 0 ? null : (keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-group-memory-kv-')));
  try {
    const snapshot = (n: number) => (dir ? path.join(dir, `${n}.heapsnapshot`) : null);
    const one = await run(1, idleMs, snapshot(1));
    const many = await run(groups, idleMs, snapshot(groups));
    const kib = (a: number, b: number) => ((b - a) / 1024 / (groups - 1)).toFixed(1).padStart(7);
    console.log(`\nper group over the 1-group run, KiB (hosts ${HOSTS.join(' / ')}), ${groups} groups, idle ${idleMs / 1000} s:`);
    const [a, b] = [one.map(parts), many.map(parts)];
    for (const key of Object.keys(b[0])) console.log(`${key.padEnd(34)} ${HOSTS.map((_, i) => kib(a[i][key] ?? 0, b[i][key])).join(' ')}`);
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    console.log(`\nthe runs themselves, MiB (1 group -> ${groups}):`);
    for (const key of Object.keys(b[0])) console.log(`${key.padEnd(34)} ${HOSTS.map((_, i) => `${mib(a[i][key] ?? 0)} -> ${mib(b[i][key])}`).join(' / ')}`);
    const shapes = (m: HostMemory) => `${m.resident.threads} threads, anon regions ${Object.entries(m.resident.anonBySize).map(([k, v]) => `${k}: ${v.count}`).join(', ')}`;
    for (const [i, h] of HOSTS.entries()) console.log(`${h}: 1 group ${shapes(one[i])}; ${groups} groups ${shapes(many[i])}`);
    if (dir) {
      compareHeapSnapshots(snapshot(1)!, snapshot(groups)!, groups - 1);
      compareOwners(snapshot(1)!, snapshot(groups)!, groups - 1, ownerClasses());
    }
  } finally {
    if (dir && !keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
