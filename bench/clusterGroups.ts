/**
 * The multi-group phase of the cluster benchmark (`npm run bench -- --only groups`):
 * three sharded KV server processes (bench/shardedNode.ts = examples/sharded-kv.ts plus a
 * load generator) on loopback, one shared write-ahead log per process (`--group-storage
 * files`: a FileStorage per group), for each group count asked (e.g. `--groups 1,64`).
 * With more than one group the leaders are spread over the hosts (`--balance`) before
 * measuring. At each load level, `concurrency` proposers in all, proposer w writing to
 * group w mod N inside the process that leads that group (library API). Measures
 * aggregate durable writes/s, syncs/s of each host process's storage, CPU, RSS and heap
 * of each process. Level 0 is idle: no proposers for the level's length, so `--levels 0`
 * with `--groups 1,1000` gives the idle cost per host and the memory per idle group.
 *
 * Then `failovers` rounds, each once every group is quiet again (quiescence on): SIGKILL the process leading the most groups, time until every
 * group it led has a leader on another host (the moment the new leader's own `leader$`
 * said so, wall clock), restart it and rebalance. Compare the median with one group's.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forkKvServer, freePorts, KvChild } from '../examples/kv/processes';
import type { NodeCounters } from './clusterNode';
import { LoadResult, median, nowMs } from './clusterStats';
import type { CountersArgs, GroupLoadArgs, ShardLeader } from './shardedNode';
import { RSS_SETTLE_MS } from './procMaps';
import { TimelineResult, timelineReport } from './failoverTimeline';
import { REJOIN_MS, RejoinView, rejoinReport } from './rejoinTimeline';

const IDS = ['h1', 'h2', 'h3'];

export interface GroupsPhaseOptions {
  /** Group counts to run, one fresh cluster each (e.g. [1, 64]). */
  readonly groups: readonly number[];
  /** Total proposers per level. */
  readonly levels: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly valueBytes: number;
  /** Failover rounds per group count (0: none). */
  readonly failovers: number;
  /** The servers' `--group-storage`. */
  readonly groupStorage: 'shared' | 'files';
  /** The servers' `--election-timeout` (`<min>-<max>` ms), or null for their default. */
  readonly electionTimeout: string | null;
  /** Whether idle groups quiesce (the sharded server's default); false passes `--quiesce=false`. */
  readonly quiesce: boolean;
  /** Where the surviving hosts' CPU profiles of each failover round go (`--profile`), or null. */
  readonly failoverProfileDir?: string | null;
  /** Where progress lines go. */
  readonly note: (line: string) => void;
  /** Where the host processes of a group count write their CPU profiles (`node --cpu-prof`), or null for none. */
  readonly profileDir?: (groups: number) => string | null;
}

/** One failover: a host process killed, the groups it led re-elected elsewhere. */
export interface GroupsFailoverResult {
  readonly groups: number;
  /** The groups the killed host led. */
  readonly affected: number;
  /** Kill → every affected group has a leader on another host, ms. */
  readonly allMs: number;
  /** Kill → a group's new leader, median over the affected groups, ms. */
  readonly medianGroupMs: number;
  /** The round's trace (NaN / empty when not every group was re-elected). */
  readonly trace?: FailoverTrace;
}

/** Where a failover's time went, over the affected groups. */
export interface FailoverTrace {
  /** Affected groups with their new leader by 250, 500, 750, 1000, 1500, 2000, 3000 ms after the kill. */
  readonly electedBy: readonly number[];
  /** Kill → the first candidacy (a real election round) of a surviving replica: p10, p50, p90 over the affected groups, ms. */
  readonly firstCandidacyMs: readonly number[];
  /** Affected groups that took 1, 2, and 3 or more candidacies (election rounds) until their leader. */
  readonly rounds: readonly number[];
  /** CPU % of each surviving host process from the kill until every group was re-elected. */
  readonly survivorCpuPercent: readonly number[];
  /** Group messages received per second by each survivor over the same window. */
  readonly survivorMessagesPerSec: readonly number[];
}

const ELECTED_BY_MS = [250, 500, 750, 1000, 1500, 2000, 3000];

/** A failover round starts once no group message arrived anywhere for this long (groups that quiesce)... */
const QUIET_MS = 1000;
/** ... or after this long at most. */
const QUIET_WAIT_MS = 30_000;

