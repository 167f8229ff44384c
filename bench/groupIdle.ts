/**
 * Are idle groups idle? Three sharded KV host processes (as `npm run bench -- --only
 * groups`), N groups, every group led and the leaders spread; then, window after window,
 * what each host did (bench/idleTrace.ts): group messages received by type and from how
 * many groups, liveness messages, CPU, GCs, bytes allocated per second, and the young
 * generation's committed size (V8 gives back a grown young generation only when a GC sees
 * less than about 1 MB/s allocated). `--sites` samples where host h1 allocated in the
 * last window. At the end, `memory` (after a full GC, as the bench's `counters`).
 *
 *     node -r ts-node/register/transpile-only bench/groupIdle.ts [groups=1000] [--windows 6] [--window <s>=5] [--sites]
 */
import { GroupsCluster } from './clusterGroups';
import type { IdleTrace } from './idleTrace';
import type { HostMemory } from './shardedNode';

const HOSTS = ['h1', 'h2', 'h3'];
const MiB = 2 ** 20;

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

function row(id: string, t: IdleTrace): string {
  const messages = Object.entries(t.messages).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / t.seconds).toFixed(0)}`).join(', ') || '-';
  const gcs = t.gcs.map((g) => `${g.type[0]}${(g.newSpaceCommitted / MiB).toFixed(0)}`).join(' ') || '-';
  return (
    `  ${id}: CPU ${t.cpuPercent.toFixed(1)} %, allocated ${(t.allocatedBytes / t.seconds / 1024).toFixed(0)} KiB/s, liveness ${(t.livenessMessages / t.seconds).toFixed(0)}/s, ` +
    `groups heard ${t.groupsHeard}, messages/s: ${messages}; young gen ${(t.newSpaceCommittedStart / MiB).toFixed(1)} → ${(t.newSpaceCommittedEnd / MiB).toFixed(1)} MiB, GCs (kind, young MiB after): ${gcs}`
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const groups = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 1000);
  const windows = option(args, '--windows', 6);
  const windowMs = option(args, '--window', 5) * 1000;
  const sites = args.includes('--sites');
  const note = (line: string) => console.log(line);
  const started = performance.now();
  const cluster = await GroupsCluster.start(groups, { groupStorage: 'shared', electionTimeout: null, quiesce: true, note }, null);
  try {
    await cluster.balanced();
    note(`balanced after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (let w = 0; w < windows; w++) {
      const traces = await cluster.callAll<IdleTrace>('idleTrace', (id) => ({ ms: windowMs, sites: sites && id === 'h1' && w === windows - 1 }), windowMs + 60_000);
      note(`window ${w + 1} (${((performance.now() - started) / 1000).toFixed(0)} s):`);
      traces.forEach((t, i) => note(row(HOSTS[i], t)));
      if (traces[0].sites) for (const s of traces[0].sites) note(`    ${(s.bytes / traces[0].seconds / 1024).toFixed(1).padStart(7)} KiB/s  ${s.stack}`);
    }
    const memory = await cluster.callAll<HostMemory>('memory');
    memory.forEach((m, i) => {
      const young = m.spaces.find((s) => s.space_name === 'new_space');
      note(`  ${HOSTS[i]} after a full GC: RSS ${(m.rss / MiB).toFixed(0)} MiB (right after it ${(m.usage.rss / MiB).toFixed(0)}), heap used ${(m.usage.heapUsed / MiB).toFixed(1)} MiB, heap committed ${(m.usage.heapTotal / MiB).toFixed(1)} MiB, young gen ${((young?.physical_space_size ?? NaN) / MiB).toFixed(1)} MiB`);
    });
  } finally {
    await cluster.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
