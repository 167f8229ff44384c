/**
 * A probe of the groups bench's failover round (issue 19): starts the bench's three
 * sharded KV processes with N groups, spreads the leaders, SIGKILLs the host leading the
 * most, and every second asks both survivors for each shard's replica state (role, term,
 * leader, vote, log, time since it heard from a leader; the `states` IPC command of
 * bench/shardedNode.ts), then prints what the groups the dead host led look like: how
 * many have a leader both survivors agree on, the roles, the terms gained, and a few
 * groups still without a leader. Then restarts the host and waits for the balance.
 *
 *     [PROBE_PROFILE_DIR=dir] [PROBE_ELECTION_TIMEOUT=<min>-<max>] nice -n 19 npx ts-node --transpile-only bench/failoverProbe.ts [groups=1000] [rounds=1] [seconds=60]
 */
import { GroupsCluster } from './clusterGroups';
import { nowMs } from './clusterStats';
import type { ShardState } from './shardedNode';
import * as fs from 'node:fs';
import { cpuTicksOfStat } from './procCpu';

/** CPU time of a process so far, in clock ticks (1/100 s). */
const ticksOf = (pid: number) => cpuTicksOfStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

const IDS = ['h1', 'h2', 'h3'];

async function main(): Promise<void> {
  const [groups = 1000, rounds = 1, seconds = 60] = process.argv.slice(2).map(Number);
  const note = (line: string) => console.log(line);
  const cluster = await GroupsCluster.start(groups, { groupStorage: 'shared', electionTimeout: process.env.PROBE_ELECTION_TIMEOUT ?? null, quiesce: true, note, failoverProfileDir: null }, null);
  try {
    await cluster.balanced();
    for (let round = 0; round < rounds; round++) {
      const leads = await cluster.leads();
      const [victim, led] = [...leads].sort((a, b) => b[1].length - a[1].length)[0];
      const survivors = IDS.filter((id) => id !== victim);
      const startTerms = await Promise.all(survivors.map((id) => cluster.call<ShardState[]>(id, 'states')));
      const pids = survivors.map((id) => cluster.pid(id));
      let ticks = pids.map(ticksOf);
      await Promise.all(survivors.map((id) => cluster.call(id, 'loopDelay')));
      const profileDir = process.env.PROBE_PROFILE_DIR;
      if (profileDir) await Promise.all(survivors.map((id) => cluster.call(id, 'profile', { start: true })));
      const killedAt = nowMs();
      await cluster.kill(victim);
      note(`round ${round + 1}: killed ${victim} (led ${led.length})`);
      for (let t = 1; t <= seconds; t++) {
        await new Promise((r) => setTimeout(r, Math.max(0, killedAt + t * 1000 - nowMs())));
        const asked = nowMs();
        const views = await Promise.all(survivors.map((id) => cluster.call<ShardState[]>(id, 'states', undefined, 30_000).then((v) => ({ v, ms: nowMs() - asked }))));
        const now = pids.map(ticksOf);
        const cpu = now.map((t, i) => t - ticks[i]);
        ticks = now;
        const delays = await Promise.all(survivors.map((id) => cluster.call<{ p50: number; p99: number; max: number; lost: number }>(id, 'loopDelay', undefined, 30_000)));
        const agreed = led.filter((g) => {
          const l = views[0].v[g].leaderId;
          return l !== null && l !== victim && views.every((x) => x.v[g].leaderId === l && x.v[g].term === views[0].v[g].term);
        }).length;
        const roles = views.map(({ v }) => {
          const c: Record<string, number> = {};
          for (const g of led) c[v[g].role] = (c[v[g].role] ?? 0) + 1;
          return Object.entries(c).map(([k, n]) => `${k} ${n}`).join(', ');
        });
        const followDead = views.map(({ v }) => led.filter((g) => v[g].role === 'follower' && v[g].leaderId === victim).length);
        const gained = led.map((g) => Math.max(...views.map(({ v }) => v[g].term)) - startTerms[0][g].term).sort((a, b) => a - b);
        const pct = (q: number) => gained[Math.min(gained.length - 1, Math.floor(q * gained.length))];
        note(
          `  +${t}s: agreed leader ${agreed}/${led.length}; answered in ${views.map((x) => Math.round(x.ms)).join(' / ')} ms; CPU % ${cpu.join(' / ')}; loop delay p50/p99/max ${delays.map((d) => `${d.p50}/${d.p99}/${d.max}`).join(' | ')} ms; lost$ reports ${delays.map((d) => d.lost).join(' / ')}; roles ${roles.join(' | ')}; ` +
            `following the dead host ${followDead.join(' / ')}; terms gained p50/p90/max ${pct(0.5)}/${pct(0.9)}/${gained[gained.length - 1]}`,
        );
        if (agreed === led.length) break;
        if (t % 10 === 0 || t === seconds) {
          const stuck = led.filter((g) => !(views[0].v[g].leaderId !== null && views[0].v[g].leaderId === views[1].v[g].leaderId && views[0].v[g].leaderId !== victim)).slice(0, 6);
          for (const g of stuck) note(`    group ${g}: ${views.map(({ v }, i) => `${survivors[i]} ${JSON.stringify({ ...v[g], sinceLeaderMs: Math.round(v[g].sinceLeaderMs) })}`).join('  ')}`);
        }
      }
      if (profileDir) {
        fs.mkdirSync(profileDir, { recursive: true });
        await Promise.all(survivors.map((id) => cluster.call(id, 'profile', { stop: `${profileDir}/round${round + 1}-${id}.cpuprofile` }, 60_000)));
      }
      await cluster.restart(victim);
      await cluster.balanced();
    }
  } finally {
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