/** The trace of one round from the survivors' views (`views[i]`: survivor i's shards) once every affected group is elected. */
function failoverTrace(led: readonly number[], views: readonly ShardLeader[][], elected: readonly number[], killedAt: number): Omit<FailoverTrace, 'survivorCpuPercent' | 'survivorMessagesPerSec'> {
  const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const after = (g: number) => views.flatMap((v) => v[g].candidacies.filter((t) => t >= killedAt).map((t) => t - killedAt));
  const first = led.map((g) => Math.min(...after(g))).filter(Number.isFinite).sort((a, b) => a - b);
  const rounds = [0, 0, 0];
  for (const g of led) rounds[Math.min(3, Math.max(1, after(g).length)) - 1]++;
  return { electedBy: ELECTED_BY_MS.map((ms) => elected.filter((e) => e <= ms).length), firstCandidacyMs: [0.1, 0.5, 0.9].map((q) => pct(first, q)), rounds };
}

/** What the phase measured. */
export interface GroupsPhaseResult {
  readonly levels: GroupsLevelResult[];
  readonly failovers: GroupsFailoverResult[];
}

/** One host process over one level. */
export interface GroupsHostResult {
  readonly id: string;
  /** Groups it led when the level started. */
  readonly leads: number;
  readonly proposers: number;
  readonly writesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly fsyncsPerSec: number;
  readonly cpuPercent: number;
  readonly framesSentPerSec: number;
  /** Raft messages of every group, and host liveness messages, received per second. */
  readonly groupMessagesPerSec: number;
  readonly livenessMessagesPerSec: number;
  /** Resident set size at the end of the level, MB: `RSS_SETTLE_MS` after a full GC. */
  readonly rssMb: number;
  /** The same right after that GC, MB: with pages the GC freed that V8 has not yet unmapped. */
  readonly rssAtGcMb?: number;
  /** V8 heap in use at the end of the level (after a full GC), MB. */
  readonly heapMb: number;
  /** V8 heap committed (in use, free pages, semi-spaces), and memory outside it (of which ArrayBuffers), at the same moment, MB. */
  readonly heapTotalMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
}

/** One group count at one load level. */
export interface GroupsLevelResult {
  readonly groups: number;
  readonly concurrency: number;
  /** Acknowledged writes per second, over every host. */
  readonly writesPerSec: number;
  /** Median over the hosts that ran proposers. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of the three processes together per acknowledged write, µs: the cost of a write whatever else loads the machine. */
  readonly cpuMicrosPerWrite: number;
  readonly errors: Record<string, number>;
  readonly hosts: readonly GroupsHostResult[];
}

/** Runs the phase: one fresh 3-process cluster per group count, every load level on it, then the failovers. */
export async function groupsPhase(o: GroupsPhaseOptions): Promise<GroupsPhaseResult> {
  const results: GroupsPhaseResult = { levels: [], failovers: [] };
  for (const groups of o.groups) {
    const started = nowMs();
    const cluster = await GroupsCluster.start(groups, o, o.profileDir?.(groups) ?? null);
    try {
      o.note(`  ${groups} group(s): 3 processes ready after ${((nowMs() - started) / 1000).toFixed(1)} s`);
      await cluster.balanced();
      for (const concurrency of o.levels) results.levels.push(await cluster.level(concurrency, o));
      for (let round = 0; round < o.failovers; round++) results.failovers.push(await cluster.failover());
    } finally {
      await cluster.stop();
    }
  }
  return results;
}

