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
import { compareHeapSnapshots } from './heapSnapshotDiff';
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
    compareHeapSnapshots(run(1), run(groups), (groups - 1) * HOSTS.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
