/**
 * What idle groups allocate, in one process and on virtual time (issue 19): 3 hosts × N
 * groups on an in-memory network with in-memory storage, `balanceLeaders` on every host
 * (as the sharded KV server runs it), every group led, the leaders spread, and quiet;
 * then 20 virtual seconds idle. Prints the bytes allocated per idle second per host
 * (bench/idleTrace.ts's `allocatedDuring`), with and without the balancers, and the group
 * messages delivered meanwhile (0 when every group stayed quiet). V8 gives a grown young
 * generation back only while a process allocates under about 1 MB/s
 * (docs/notes/group-memory.md): the host's own part of that, without the TCP transport's
 * cost per liveness message, and independent of the machine's load.
 *
 *     node -r ts-node/register/transpile-only bench/groupIdleAllocation.ts [groups=1000] [--sites]
 *
 * `--sites` prints where the hosts allocated in the idle seconds without the balancers
 * (V8's sampling heap profiler).
 */
import type { Subscription } from 'rxjs';
import { balanceLeaders } from '../src/host/balanceLeaders';
import { createRaftHost, RaftHost } from '../src/host/raftHost';
import { seededRandom } from '../src/random';
import { MemoryStorage } from '../src/storage/memoryStorage';
import { VirtualClock } from '../src/testing/virtualClock';
import { MemoryHub } from '../src/transports/memoryHub';
import { allocatedDuring, startSampling } from './idleTrace';

const HOSTS = ['h1', 'h2', 'h3'];
const IDLE_MS = 20_000;

async function main(): Promise<void> {
  const groups = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1000);
  if (!Number.isSafeInteger(groups) || groups < 1) throw new Error('groups: a positive integer');
  const clock = new VirtualClock();
  const random = seededRandom(7);
  const hub = new MemoryHub({ scheduler: clock.scheduler, random, faults: { delay: { min: 1, max: 3 } } });
  const defaults = { scheduler: clock.scheduler, turnScheduler: clock.scheduler, random, electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 };
  const transports = HOSTS.map((id) => hub.connectHost(id));
  let delivered = 0;
  for (const t of transports) t.inbound$.subscribe(() => delivered++);
  const hosts: RaftHost[] = HOSTS.map((id, i) => createRaftHost({ id, transport: transports[i], storage: () => new MemoryStorage({ scheduler: clock.scheduler, syncDelay: 1 }), groupDefaults: defaults }));
  const ids = Array.from({ length: groups }, (_, i) => `g${i}`);
  for (const g of ids) for (const host of hosts) await host.createGroup(g, { peers: HOSTS });
  const ledBy = (h: RaftHost) => ids.filter((g) => h.group(g)?.followers() !== null).length;
  const balancers: Subscription[] = hosts.map((h) => balanceLeaders(h, { scheduler: clock.scheduler }).subscribe());
  const fair = Math.ceil(groups / HOSTS.length);
  for (let waited = 0; waited < 120_000 && !(hosts.every((h) => ledBy(h) <= fair) && hosts.reduce((n, h) => n + ledBy(h), 0) === groups); waited += 100) await clock.advance(100);
  await clock.advance(3000);
  const idle = async (label: string) => {
    const before = delivered;
    const { allocatedBytes } = await allocatedDuring(() => clock.advance(IDLE_MS));
    const perHostPerSecond = allocatedBytes / (IDLE_MS / 1000) / HOSTS.length;
    console.log(`${label}: ${(perHostPerSecond / 1024).toFixed(1)} KiB per idle second per host; group messages meanwhile ${delivered - before}`);
  };
  console.log(`${groups} groups on 3 hosts, leaders ${hosts.map(ledBy).join(' / ')}`);
  await idle('with balanceLeaders on every host');
  for (const b of balancers) b.unsubscribe();
  const sampler = process.argv.includes('--sites') ? await startSampling(4096) : null;
  await idle('without');
  for (const s of (await sampler?.()) ?? []) console.log(`  ${(s.bytes / (IDLE_MS / 1000) / HOSTS.length / 1024).toFixed(1).padStart(6)} KiB/s per host  ${s.stack}`);
  await Promise.all(hosts.map((h) => h.stop()));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