/** The phase's table, one row per group count and level; the ratios; the failovers. */
export function groupsReport(phase: GroupsPhaseResult): string[] {
  const results = phase.levels;
  const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
  const out = [
    '',
    'many groups per process (sharded KV, library API; proposer w writes to group w mod N in the process leading it):',
    '| groups | proposers | writes/s (all) | p50 ms | p99 ms | fsyncs/s per host       | CPU % per host       | CPU µs per write | RSS MB per host      | heap MB per host     | leads per host | errors |',
    '|-------:|----------:|---------------:|-------:|-------:|-------------------------|----------------------|-----------------:|----------------------|----------------------|----------------|--------|',
  ];
  for (const r of results) {
    const per = (f: (h: GroupsHostResult) => string) => r.hosts.map(f).join(' / ');
    const errors = Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
    out.push(
      `| ${String(r.groups).padStart(6)} | ${String(r.concurrency).padStart(9)} | ${fmt(r.writesPerSec).padStart(14)} | ${fmt(r.p50Ms, 2).padStart(6)} | ${fmt(r.p99Ms, 2).padStart(6)} | ${per((h) => fmt(h.fsyncsPerSec)).padEnd(23)} | ${per((h) => fmt(h.cpuPercent)).padEnd(20)} | ${fmt(r.cpuMicrosPerWrite).padStart(16)} | ${per((h) => fmt(h.rssMb)).padEnd(20)} | ${per((h) => fmt(h.heapMb)).padEnd(20)} | ${per((h) => String(h.leads)).padEnd(14)} | ${errors} |`,
    );
  }
  const ratio = (g: number, c: number) => results.find((r) => r.groups === g && r.concurrency === c)?.writesPerSec ?? NaN;
  const many = Math.max(...results.map((r) => r.groups));
  for (const c of new Set(results.map((r) => r.concurrency))) {
    if (c === 0 || many <= 1 || !results.some((r) => r.groups === 1)) continue;
    const fsyncs = (g: number) => results.find((r) => r.groups === g && r.concurrency === c)?.hosts.map((h) => fmt(h.fsyncsPerSec)).join(' / ') ?? '-';
    out.push(`${many} groups vs 1 at ${c} proposers: ${fmt(ratio(many, c) / ratio(1, c), 2)}× the writes/s; fsyncs/s per host ${fsyncs(many)} vs ${fsyncs(1)}`);
  }
  const idle = (g: number) => results.find((r) => r.groups === g && r.concurrency === 0);
  const [one, all] = [idle(1), idle(many)];
  if (one && all && many > 1) {
    const perGroupKiB = (mb: (h: GroupsHostResult) => number) => all.hosts.map((h, i) => ((mb(h) - mb(one.hosts[i])) * 1024) / (many - 1));
    out.push(
      `idle, ${many} groups: CPU % per host ${all.hosts.map((h) => fmt(h.cpuPercent, 1)).join(' / ')}; memory per group ${perGroupKiB((h) => h.rssMb).map((k) => fmt(k)).join(' / ')} KiB RSS` +
        (all.hosts.every((h) => h.rssAtGcMb !== undefined) ? ` (read in the forced GC's turn, as before 2026-12-06: ${perGroupKiB((h) => h.rssAtGcMb!).map((k) => fmt(k)).join(' / ')})` : '') +
        ', ' +
        `${perGroupKiB((h) => h.heapMb).map((k) => fmt(k)).join(' / ')} KiB heap (over the 1-group run)`,
    );
    const kib = (mb: (h: GroupsHostResult) => number) => perGroupKiB(mb).map((k) => fmt(k, 1)).join(' / ');
    out.push(
      `idle, ${many} groups, the rest of RSS per group: heap committed but free ${kib((h) => h.heapTotalMb - h.heapMb)} KiB; outside the heap ${kib((h) => h.externalMb)} KiB ` +
        `(ArrayBuffers ${kib((h) => h.arrayBuffersMb)}); code, malloc and stacks ${kib((h) => h.rssMb - h.heapTotalMb - h.externalMb)} KiB`,
    );
    const rates = (h: GroupsHostResult) => `${fmt(h.groupMessagesPerSec)} + ${fmt(h.livenessMessagesPerSec)}`;
    out.push(`idle messages received per second per host (group + host liveness): 1 group ${one.hosts.map(rates).join(' / ')}; ${many} groups ${all.hosts.map(rates).join(' / ')}`);
  }
  const failed = (g: number) => phase.failovers.filter((f) => f.groups === g);
  for (const g of new Set(phase.failovers.map((f) => f.groups))) {
    const rounds = failed(g);
    out.push(
      `failover, ${g} group(s) (SIGKILL the host leading the most; ${rounds.length} rounds): every group it led has a leader elsewhere after ${fmt(median(rounds.map((f) => f.allMs)))} ms median ` +
        `(rounds: ${rounds.map((f) => `${f.affected} groups ${fmt(f.allMs)} ms`).join(', ')}); a group's new leader after ${fmt(median(rounds.map((f) => f.medianGroupMs)))} ms median`,
    );
  }
  const failoverMedian = (g: number) => median(failed(g).map((f) => f.allMs));
  const largest = Math.max(...phase.failovers.map((f) => f.groups));
  if (largest > 1 && failed(1).length > 0) out.push(`failover, ${largest} groups vs 1: ${fmt(failoverMedian(largest) / failoverMedian(1), 2)}× the median (target < 2×)`);
  return out;
}

