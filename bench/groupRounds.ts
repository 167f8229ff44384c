/**
 * What one write costs when many groups each write alone (issue 19): three hosts in this
 * one process (`createRaftHost` over `tcpHostTransport` on 127.0.0.1, one shared log each
 * in a temp directory), `--groups` groups on all three, `--writers` closed-loop writers
 * (default one per group; writer w writes to group w mod groups, on its leader), for `--seconds`. Reports, per acknowledged write: the messages received
 * by type (AppendEntries with entries, empty ones — heartbeats, commit notices, quiesce and
 * wake-up rounds — and their answers), the frames sent, and the CPU time of the process
 * (all three hosts together). One process: no other host process competes for the CPU,
 * so the counts say more than the cluster benchmark's rates on a loaded machine.
 *
 *   npx ts-node --transpile-only bench/groupRounds.ts [--groups 64] [--writers 64] [--seconds 3] [--heartbeat 50] [--election 150-300]
 *   npx ts-node --transpile-only bench/groupRounds.ts --groups 1 --writers 64   # the one-group reference
 *   npx ts-node --transpile-only bench/groupRounds.ts --profile /tmp/g64.cpuprofile  # a CPU profile of the measured seconds only
 *   npx ts-node --transpile-only bench/groupRounds.ts --alloc   # where the measured seconds allocate, bytes per write (sampled)
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { createRaftHost, RaftHost, RaftNode, tcpHostTransport, TcpHostTransport } from '../src';
import { startSampling } from './idleTrace';

const HOSTS = ['h1', 'h2', 'h3'];

interface Args {
  readonly groups: number;
  readonly writers: number;
  readonly seconds: number;
  readonly heartbeat: number;
  readonly election: { readonly min: number; readonly max: number };
  /** Where a CPU profile of the measured seconds goes (setup and teardown left out), or null. */
  readonly profile: string | null;
  /** Print the allocation sites of the measured seconds, bytes per write (`--alloc`). */
  readonly alloc: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const [min, max] = get('election', '150-300').split('-').map(Number);
  const groups = Number(get('groups', '64'));
  const args = { groups, writers: Number(get('writers', String(groups))), seconds: Number(get('seconds', '3')), heartbeat: Number(get('heartbeat', '50')), election: { min, max }, profile: get('profile', '') || null, alloc: argv.includes('--alloc') };
  if (![args.groups, args.writers, args.seconds, args.heartbeat, min, max].every((n) => Number.isFinite(n) && n > 0)) throw new Error('usage: [--groups <n>] [--writers <n>] [--seconds <s>] [--heartbeat <ms>] [--election <min>-<max>] [--profile <file>] [--alloc]');
  return args;
}

/** Three host transports on 127.0.0.1 (ephemeral ports), each knowing the others. */
async function openTransports(): Promise<Map<string, TcpHostTransport>> {
  const transports = new Map<string, TcpHostTransport>();
  for (const id of HOSTS) transports.set(id, tcpHostTransport({ id, listen: { host: '127.0.0.1', port: 0 }, peers: {}, clusterId: 'group-rounds', secret: 'group-rounds bench secret', connectOnStart: false }));
  for (const [id, t] of transports) {
    const { port } = await t.listening();
    for (const [other, o] of transports) if (other !== id) o.setPeer(id, `127.0.0.1:${port}`);
  }
  return transports;
}

/** Starts a CPU profile of this process (inspector); the function returned stops it and writes it to `file`. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-group-rounds-'));
  const transports = await openTransports();
  const hosts: RaftHost[] = [];
  try {
    for (const id of HOSTS) {
      const groupDefaults = { electionTimeout: args.election, heartbeatInterval: args.heartbeat };
      hosts.push(createRaftHost({ id, transport: transports.get(id)!, dataDir: path.join(root, id), sharedLog: true, groupDefaults }));
    }
    const groups = Array.from({ length: args.groups }, (_, i) => `g${i + 1}`);
    for (const g of groups) for (const h of hosts) await h.createGroup(g, { peers: HOSTS });
    const leaderOf = (g: string) => Promise.race(hosts.map((h) => h.group(g)!).map((n) => firstValueFrom(n.leader$.pipe(filter((l) => l?.self === true), timeout(30_000))).then(() => n)));
    const leaders: RaftNode[] = await Promise.all(groups.map(leaderOf));
    const received = new Map<string, number>();
    for (const t of transports.values()) {
      t.inbound$.subscribe(({ message: m }) => {
        const kind = m.type === 'AppendEntries' ? (m.entries.length > 0 ? 'AppendEntries (entries)' : 'AppendEntries (empty)') : m.type;
        received.set(kind, (received.get(kind) ?? 0) + 1);
      });
    }
    const framesSent = () => [...transports.values()].reduce((n, t) => n + Object.values(t.stats().peers).reduce((m, p) => m + p.framesSent, 0), 0);
    const stopProfile = args.profile ? await startProfile(args.profile) : null;
    const stopSampling = args.alloc ? await startSampling(4096) : null;
    const [frames0, cpu0] = [framesSent(), process.cpuUsage()];
    let writes = 0;
    let running = true;
    /** Failed writes by error name (a starved machine may see elections); the writer goes on with whoever leads then. */
    const errors = new Map<string, number>();
    const writers = Array.from({ length: args.writers }, async (_, w) => {
      const g = w % groups.length;
      for (let k = 0; running; k++) {
        try {
          await leaders[g].propose(Buffer.from(`${w}-${k}`));
          writes++;
        } catch (e) {
          errors.set((e as Error).name, (errors.get((e as Error).name) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 10));
          leaders[g] = hosts.map((h) => h.group(groups[g])!).find((n) => n.followers() !== null) ?? leaders[g];
        }
      }
    });
    await new Promise((r) => setTimeout(r, args.seconds * 1000));
    running = false;
    const cpu = process.cpuUsage(cpu0);
    const frames = framesSent() - frames0;
    await stopProfile?.();
    const sites = await stopSampling?.();
    await Promise.allSettled(writers);
    const per = (n: number) => (n / writes).toFixed(2);
    console.log(`${args.groups} group(s), ${args.writers} writers, ${args.seconds} s, heartbeat ${args.heartbeat} ms: ${writes} writes (${Math.round(writes / args.seconds)}/s); load average ${os.loadavg()[0].toFixed(1)}`);
    console.log(`  per write: CPU ${Math.round((cpu.user + cpu.system) / writes)} µs (3 hosts; system ${Math.round(cpu.system / writes)}), frames sent ${per(frames)}, messages received ${per([...received.values()].reduce((a, b) => a + b, 0))}`);
    for (const [kind, n] of [...received].sort((a, b) => b[1] - a[1])) console.log(`    ${kind.padEnd(26)} ${per(n)}`);
    if (sites) {
      console.log(`  allocation sites (sampled), bytes per write:`);
      for (const { stack, bytes } of sites) console.log(`    ${(bytes / writes).toFixed(0).padStart(6)}  ${stack}`);
    }
    if (errors.size > 0) console.log(`  failed writes: ${[...errors].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  } finally {
    await Promise.allSettled(hosts.map((h) => h.stop()));
    await Promise.allSettled([...transports.values()].map((t) => t.close()));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