/** Three sharded KV processes with `groups` groups each, in a temp directory removed at the end (also on exit). */
export class GroupsCluster {
  private readonly children = new Map<string, KvChild>();
  private readonly args = new Map<string, string[]>();
  private readonly secret = crypto.randomBytes(16).toString('hex');
  private readonly cleanup = () => fs.rmSync(this.root, { recursive: true, force: true });
  /** Survivor profiles of failover rounds, in `profileDir`, written so far. */
  private profiled = 0;

  private constructor(
    private readonly root: string,
    readonly groups: number,
    private readonly note: (line: string) => void,
    private readonly nodeArgs: readonly string[],
    private readonly profileDir: string | null,
    private readonly quiesce: boolean,
  ) {
    process.once('exit', this.cleanup);
  }

  static async start(groups: number, o: Pick<GroupsPhaseOptions, 'groupStorage' | 'electionTimeout' | 'quiesce' | 'note' | 'failoverProfileDir'>, hostProfileDir: string | null): Promise<GroupsCluster> {
    const nodeArgs = ['--expose-gc', ...(hostProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${hostProfileDir}`] : [])];
    const failoverProfileDir = o.failoverProfileDir ? path.join(o.failoverProfileDir, `${groups}-groups`) : null;
    const cluster = new GroupsCluster(fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-bench-groups-')), groups, o.note, nodeArgs, failoverProfileDir, o.quiesce);
    try {
      const ports = await freePorts(6);
      const list = (port: (i: number) => number, not: number) => IDS.flatMap((id, i) => (i === not ? [] : [`${id}=127.0.0.1:${port(i)}`])).join(',');
      IDS.forEach((id, i) =>
        cluster.args.set(id, ['--id', id, '--raft', `127.0.0.1:${ports[i]}`, '--http', `127.0.0.1:${ports[i + 3]}`, '--data', path.join(cluster.root, id), '--groups', String(groups),
          '--peers', list((j) => ports[j], i), '--peers-http', list((j) => ports[j + 3], i), '--log-level', 'warn', '--group-storage', o.groupStorage,
          ...(o.electionTimeout ? ['--election-timeout', o.electionTimeout] : []), ...(groups > 1 ? ['--balance'] : []), ...(o.quiesce ? [] : ['--quiesce=false'])]),
      );
      await Promise.all(IDS.map((id) => cluster.fork(id)));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Starts host `id`'s process (again, on its data directory); resolves once it is ready. */
  private async fork(id: string): Promise<void> {
    const note = this.note;
    const child = forkKvServer({ id, entry: 'bench/shardedNode.ts', args: this.args.get(id)!, nodeArgs: this.nodeArgs, env: { RXRAFT_SECRET: this.secret }, onLine: (line, stream) => stream === 'stderr' && note(`  [${id}] ${line}`) });
    this.children.set(id, child);
    await child.ready;
  }

  /**
   * SIGKILLs the host leading the most groups; polls the others (every 20 ms, up to 60 s)
   * until every group it led has a leader among them, the same on both; then restarts it
   * and waits for the balance again.
   */
  async failover(): Promise<GroupsFailoverResult> {
    if (this.quiesce) await this.quiet();
    const leads = await this.leads();
    const [victim, led] = [...leads].sort((a, b) => b[1].length - a[1].length)[0];
    const survivors = IDS.filter((id) => id !== victim);
    const child = this.children.get(victim)!;
    const call = <T>(id: string, command: string, args?: unknown) => this.children.get(id)!.call<T>(command, args, 10_000);
    const profiles = this.profileDir;
    if (profiles) await Promise.all(survivors.map((id) => call(id, 'profile', { start: true })));
    const timeline = process.env.FAILOVER_TIMELINE === '1'; // bench-only: where the round's time goes (bench/failoverTimeline.ts)
    if (timeline) {
      await Promise.all(survivors.map((id) => call(id, 'timeline', { start: true })));
      await new Promise((r) => setTimeout(r, 300)); // the victim's last liveness messages before the kill are seen
    }
    const before = await this.counters(survivors);
    const killedAt = Date.now(); // wall clock, as the hosts' ShardLeader.sinceMs
    child.kill('SIGKILL');
    await child.exited;
    const deadline = nowMs() + 60_000;
    let elected: number[] | null = null;
    let views: ShardLeader[][] = [];
    while (elected === null && nowMs() < deadline) {
      views = await Promise.all(survivors.map((id) => call<ShardLeader[]>(id, 'leaders')));
      const agreed = led.map((g) => {
        const leader = views[0][g].leader;
        return leader !== null && survivors.includes(leader) && views.every((v) => v[g].leader === leader) ? views[survivors.indexOf(leader)][g].sinceMs - killedAt : null;
      });
      if (agreed.every((ms) => ms !== null)) elected = agreed as number[];
      else await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (Date.now() - killedAt) / 1000;
    const after = await this.counters(survivors);
    if (timeline) {
      const views = await Promise.all(survivors.map((id) => call<TimelineResult>(id, 'timeline', { stop: true })));
      this.note(`    timeline: killed at ${killedAt} (wall ms)`);
      for (const line of timelineReport(killedAt, victim, led, survivors, views)) this.note(line);
    }
    if (profiles) {
      fs.mkdirSync(profiles, { recursive: true });
      await Promise.all(survivors.map((id) => call(id, 'profile', { stop: path.join(profiles, `failover${++this.profiled}-${id}.cpuprofile`) })));
    }
    const delta = (id: string, k: keyof NodeCounters) => ((after.get(id)?.[k] ?? NaN) - (before.get(id)?.[k] ?? NaN)) / seconds;
    const trace: FailoverTrace = {
      ...(elected ? failoverTrace(led, views, elected, killedAt) : { electedBy: [], firstCandidacyMs: [], rounds: [] }),
      survivorCpuPercent: survivors.map((id) => (delta(id, 'cpuMicros') / 1e6) * 100),
      survivorMessagesPerSec: survivors.map((id) => delta(id, 'groupMessages')),
    };
    const result = { groups: this.groups, affected: led.length, allMs: elected ? Math.max(...elected) : NaN, medianGroupMs: elected ? median(elected) : NaN, trace };
    const r = (v: number) => String(Math.round(v));
    this.note(`  ${this.groups} group(s): killed ${victim} (led ${led.length}): every one re-elected after ${r(result.allMs)} ms (median group ${r(result.medianGroupMs)} ms)`);
    this.note(
      `    trace: elected by ${ELECTED_BY_MS.join('/')} ms: ${trace.electedBy.join('/')}; first candidacy p10/p50/p90 ${trace.firstCandidacyMs.map(r).join('/')} ms; ` +
        `groups with 1/2/3+ election rounds ${trace.rounds.join('/')}; survivors CPU % ${trace.survivorCpuPercent.map(r).join(' / ')}, group messages/s ${trace.survivorMessagesPerSec.map(r).join(' / ')}`,
    );
    if (process.env.REJOIN_TIMELINE === '1') await this.rejoinTimeline(victim); // bench-only: how the restarted host rejoins (bench/rejoinTimeline.ts)
    else await this.fork(victim);
    await this.balanced();
    return result;
  }

  /** Restarts `victim`, polling every host's view of the others every 20 ms until `REJOIN_MS` after its start; prints the changes. */
  private async rejoinTimeline(victim: string): Promise<void> {
    const startedAt = Date.now();
    const views = new Map<string, RejoinView[]>(IDS.map((id) => [id, []]));
    let ready = false;
    const forked = this.fork(victim).then(() => (ready = true));
    let readyAt = NaN;
    while (Date.now() - startedAt < REJOIN_MS + 10_000) {
      if (ready && Number.isNaN(readyAt)) readyAt = Date.now();
      if (ready && Date.now() - readyAt > REJOIN_MS) break;
      const polled = await Promise.all(
        IDS.map((id) => (id === victim && !ready ? Promise.resolve(null) : this.call<RejoinView>(id, 'rejoin', undefined, 2_000).catch(() => null))),
      );
      polled.forEach((v, i) => v && views.get(IDS[i])!.push(v));
      await new Promise((r) => setTimeout(r, 20));
    }
    await forked;
    this.note(`    rejoin: ${victim} forked at ${startedAt} (wall ms), ready after ${Math.round(readyAt - startedAt)} ms`);
    for (const line of rejoinReport(startedAt, views)) this.note(line);
  }

  /** Calls `command` on host `id` (see bench/shardedNode.ts). */
  call<T>(id: string, command: string, args?: unknown, timeoutMs = 10_000): Promise<T> {
    return this.children.get(id)!.call<T>(command, args, timeoutMs);
  }

  /** Host `id`'s process id. */
  pid(id: string): number {
    return this.children.get(id)!.process.pid!;
  }

  /** SIGKILLs host `id`'s process; resolves once it exited. */
  async kill(id: string): Promise<void> {
    const child = this.children.get(id)!;
    child.kill('SIGKILL');
    await child.exited;
  }

  /** Starts host `id`'s process again on its data directory; resolves once it is ready. */
  restart(id: string): Promise<void> {
    return this.fork(id);
  }

  /** Calls `command` on every host process, in `IDS` order (see bench/shardedNode.ts). */
  callAll<T>(command: string, args?: (id: string) => unknown, timeoutMs = 60_000): Promise<T[]> {
    return Promise.all(IDS.map((id) => this.children.get(id)!.call<T>(command, args?.(id), timeoutMs)));
  }

  /** Which groups each host leads now. */
  async leads(): Promise<Map<string, number[]>> {
    return new Map(await Promise.all(IDS.map(async (id) => [id, await this.children.get(id)!.call<number[]>('leads', undefined, 10_000)] as const)));
  }

  /**
   * Waits (up to `QUIET_WAIT_MS`) until no host received a group message for `QUIET_MS`:
   * every group went quiet again after the last restart and rebalance, so each failover
   * round starts from idle groups, whatever the group count. (Without it a one-group round
   * began right after the restart, its replicas still awake, and measured a follower's
   * running election timer instead of a quiet group's failover: 517-805 ms against
   * 1,580-1,614 ms for the first round.) Notes it when they did not.
   */
  private async quiet(): Promise<void> {
    const deadline = nowMs() + QUIET_WAIT_MS;
    const count = async () => (await Promise.all(IDS.map((id) => this.call<number>(id, 'groupMessages')))).reduce((a, b) => a + b, 0);
    let last = await count();
    let since = nowMs();
    while (nowMs() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await count();
      if (now !== last) [last, since] = [now, nowMs()];
      else if (nowMs() - since >= QUIET_MS) return;
    }
    this.note(`  ${this.groups} group(s): groups still exchanging messages ${QUIET_WAIT_MS / 1000} s after the rebalance; failing over anyway`);
  }

  /** Waits (up to 60 s) until every group has a leader and no host leads more than ceil(groups / 3); notes the spread either way. */
  async balanced(): Promise<void> {
    const fair = Math.ceil(this.groups / IDS.length);
    const deadline = nowMs() + 60_000;
    let spread: number[] = [];
    while (nowMs() < deadline) {
      const leads = await this.leads();
      spread = IDS.map((id) => leads.get(id)!.length);
      if (spread.reduce((a, b) => a + b, 0) === this.groups && Math.max(...spread) <= fair) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    this.note(`  ${this.groups} group(s): leaders per host ${spread.join(' / ')}`);
  }

  /** The counters of these hosts (default every host). */
  private async counters(ids: readonly string[] = IDS, args?: CountersArgs): Promise<Map<string, NodeCounters>> {
    return new Map(await Promise.all(ids.map(async (id) => [id, await this.children.get(id)!.call<NodeCounters>('counters', args)] as const)));
  }

  /** One load level: proposer w on group w mod N, run by the host leading that group. */
  async level(concurrency: number, o: GroupsPhaseOptions): Promise<GroupsLevelResult> {
    const leads = await this.leads();
    const leaderOf = new Map<number, string>();
    for (const [id, groups] of leads) for (const g of groups) leaderOf.set(g, id);
    const assigned = new Map<string, number[]>(IDS.map((id) => [id, []]));
    for (let w = 0; w < concurrency; w++) assigned.get(leaderOf.get(w % this.groups) ?? 'h1')!.push(w % this.groups);
    const before = await this.counters();
    const started = nowMs();
    // Level 0: no proposers, the groups idle for the level's length (heartbeats only).
    if (concurrency === 0) await new Promise((r) => setTimeout(r, o.warmupMs + o.durationMs));
    const loads = await Promise.all(
      IDS.map((id) => {
        const args: GroupLoadArgs = { groups: assigned.get(id)!, warmupMs: o.warmupMs, durationMs: o.durationMs, valueBytes: o.valueBytes };
        return args.groups.length ? this.children.get(id)!.call<LoadResult>('load', args, o.warmupMs + o.durationMs + 60_000) : Promise.resolve(null);
      }),
    );
    const seconds = (nowMs() - started) / 1000;
    const after = await this.counters(IDS, { settleMs: RSS_SETTLE_MS });
    const delta = (id: string, k: keyof NodeCounters) => ((after.get(id)?.[k] ?? NaN) - (before.get(id)?.[k] ?? NaN)) / seconds;
    const hosts = IDS.map((id, i): GroupsHostResult => ({
      id,
      leads: leads.get(id)!.length,
      proposers: assigned.get(id)!.length,
      writesPerSec: loads[i]?.writesPerSec ?? 0,
      p50Ms: loads[i]?.latencyMs.p50 ?? NaN,
      p99Ms: loads[i]?.latencyMs.p99 ?? NaN,
      fsyncsPerSec: delta(id, 'fsyncs'),
      cpuPercent: (delta(id, 'cpuMicros') / 1e6) * 100,
      framesSentPerSec: delta(id, 'framesSent'),
      groupMessagesPerSec: delta(id, 'groupMessages'),
      livenessMessagesPerSec: delta(id, 'livenessMessages'),
      rssMb: (after.get(id)?.rssBytes ?? NaN) / 2 ** 20,
      rssAtGcMb: (after.get(id)?.rssAtGcBytes ?? NaN) / 2 ** 20,
      heapMb: (after.get(id)?.heapBytes ?? NaN) / 2 ** 20,
      heapTotalMb: (after.get(id)?.heapTotalBytes ?? NaN) / 2 ** 20,
      externalMb: (after.get(id)?.externalBytes ?? NaN) / 2 ** 20,
      arrayBuffersMb: (after.get(id)?.arrayBuffersBytes ?? NaN) / 2 ** 20,
    }));
    const errors: Record<string, number> = {};
    for (const l of loads) for (const [k, v] of Object.entries(l?.errors ?? {})) errors[k] = (errors[k] ?? 0) + v;
    const ran = hosts.filter((h) => h.proposers > 0);
    const writesPerSec = hosts.reduce((n, h) => n + h.writesPerSec, 0);
    const cpuMicrosPerWrite = (hosts.reduce((n, h) => n + h.cpuPercent, 0) * 1e4) / writesPerSec;
    const result = { groups: this.groups, concurrency, writesPerSec, p50Ms: median(ran.map((h) => h.p50Ms)), p99Ms: median(ran.map((h) => h.p99Ms)), cpuMicrosPerWrite, errors, hosts };
    const perHost = (f: (h: GroupsHostResult) => number) => hosts.map((h) => Math.round(f(h))).join(' / ');
    o.note(
      `  ${this.groups} group(s), ${concurrency} proposers: ${Math.round(writesPerSec)} writes/s; fsyncs/s per host ${perHost((h) => h.fsyncsPerSec)}; CPU % ${perHost((h) => h.cpuPercent)} ` +
        `(${Math.round(cpuMicrosPerWrite)} µs per write); frames sent/s ${perHost((h) => h.framesSentPerSec)}; group messages received/s ${perHost((h) => h.groupMessagesPerSec)}; ` +
        // The memory figures of the table, here too: a later failover round that fails loses the table.
        `RSS / heap in use / heap committed MB ${hosts.map((h) => [h.rssMb, h.heapMb, h.heapTotalMb].map((v) => v.toFixed(1)).join(' / ')).join(', ')} ` +
        `(RSS right after the GC ${hosts.map((h) => (h.rssAtGcMb ?? NaN).toFixed(1)).join(' / ')})`,
    );
    return result;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.values()].map((c) => c.stop(5000)));
    this.cleanup();
    process.off('exit', this.cleanup);
  }
}
