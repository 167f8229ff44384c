/**
 * Cluster benchmark: three KV server processes (bench/clusterNode.ts = examples/kv-server
 * plus a load generator) over TCP on loopback, with FileStorage (durable writes: O_DSYNC).
 *
 *   npm run bench                                   # one run, 10 s per load level
 *   npm run bench -- --runs 3 --duration 10         # medians of 3 runs
 *   npm run bench -- --only library,floor --levels 1,256 --duration 5
 *   npm run bench -- --profile                      # CPU profiles of the nodes (+ summary)
 *   npm run bench -- --only library --sizes 100,4096,65536 --levels 16,64,256,1024
 *   npm run bench -- --only library --sizes 65536 --levels 256 --readers 4  # + linearizable reads beside the writes
 *   npm run bench -- --only etcd --runs 3           # the KV server and etcd, interleaved
 *   npm run bench -- --only groups --groups 1,64    # many groups per process (bench/clusterGroups.ts; not run by default)
 *
 * Measures, in one run:
 * - floor: one loopback TCP round trip between two processes, and one append + fdatasync
 *   of a small record; for comparison, the same write made durable on a leader and a
 *   follower by a hand-rolled Node program (no Raft);
 * - library: proposers inside the leader's process (`node.propose`), at 1, 16, 64, 256
 *   concurrent proposers (the leader child runs them on command, via IPC);
 * - http: HTTP clients (keep-alive) in this process writing to the leader, same levels;
 * - failover: SIGKILL the leader N times (restarting it each time); the time from the
 *   kill to the first acknowledged write;
 * - etcd (when `etcd` is on PATH, else skipped with a message): the KV server and a
 *   three-member etcd side by side, same client, keys and values (bench/sideBySide.ts).
 * Writes are 100-byte values (`PUT /kv/k<worker>-<i>`; keys `benchKey`: at most 128 MiB of values), or with `--sizes` the library
 * phase runs once per value size, beside the bandwidth of one O_DSYNC writer of blocks of
 * that size alone and of one of three writing at once (sizes of 4 KiB and more: the three
 * nodes share one disk). Leader changes are counted per load level. Each
 * phase gets a fresh cluster.
 * Prints a table, writes JSON under bench/results/.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseFlags } from '../examples/kv/config';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../examples/kv/processes';
import { FloorResult, fsyncFloor, replicationFloor, roundTripFloor, transportFloor } from './clusterFloor';
import type { NodeCounters } from './clusterNode';
import { summarizeProfiles } from './clusterProfile';
import { HttpClientKind, httpPut, putClient } from './clusterHttp';
import { benchKey, closedLoop, keysPerWorker, LatencySummary, LoadResult, median, nowMs, percentile } from './clusterStats';
import { cpuTimes, stealPercent } from './cpuSteal';
import { EtcdCluster, etcdBinary } from './etcdCluster';
import { compareSides, driveSide, SideRow, SideRun, SideTarget } from './sideBySide';
import { kvDialect, etcdDialect } from './clusterHttp';
import { BandwidthResult, dsyncBandwidth, sharedDsyncBandwidth } from './clusterFloor';
import { groupsPhase, groupsReport, GroupsPhaseResult } from './clusterGroups';
import parsePrometheus from 'parse-prometheus-text-format';

type Phase = 'floor' | 'library' | 'http' | 'failover' | 'etcd' | 'groups';
const PHASES: readonly Phase[] = ['floor', 'library', 'http', 'failover', 'etcd'];
/** Phases run only when named in --only. */
const OPTIONAL_PHASES: readonly Phase[] = ['groups'];

interface Options {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly levels: readonly number[];
  readonly failovers: number;
  /** `<min>-<max>` ms given to every KV server, or `server` for the KV server's own default. */
  readonly electionTimeout: string;
  readonly runs: number;
  readonly phases: readonly Phase[];
  readonly valueBytes: number;
  /** Value sizes the library phase runs at, one after the other (default: just `valueBytes`). */
  readonly sizes: readonly number[] | null;
  readonly profile: boolean;
  /** Loops of linearizable reads beside the library phase's proposers (`--readers`); their latency is printed per level. */
  readonly readers: number;
  /** HTTP load generators to use. */
  readonly httpClients: readonly HttpClientKind[];
  /** Extra kv-server flags for the nodes, e.g. `--turn asap`. */
  readonly nodeFlags: readonly string[];
  /** Group counts of the groups phase (default 1,64), and its total proposers per level (default 64,256 unless --levels). */
  readonly groups: readonly number[];
  readonly groupLevels: readonly number[];
  /** Failovers per group count in the groups phase (SIGKILL the host leading the most groups), default 3. */
  readonly groupFailovers: number;
  /** The sharded servers' `--group-storage` (default shared: one write-ahead log per host). */
  readonly groupStorage: 'shared' | 'files';
  /** The sharded servers' `--election-timeout` (`<min>-<max>` ms; default theirs, the KV server's 500-1000). */
  readonly groupElectionTimeout: string | null;
  /** Whether the groups phase's idle groups quiesce (`--quiesce on|off`, default on). */
  readonly groupQuiesce: boolean;
}

const USAGE = `usage: npm run bench -- [--duration <s>] [--warmup <s>] [--levels 1,16,64,256] [--failovers <n>] [--runs <n>]
                    [--only floor,library,http,failover,etcd] [--value-bytes <n>] [--sizes 100,4096,65536]
                    [--election-timeout <min>-<max>|server]
                    [--turn immediate|asap] [--log-writes thread-pool|event-loop|followers]
                    [--http-client raw|agent|both] [--profile] [--readers <n>]
                    [--only groups --groups 1,64 [--group-failovers <n>] [--group-storage shared|files] [--group-election-timeout <min>-<max>] [--quiesce on|off]]`;

function parseOptions(argv: readonly string[]): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  const f = parseFlags(argv);
  const known = ['duration', 'levels', 'failovers', 'runs', 'only', 'value-bytes', 'sizes', 'profile', 'warmup', 'turn', 'log-writes', 'http-client', 'groups', 'group-failovers', 'group-storage', 'group-election-timeout', 'quiesce', 'election-timeout', 'readers'];
  for (const k of f.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.join(', ')})`);
  const num = (name: string, fallback: number) => {
    const v = Number(f.get(name) ?? fallback);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: expected a number`);
    return v;
  };
  const phases = (f.get('only') ?? PHASES.join(',')).split(',') as Phase[];
  for (const p of phases) if (!PHASES.includes(p) && !OPTIONAL_PHASES.includes(p)) throw new Error(`--only: unknown phase ${p}`);
  const groups = (f.get('groups') ?? '1,64').split(',').map(Number);
  if (groups.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error('--groups: expected group counts, e.g. 1,64');
  const sizes = f.has('sizes') ? f.get('sizes')!.split(',').map(Number) : null;
  if (sizes && sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes: expected value sizes in bytes, e.g. 100,4096,65536');
  if (!['raw', 'agent', 'both'].includes(f.get('http-client') ?? 'both')) throw new Error('--http-client: raw, agent or both');
  const groupStorage = f.get('group-storage') ?? 'shared';
  // 150-300 ms as before the KV server's default became 500-1000: failovers stay comparable with
  // earlier runs. `server` leaves the KV server's own default.
  const electionTimeout = f.get('election-timeout') ?? '150-300';
  if (electionTimeout !== 'server' && !/^\d+-\d+$/.test(electionTimeout)) throw new Error('--election-timeout: <min>-<max> in ms, or server');
  if (groupStorage !== 'shared' && groupStorage !== 'files') throw new Error('--group-storage: shared or files');
  return {
    durationMs: num('duration', 10) * 1000,
    warmupMs: num('warmup', 1) * 1000,
    levels: (f.get('levels') ?? '1,16,64,256').split(',').map(Number),
    failovers: num('failovers', 20),
    runs: Math.max(1, num('runs', 1)),
    phases,
    valueBytes: num('value-bytes', 100),
    readers: num('readers', 0),
    sizes,
    profile: f.get('profile') === 'true',
    httpClients: (f.get('http-client') ?? 'both') === 'both' ? ['raw', 'agent'] : [f.get('http-client') as HttpClientKind],
    electionTimeout,
    nodeFlags: [
      ...(electionTimeout === 'server' ? [] : ['--election-timeout', electionTimeout]),
      ...(f.has('turn') ? ['--turn', f.get('turn')!] : []),
      ...(f.has('log-writes') ? ['--log-writes', f.get('log-writes')!] : []),
    ],
    groups,
    groupLevels: (f.get('levels') ?? '64,256').split(',').map(Number),
    groupFailovers: num('group-failovers', 3),
    groupStorage,
    groupElectionTimeout: f.get('group-election-timeout') ?? null,
    groupQuiesce: (f.get('quiesce') ?? 'on') !== 'off',
  };
}

// ------------------------------------------------------------------ progress (stderr, TTY only)

const tty = process.stderr.isTTY === true;
let progressLine = '';
function progress(label: string, fraction: number, detail = ''): void {
  if (!tty) return;
  const width = 24;
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  progressLine = `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label} ${detail}`;
  process.stderr.write(progressLine.padEnd(100).slice(0, 120));
}
function note(line: string): void {
  if (tty && progressLine) process.stderr.write('\r' + ' '.repeat(120) + '\r');
  progressLine = '';
  process.stderr.write(line + '\n');
}

// ------------------------------------------------------------------ the cluster under test

/** Clusters running now, stopped on Ctrl-C so no data directory is left behind. */
const running = new Set<BenchCluster>();

class BenchCluster {
  readonly children = new Map<string, KvChild>();

  /** Each node's running totals (CPU, fsyncs, frames). */
  async counters(): Promise<Map<string, NodeCounters>> {
    const entries = await Promise.all(
      [...this.children].map(async ([id, c]) => {
        const n = await c.call<NodeCounters>('counters').catch(() => ({ cpuMicros: NaN, fsyncs: NaN, framesSent: NaN }));
        return [id, n] as const;
      }),
    );
    return new Map(entries);
  }

  /**
   * Rates over a load level: the leader's CPU %, CPU µs per write on the leader and on the
   * followers (mean), the leader's fsyncs/s and frames sent/s.
   */
  static rates(before: Map<string, NodeCounters>, after: Map<string, NodeCounters>, leader: string, seconds: number, writes: number): Record<string, number> {
    const delta = (id: string, k: keyof NodeCounters) => (after.get(id)?.[k] ?? NaN) - (before.get(id)?.[k] ?? NaN);
    const followers = [...before.keys()].filter((id) => id !== leader);
    const followerCpu = followers.reduce((sum, id) => sum + delta(id, 'cpuMicros'), 0) / Math.max(1, followers.length);
    return {
      leaderCpuPercent: (delta(leader, 'cpuMicros') / 1e6 / seconds) * 100,
      leaderCpuMicrosPerWrite: delta(leader, 'cpuMicros') / writes,
      followerCpuMicrosPerWrite: followerCpu / writes,
      fsyncsPerSec: delta(leader, 'fsyncs') / seconds,
      framesSentPerSec: delta(leader, 'framesSent') / seconds,
      leaderCswPerWrite: delta(leader, 'vcsw') / writes,
      followerCswPerWrite: followers.reduce((sum, id) => sum + delta(id, 'vcsw'), 0) / Math.max(1, followers.length) / writes,
      leaderSysMicrosPerWrite: delta(leader, 'sysMicros') / writes,
      followerSysMicrosPerWrite: followers.reduce((sum, id) => sum + delta(id, 'sysMicros'), 0) / Math.max(1, followers.length) / writes,
      leaderMinorFaultsPerWrite: delta(leader, 'minorFaults') / writes,
      followerMinorFaultsPerWrite: followers.reduce((sum, id) => sum + delta(id, 'minorFaults'), 0) / Math.max(1, followers.length) / writes,
      leaderFramesPerWrite: delta(leader, 'framesSent') / writes,
      followerFramesPerWrite: followers.reduce((sum, id) => sum + delta(id, 'framesSent'), 0) / Math.max(1, followers.length) / writes,
      // Garbage-collection pauses as a share of the time the event loop was busy (issue 17: ≤ 5%); followers: the higher.
      leaderGcPercent: (100 * delta(leader, 'gcMicros')) / delta(leader, 'loopBusyMicros'),
      leaderMajorGcPercent: (100 * delta(leader, 'majorGcMicros')) / delta(leader, 'loopBusyMicros'),
      leaderMajorGcsPerSec: delta(leader, 'majorGcs') / seconds,
      followerMajorGcsPerSec: followers.reduce((sum, id) => sum + delta(id, 'majorGcs'), 0) / Math.max(1, followers.length) / seconds,
      followerGcPercent: Math.max(...followers.map((id) => (100 * delta(id, 'gcMicros')) / delta(id, 'loopBusyMicros'))),
      // Counted per term: NaN when the leader lost its role during the level (its count restarted).
      storageReadsPerSec: delta(leader, 'storageReads') >= 0 ? delta(leader, 'storageReads') / seconds : NaN,
    };
  }

  private constructor(
    readonly root: string,
    readonly specs: LocalNodeSpec[],
    private readonly secret: string,
    private readonly nodeArgs: string[],
    private readonly nodeFlags: readonly string[],
  ) {}

  static async start(o: Options, profileDir: string | null): Promise<BenchCluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-bench-'));
    const ports = await freePorts(6);
    const specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const cluster = new BenchCluster(root, specs, crypto.randomBytes(16).toString('hex'), nodeArgs, o.nodeFlags);
    running.add(cluster);
    try {
      await Promise.all(specs.map((s) => cluster.startNode(s.id)));
      await cluster.leader();
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  startNode(id: string): Promise<unknown> {
    const spec = this.specs.find((s) => s.id === id)!;
    const child = forkKvServer({
      id,
      entry: 'bench/clusterNode.ts',
      args: localNodeArgs(spec, this.specs, this.root, this.nodeFlags),
      env: { RXRAFT_SECRET: this.secret },
      nodeArgs: this.nodeArgs,
      onLine: (line, stream) => stream === 'stderr' && note(`  [${id}] ${line}`),
    });
    this.children.set(id, child);
    return child.ready;
  }

  httpAddress(id: string): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.specs.find((s) => s.id === id)!.httpPort };
  }

  async status(id: string): Promise<{ role: string; leader: string | null; appliedIndex: number; commitIndex: number } | null> {
    const body = await this.get(id, '/status');
    try {
      return body === null ? null : JSON.parse(body);
    } catch {
      return null;
    }
  }

  /** The body of `GET path` on node `id`, null on any failure (1 s timeout). */
  private get(id: string, pathname: string): Promise<string | null> {
    const { host, port } = this.httpAddress(id);
    return new Promise((resolve) => {
      const req = http.get({ host, port, path: pathname, timeout: 1000 }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? body : null));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(null));
    });
  }

  /** Leader changes seen so far: the most any node counted (`rxraft_leader_changes_total`; NaN if none answers). */
  async leaderChanges(): Promise<number> {
    const counts = await Promise.all(
      [...this.children.keys()].map(async (id) => {
        const text = await this.get(id, '/metrics');
        const family = text === null ? undefined : parsePrometheus(text).find((f) => f.name === 'rxraft_leader_changes_total');
        return Number(family?.metrics[0]?.value ?? NaN);
      }),
    );
    const known = counts.filter(Number.isFinite);
    return known.length ? Math.max(...known) : NaN;
  }

  /**
   * Waits (up to 10 s) until every node has applied what the leader has committed now, so
   * that a load level does not start with a follower still catching up from the one before.
   */
  async caughtUp(): Promise<void> {
    const target = (await this.status(await this.leader()))?.commitIndex ?? 0;
    const deadline = nowMs() + 10_000;
    while (nowMs() < deadline) {
      const views = await Promise.all([...this.children.keys()].map((id) => this.status(id)));
      if (views.every((v) => v !== null && v.appliedIndex >= target)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The node processes' ids. */
  pids(): number[] {
    return [...this.children.values()].flatMap((c) => (c.process.pid === undefined ? [] : [c.process.pid]));
  }

  /** The leader that the live nodes agree on (waits up to 10 s). */
  async leader(among = [...this.children.keys()]): Promise<string> {
    const deadline = nowMs() + 10_000;
    while (nowMs() < deadline) {
      const views = await Promise.all(among.map((id) => this.status(id)));
      const leaders = views.filter((v) => v?.role === 'leader');
      if (leaders.length === 1 && views.every((v) => v?.leader === leaders[0]!.leader)) return leaders[0]!.leader!;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no leader within 10 s');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.values()].map((c) => c.stop(5000)));
    fs.rmSync(this.root, { recursive: true, force: true });
    running.delete(this);
  }
}

// ------------------------------------------------------------------ phases

interface Floors {
  roundTrip: FloorResult;
  /** AppendEntries (one entry) → AppendEntriesResponse through rxraft's TCP transport, one in flight. */
  transport: FloorResult;
  fsync: FloorResult;
  /** One write made durable on a leader and one follower, hand-rolled (no Raft): `replicationFloor`. */
  replication: FloorResult;
  /** The same with two followers, a majority waited for: a three-node cluster's write on one disk. */
  replication3: FloorResult;
  /** A bare node:http server in another process, 64 clients, per client kind. */
  http: Partial<Record<HttpClientKind, LoadResult>>;
  /**
   * The same server with one client, per client kind: the least one HTTP request costs
   * here (client, loopback, node:http), which every HTTP KV write at one client pays on
   * top of its replication.
   */
  http1: Partial<Record<HttpClientKind, LoadResult>>;
}

async function floorPhase(o: Options): Promise<Floors> {
  const cluster = await BenchCluster.start(o, null);
  try {
    const port = await cluster.children.get('n1')!.call<number>('echo');
    progress('floor: loopback round trip', 0);
    const roundTrip = await roundTripFloor(port, 3000);
    progress('floor: rxraft TCP transport round trip', 0.25);
    const transport = await transportFloor(await cluster.children.get('n3')!.call<number>('transportEcho'), 11 + o.valueBytes, 3000);
    progress('floor: append + fdatasync', 0.5);
    // A WAL record of one ~111-byte put command: 8-byte frame header + 25-byte entries block header + command.
    const recordBytes = 8 + 25 + 11 + o.valueBytes;
    const fsync = await fsyncFloor(cluster.root, recordBytes, 3000);
    progress('floor: hand-rolled replication', 0.6);
    const replicaPort = await cluster.children.get('n2')!.call<number>('replicaEcho', { dir: cluster.root, recordBytes });
    const replication = await replicationFloor([replicaPort], cluster.root, recordBytes, 3000);
    progress('floor: hand-rolled replication, two followers', 0.7);
    const secondPort = await cluster.children.get('n3')!.call<number>('replicaEcho', { dir: cluster.root, recordBytes, name: 'replica2-floor.bin' });
    const replication3 = await replicationFloor([replicaPort, secondPort], cluster.root, recordBytes, 3000);
    note(
      `  floor: round trip p50 ${roundTrip.latencyMs.p50.toFixed(3)} ms; rxraft transport round trip p50 ${transport.latencyMs.p50.toFixed(3)} ms; ` +
        `append+fdatasync p50 ${fsync.latencyMs.p50.toFixed(3)} ms; hand-rolled replication p50 ${replication.latencyMs.p50.toFixed(3)} ms, ` +
        `with two followers ${replication3.latencyMs.p50.toFixed(3)} ms`,
    );
    const httpPort = await cluster.children.get('n2')!.call<number>('httpEcho');
    const value = Buffer.alloc(o.valueBytes, 0x61);
    /** Each client kind's closed loop of `clients` PUTs against the bare node:http server. */
    const httpFloorOf = async (clients: number, share: number): Promise<Floors['http']> => {
      const out: Floors['http'] = {};
      const what = `bare node:http server, ${clients} ${clients === 1 ? '%s client' : '%s clients'}`;
      for (const kind of o.httpClients) {
        progress(`floor: ${what.replace('%s', kind)}`, share);
        const client = putClient(kind, '127.0.0.1', httpPort, clients);
        const result = await closedLoop(clients, 500, 3000, (w, i) => client.put(w, `k${w}-${i & 1023}`, value));
        client.close();
        out[kind] = result;
        note(`  floor: ${what.replace('%s', kind)}: ${fmtRate(result.writesPerSec)} requests/s, p50 ${fmtMs(result.latencyMs.p50)} ms`);
      }
      return out;
    };
    const httpFloor = await httpFloorOf(64, 0.75);
    const httpFloor1 = await httpFloorOf(1, 0.9);
    return { roundTrip, transport, fsync, replication, replication3, http: httpFloor, http1: httpFloor1 };
  } finally {
    await cluster.stop();
  }
}

async function libraryPhase(o: Options, profileDir: string | null, valueBytes = o.valueBytes): Promise<LoadResult[]> {
  let cluster = await BenchCluster.start(o, profileDir);
  const results: LoadResult[] = [];
  try {
    await fillStore(cluster, o.levels, valueBytes);
    for (const concurrency of o.levels) {
      await cluster.caughtUp();
      const leader = await cluster.leader();
      const label = `library API, ${concurrency} proposer(s) in ${leader}, ${valueBytes}-byte values`;
      const started = nowMs();
      const ticker = setInterval(() => progress(label, (nowMs() - started) / (o.warmupMs + o.durationMs)), 250);
      try {
        const before = await cluster.counters();
        const spanFrom = nowMs();
        const changesBefore = await cluster.leaderChanges();
        let loaded: LoadResult;
        try {
          loaded = await cluster.children.get(leader)!.call<LoadResult>('load', { concurrency, warmupMs: o.warmupMs, durationMs: o.durationMs, valueBytes, readers: o.readers }, o.durationMs + o.warmupMs + 60_000);
        } catch (e) {
          // E.g. proposals still unanswered a minute after the level's end: the level measured
          // nothing (0 writes/s, the failure as its error), and the next level gets a fresh cluster.
          const leaderChanges = (await cluster.leaderChanges()) - changesBefore;
          note(`  ${label}: failed: ${(e as Error).message}; leader changes ${leaderChanges}; restarting the cluster`);
          const none = { p50: NaN, p99: NaN, p999: NaN, max: NaN };
          results.push({ concurrency, seconds: o.durationMs / 1000, writes: 0, writesPerSec: 0, latencyMs: none, errors: { LoadFailed: 1 }, counters: { leaderChanges } });
          await cluster.stop();
          cluster = await BenchCluster.start(o, profileDir);
          await fillStore(cluster, o.levels, valueBytes);
          continue;
        }
        // Counters cover warm-up, measurement and the drain of the writes still in flight at its
        // end: per write, they are divided by every write acknowledged in that span.
        const leaderChanges = (await cluster.leaderChanges()) - changesBefore;
        const after = await cluster.counters();
        const span = (nowMs() - spanFrom) / 1000;
        const r = { ...loaded, counters: { ...BenchCluster.rates(before, after, leader, span, loaded.acknowledged ?? loaded.writesPerSec * span), leaderChanges, ...loaded.counters } };
        results.push(r);
        note(`  ${label}: ${fmtRate(r.writesPerSec)} writes/s (${fmtRate((r.writesPerSec * valueBytes) / 1e6)} MB/s), p50 ${fmtMs(r.latencyMs.p50)} p99 ${fmtMs(r.latencyMs.p99)} p99.9 ${fmtMs(r.latencyMs.p999)} ms, leader changes ${leaderChanges}, storage reads/s ${(r.counters as Record<string, number>).storageReadsPerSec.toFixed(1)}${fmtErrors(r.errors)}`);
        const k = r.counters as Record<string, number>;
        if (k.readsPerSec !== undefined) note(`    ${o.readers} reader(s) beside them: ${fmtRate(k.readsPerSec)} linearizable reads/s, p50 ${fmtMs(k.readP50Ms)} p99 ${fmtMs(k.readP99Ms)} max ${fmtMs(k.readMaxMs)} ms`);
        note(`    per write: CPU leader ${k.leaderCpuMicrosPerWrite.toFixed(0)} / follower ${k.followerCpuMicrosPerWrite.toFixed(0)} µs, kernel ${k.leaderSysMicrosPerWrite.toFixed(0)} / ${k.followerSysMicrosPerWrite.toFixed(0)} µs, minor page faults ${k.leaderMinorFaultsPerWrite.toFixed(1)} / ${k.followerMinorFaultsPerWrite.toFixed(1)}; GC ${k.leaderGcPercent.toFixed(0)}% / ${k.followerGcPercent.toFixed(0)}% of busy (leader's mark-compacts ${k.leaderMajorGcPercent.toFixed(0)}%; ${k.leaderMajorGcsPerSec.toFixed(1)} / ${k.followerMajorGcsPerSec.toFixed(1)} per s)`);
      } finally {
        clearInterval(ticker);
      }
    }
  } finally {
    await cluster.stop();
  }
  return results;
}

/**
 * Where the store's bound binds at some level (`keysPerWorker` below 1,024: values of 4 KiB
 * and more), writes each of its keys once before the first level, so no level pays for
 * filling it; with smaller values the keys grow with the level as they always did.
 */
async function fillStore(cluster: BenchCluster, levels: readonly number[], valueBytes: number): Promise<void> {
  const top = Math.max(...levels);
  if (keysPerWorker(top, valueBytes) >= 1024) return;
  const keys = Math.max(...levels.map((c) => c * keysPerWorker(c, valueBytes)));
  const leader = await cluster.leader();
  progress(`filling the store: ${keys} keys of ${valueBytes} B`, 0);
  const written = await cluster.children.get(leader)!.call<number>('fill', { keys, valueBytes }, 120_000);
  note(`  store filled: ${written} of ${keys} keys of ${valueBytes} B`);
}

async function httpPhase(o: Options, kind: HttpClientKind, profileDir: string | null): Promise<LoadResult[]> {
  const cluster = await BenchCluster.start(o, profileDir);
  const results: LoadResult[] = [];
  const value = Buffer.alloc(o.valueBytes, 0x61);
  try {
    for (const concurrency of o.levels) {
      const leader = await cluster.leader();
      const { host, port } = cluster.httpAddress(leader);
      const client = putClient(kind, host, port, concurrency);
      const label = `HTTP API (${kind} client), ${concurrency} client(s) → ${leader}`;
      const total = o.warmupMs + o.durationMs;
      const started = nowMs();
      const before = await cluster.counters();
      const r = await closedLoop(
        concurrency,
        o.warmupMs,
        o.durationMs,
        (w, i) => client.put(w, benchKey(w, i, concurrency, o.valueBytes), value),
        (done, elapsed) => progress(label, (nowMs() - started) / total, elapsed > 0 ? `${fmtRate((done / elapsed) * 1000)} writes/s` : ''),
      );
      const after = await cluster.counters();
      const span = (nowMs() - started) / 1000;
      const counters = BenchCluster.rates(before, after, leader, span, r.acknowledged ?? r.writesPerSec * span);
      client.close();
      const result = { ...r, counters };
      results.push(result);
      note(`  ${label}: ${fmtRate(r.writesPerSec)} writes/s, p50 ${fmtMs(r.latencyMs.p50)} p99 ${fmtMs(r.latencyMs.p99)} p99.9 ${fmtMs(r.latencyMs.p999)} ms${fmtErrors(r.errors)}`);
    }
  } finally {
    await cluster.stop();
  }
  return results;
}

/** The library phase at one value size, beside one O_DSYNC writer of blocks of that size. */
interface SizeResult {
  readonly valueBytes: number;
  readonly loads: LoadResult[];
  /** Measured for sizes of 4 KiB and more, on the disk the cluster writes to, before its load. */
  readonly dsync: BandwidthResult | null;
  /** The same, for one of three writers at once (the cluster's three nodes share the disk). */
  readonly sharedDsync?: BandwidthResult | null;
}

/** Sizes from this one up get the O_DSYNC bandwidth reference. */
const LARGE_ENTRY_BYTES = 4096;

async function sizesPhase(o: Options, sizes: readonly number[], profileDir: (size: number) => string | null): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  for (const valueBytes of sizes) {
    let dsync: BandwidthResult | null = null;
    let sharedDsync: BandwidthResult | null = null;
    if (valueBytes >= LARGE_ENTRY_BYTES) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-dsync-'));
      try {
        progress(`one O_DSYNC writer, ${valueBytes}-byte blocks`, 0);
        dsync = dsyncBandwidth(dir, valueBytes, 3000);
        progress(`three O_DSYNC writers at once, ${valueBytes}-byte blocks`, 0);
        sharedDsync = await sharedDsyncBandwidth(dir, valueBytes, 3000);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      note(`  one O_DSYNC writer, ${valueBytes}-byte blocks: ${dsync.mbPerSec.toFixed(1)} MB/s (${fmtRate(dsync.writes / dsync.seconds)} writes/s); each of three at once: ${sharedDsync.mbPerSec.toFixed(1)} MB/s`);
    }
    results.push({ valueBytes, loads: await libraryPhase(o, profileDir(valueBytes), valueBytes), dsync, sharedDsync });
  }
  return results;
}

type EtcdResult = { readonly ours: SideRun; readonly theirs: SideRun } | { readonly skipped: string };

/** The client levels and read level the side-by-side run uses. */
const SIDE_READ_CLIENTS = 64;

/** The KV server, then etcd, each on a fresh cluster, same client, keys and values (bench/sideBySide.ts). */
async function etcdPhase(o: Options): Promise<EtcdResult> {
  if (!etcdBinary()) {
    const skipped = 'etcd is not on PATH: side-by-side run skipped (Debian/Ubuntu: apt-get install etcd-server)';
    note(`  ${skipped}`);
    return { skipped };
  }
  const side = { levels: o.levels, warmupMs: o.warmupMs, durationMs: o.durationMs, valueBytes: o.valueBytes, readClients: SIDE_READ_CLIENTS, client: o.httpClients[0] };
  const onLevel = (line: string) => note(`  ${line}`);
  const cluster = await BenchCluster.start(o, null);
  let ours: SideRun;
  try {
    progress('side by side: rxraft KV server', 0);
    const target: SideTarget = {
      name: 'rxraft',
      dialect: kvDialect,
      leaderAddress: async () => cluster.httpAddress(await cluster.leader()),
      pids: () => cluster.pids(),
      leaderChanges: () => cluster.leaderChanges(),
    };
    ours = await driveSide(target, side, onLevel);
  } finally {
    await cluster.stop();
  }
  progress('side by side: etcd', 0.5);
  const etcd = await EtcdCluster.start({ onLine: (line) => note(`  [etcd] ${line}`) });
  try {
    const theirs = await driveSide(
      { name: 'etcd', dialect: etcdDialect(), leaderAddress: () => etcd.leaderAddress(), pids: () => etcd.pids(), leaderChanges: () => etcd.leaderChanges() },
      side,
      onLevel,
    );
    return { ours, theirs };
  } finally {
    await etcd.stop();
  }
}

interface FailoverResult {
  readonly samplesMs: number[];
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Sends a write every 5 ms to the survivors (alternating) until one is acknowledged; resolves with that time. */
function firstWrite(cluster: BenchCluster, survivors: string[], agent: http.Agent, round: number): Promise<number> {
  const value = Buffer.alloc(100, 0x66);
  return new Promise((resolve) => {
    let done = false;
    let i = 0;
    const fire = () => {
      if (done) return;
      const { host, port } = cluster.httpAddress(survivors[i % survivors.length]);
      httpPut(agent, host, port, `failover-${round}-${i++}`, value, 3000).then(
        () => {
          if (done) return;
          done = true;
          clearInterval(timer);
          resolve(nowMs());
        },
        () => undefined,
      );
    };
    const timer = setInterval(fire, 5);
    fire();
  });
}

async function failoverPhase(o: Options): Promise<FailoverResult> {
  const cluster = await BenchCluster.start(o, null);
  const samples: number[] = [];
  const agent = new http.Agent({ keepAlive: true });
  try {
    for (let round = 1; round <= o.failovers; round++) {
      progress(`failover ${round}/${o.failovers}`, (round - 1) / o.failovers, samples.length ? `last ${samples[samples.length - 1].toFixed(0)} ms` : '');
      const ids = [...cluster.children.keys()];
      const leader = await cluster.leader(ids);
      const survivors = ids.filter((id) => id !== leader);
      const killedAt = nowMs();
      cluster.children.get(leader)!.kill('SIGKILL');
      const ackAt = await firstWrite(cluster, survivors, agent, round);
      samples.push(ackAt - killedAt);
      await cluster.children.get(leader)!.exited;
      await cluster.startNode(leader);
      // Let the restarted node catch up and the cluster settle before the next kill.
      const target = (await cluster.status(await cluster.leader()))?.commitIndex ?? 0;
      for (let i = 0; i < 200; i++) {
        const s = await cluster.status(leader);
        if (s && s.leader && s.appliedIndex >= target) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    agent.destroy();
    await cluster.stop();
  }
  const sorted = samples.slice().sort((a, b) => a - b);
  const result = { samplesMs: samples, medianMs: median(samples), p99Ms: percentile(sorted, 0.99), maxMs: sorted[sorted.length - 1] };
  note(`  failover ×${samples.length}: median ${result.medianMs.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms, max ${result.maxMs.toFixed(0)} ms`);
  return result;
}

// ------------------------------------------------------------------ report

const fmtRate = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const fmtInt = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? Math.round(v).toString() : '-');
const fmtMs = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '-');
const fmtErrors = (e: Record<string, number>) => {
  const entries = Object.entries(e);
  return entries.length ? `; errors ${entries.map(([k, v]) => `${k}×${v}`).join(', ')}` : '';
};

interface RunResult {
  floor?: Floors;
  library?: LoadResult[];
  sizes?: SizeResult[];
  http?: Partial<Record<HttpClientKind, LoadResult[]>>;
  failover?: FailoverResult;
  etcd?: EtcdResult;
  groups?: GroupsPhaseResult;
}

function medianLatency(list: LatencySummary[]): LatencySummary {
  return { p50: median(list.map((l) => l.p50)), p99: median(list.map((l) => l.p99)), p999: median(list.map((l) => l.p999)), max: median(list.map((l) => l.max)) };
}

function medianLoads(runs: LoadResult[][]): LoadResult[] {
  if (runs.length === 0) return [];
  return runs[0].map((first, i) => {
    const level = runs.map((r) => r[i]).filter(Boolean);
    const errors: Record<string, number> = {};
    for (const l of level) for (const [k, v] of Object.entries(l.errors)) errors[k] = (errors[k] ?? 0) + v;
    const counterNames = Object.keys(first.counters ?? {});
    return {
      concurrency: first.concurrency,
      seconds: first.seconds,
      writes: median(level.map((l) => l.writes)),
      writesPerSec: median(level.map((l) => l.writesPerSec)),
      latencyMs: medianLatency(level.map((l) => l.latencyMs)),
      errors,
      // Leader changes add up over runs (any is one too many); the other counters are medians.
      counters: Object.fromEntries(
        counterNames.map((n) => [n, n === 'leaderChanges' ? level.reduce((sum, l) => sum + (l.counters?.[n] ?? NaN), 0) : median(level.map((l) => l.counters?.[n] ?? NaN))]),
      ),
    };
  });
}

function report(o: Options, runs: RunResult[], steal: number | null, loadAtStart: number): Record<string, unknown> {
  const floors = runs.flatMap((r) => (r.floor ? [r.floor] : []));
  const rtt = median(floors.map((f) => f.roundTrip.latencyMs.p50));
  const fsync = median(floors.map((f) => f.fsync.latencyMs.p50));
  const replication = median(floors.map((f) => f.replication.latencyMs.p50));
  const replication3 = median(floors.map((f) => f.replication3.latencyMs.p50));
  const library = medianLoads(runs.flatMap((r) => (r.library ? [r.library] : [])));
  const httpLoads = Object.fromEntries(o.httpClients.map((kind) => [kind, medianLoads(runs.flatMap((r) => (r.http?.[kind] ? [r.http[kind]!] : [])))])) as Record<HttpClientKind, LoadResult[]>;
  const httpFloor = Object.fromEntries(o.httpClients.map((kind) => [kind, median(floors.map((f) => f.http[kind]?.writesPerSec ?? NaN))]));
  // Runs from before the one-client floor existed have no `http1`.
  const httpFloor1 = Object.fromEntries(
    o.httpClients.map((kind) => [kind, { requestsPerSec: median(floors.map((f) => f.http1?.[kind]?.writesPerSec ?? NaN)), p50Ms: median(floors.map((f) => f.http1?.[kind]?.latencyMs.p50 ?? NaN)) }]),
  ) as Record<HttpClientKind, { requestsPerSec: number; p50Ms: number }>;
  const failovers = runs.flatMap((r) => (r.failover ? [r.failover] : []));
  const failover = failovers.length
    ? { medianMs: median(failovers.map((f) => f.medianMs)), p99Ms: median(failovers.map((f) => f.p99Ms)), maxMs: Math.max(...failovers.map((f) => f.maxMs)) }
    : null;

  const out: string[] = [];
  out.push('');
  out.push(`rxraft cluster benchmark — 3 node processes, TCP on loopback, FileStorage (O_DSYNC writes), ${o.valueBytes}-byte values`);
  out.push(`${o.durationMs / 1000} s per level after ${o.warmupMs / 1000} s warm-up; ${runs.length === 1 ? 'one run' : `medians of ${runs.length} runs`}; node ${process.version}, ${os.cpus().length} CPUs, load average at start ${loadAtStart.toFixed(1)}, at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (1, 5, 15 min)`);
  if (steal !== null) out.push(`CPU steal during the run: ${steal.toFixed(0)}% of this machine's CPU time went to other guests of the host${steal >= 10 ? ' — throughput and latency here are well below what this code does on a quiet host' : ''}`);
  if (floors.length) {
    out.push('');
    out.push('| floor                            | p50 ms | p99 ms |');
    out.push('|----------------------------------|-------:|-------:|');
    out.push(`| loopback round trip (2 processes) | ${fmtMs(rtt).padStart(6)} | ${fmtMs(median(floors.map((f) => f.roundTrip.latencyMs.p99))).padStart(6)} |`);
    out.push(`| append + fdatasync (${8 + 25 + 11 + o.valueBytes} B record)  | ${fmtMs(fsync).padStart(6)} | ${fmtMs(median(floors.map((f) => f.fsync.latencyMs.p99))).padStart(6)} |`);
    out.push(`| round trip + fdatasync            | ${fmtMs(rtt + fsync).padStart(6)} |        |`);
    out.push(`| for comparison: AppendEntries round trip through rxraft's TCP transport (no Raft, no disk) | ${fmtMs(median(floors.map((f) => f.transport.latencyMs.p50)))} | ${fmtMs(median(floors.map((f) => f.transport.latencyMs.p99)))} |`);
    out.push(`| for comparison: one write durable on a leader and a follower, hand-rolled in Node (O_DSYNC writes, raw socket, no Raft) | ${fmtMs(median(floors.map((f) => f.replication.latencyMs.p50)))} | ${fmtMs(median(floors.map((f) => f.replication.latencyMs.p99)))} |`);
    out.push(`| for comparison: the same with two followers, waiting for a majority (three durable writes at once on one disk, as in a 3-node cluster here) | ${fmtMs(replication3)} | ${fmtMs(median(floors.map((f) => f.replication3.latencyMs.p99)))} |`);
    for (const kind of o.httpClients) {
      out.push(`bare node:http server in another process, 64 ${kind} clients: ${fmtRate(httpFloor[kind])} requests/s (the most any HTTP API can do here with this client)`);
      out.push(`bare node:http server in another process, 1 ${kind} client: ${fmtRate(httpFloor1[kind].requestsPerSec)} requests/s, p50 ${fmtMs(httpFloor1[kind].p50Ms)} ms (what one request costs before any replication)`);
    }
  }
  const loadRows = [...library.map((l) => ['library', l] as const), ...o.httpClients.flatMap((kind) => httpLoads[kind].map((l) => [`HTTP ${kind}`, l] as const))];
  if (loadRows.length) {
    out.push('');
    out.push('| API        | concurrency | writes/s | p50 ms | p99 ms | p99.9 ms | leader CPU % | CPU µs/write leader | follower | leader fsyncs/s | frames/s | errors |');
    out.push('|------------|------------:|---------:|-------:|-------:|---------:|-------------:|--------------------:|---------:|----------------:|---------:|--------|');
    for (const [api, l] of loadRows) {
      const c = l.counters ?? {};
      out.push(
        `| ${api.padEnd(10)} | ${String(l.concurrency).padStart(11)} | ${fmtRate(l.writesPerSec).padStart(8)} | ${fmtMs(l.latencyMs.p50).padStart(6)} | ${fmtMs(l.latencyMs.p99).padStart(6)} | ${fmtMs(l.latencyMs.p999).padStart(8)} | ${(c.leaderCpuPercent !== undefined ? c.leaderCpuPercent.toFixed(0) : '-').padStart(12)} | ${fmtInt(c.leaderCpuMicrosPerWrite).padStart(19)} | ${fmtInt(c.followerCpuMicrosPerWrite).padStart(8)} | ${fmtInt(c.fsyncsPerSec).padStart(15)} | ${fmtInt(c.framesSentPerSec).padStart(8)} | ${fmtErrors(l.errors).replace('; errors ', '') || '-'} |`,
      );
    }
  }
  const sizes = sizesSummary(o, runs);
  if (sizes.length) {
    out.push('');
    out.push(`library API by value size (leader changes: total over ${runs.length === 1 ? 'the run' : `${runs.length} runs`}; bandwidth = writes/s × value size; O_DSYNC: one writer of blocks of that size alone, and one of three writing at once, same disk, same run)`);
    out.push('');
    out.push('| value B | proposers | writes/s | MB/s | % of O_DSYNC writer: alone / one of three | p50 ms | p99 ms | leader CPU % | leader changes | errors |');
    out.push('|--------:|----------:|---------:|-----:|------------------------------------------:|-------:|-------:|-------------:|---------------:|--------|');
    for (const s of sizes) {
      for (const l of s.loads) {
        const mb = (l.writesPerSec * s.valueBytes) / 1e6;
        const of = (ref: number | null) => (ref ? `${((100 * mb) / ref).toFixed(0)}% of ${ref.toFixed(1)}` : '-');
        const share = `${of(s.dsyncMbPerSec)} / ${of(s.sharedDsyncMbPerSec)}`;
        out.push(
          `| ${String(s.valueBytes).padStart(7)} | ${String(l.concurrency).padStart(9)} | ${fmtRate(l.writesPerSec).padStart(8)} | ${mb.toFixed(1).padStart(4)} | ${share.padStart(41)} | ${fmtMs(l.latencyMs.p50).padStart(6)} | ${fmtMs(l.latencyMs.p99).padStart(6)} | ${(l.counters?.leaderCpuPercent ?? NaN).toFixed(0).padStart(12)} | ${fmtInt(l.counters?.leaderChanges).padStart(14)} | ${fmtErrors(l.errors).replace('; errors ', '') || '-'} |`,
        );
      }
    }
  }
  const side = sideSummary(runs);
  if (side.skipped) {
    out.push('');
    out.push(side.skipped);
  }
  if (side.rows.length) {
    out.push('');
    out.push(`the KV server (HTTP) and etcd ${side.etcdVersion}, side by side: 3 members each on loopback, fsync on, the same ${o.httpClients[0]} keep-alive client, keys and ${o.valueBytes}-byte values; ${runs.length === 1 ? 'one run' : `medians of ${runs.length} interleaved runs`}; CPU = the 3 server processes' user + system time`);
    out.push('');
    out.push('| operation | clients | rxraft ops/s | etcd ops/s | ratio | runs\' ratios | rxraft CPU µs/op | etcd CPU µs/op | CPU ratio | leader changes rxraft / etcd |');
    out.push('|-----------|--------:|-------------:|-----------:|------:|--------------|-----------------:|---------------:|----------:|-----------------------------:|');
    for (const r of side.rows) {
      out.push(
        `| ${(r.kind === 'writes' ? 'write' : 'linearizable read').padEnd(9)} | ${String(r.concurrency).padStart(7)} | ${fmtRate(r.ours).padStart(12)} | ${fmtRate(r.theirs).padStart(10)} | ${r.ratio.toFixed(2).padStart(5)} | ${r.runRatios.map((x) => x.toFixed(2)).join(' ').padEnd(12)} | ${fmtInt(r.oursCpuMicrosPerOp).padStart(16)} | ${fmtInt(r.theirsCpuMicrosPerOp).padStart(14)} | ${r.cpuRatio.toFixed(2).padStart(9)} | ${`${r.oursLeaderChanges} / ${r.theirsLeaderChanges}`.padStart(28)} |`,
      );
    }
  }
  if (failover) {
    out.push('');
    out.push(`failover (SIGKILL the leader ×${o.failovers} per run, election timeout ${o.electionTimeout === 'server' ? 'the KV server\'s default' : `${o.electionTimeout} ms`}; kill → first acknowledged write): median ${failover.medianMs.toFixed(0)} ms, p99 ${failover.p99Ms.toFixed(0)} ms, max ${failover.maxMs.toFixed(0)} ms`);
  }
  const targets: string[] = [];
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const one = library.find((l) => l.concurrency === 1);
  if (one && floors.length) {
    targets.push(
      `one proposer p50 ${fmtMs(one.latencyMs.p50)} ms ≤ 1.1 × hand-rolled replication with two followers ${fmtMs(replication3)} ms = ${fmtMs(1.1 * replication3)} ms: ` +
        `${(one.latencyMs.p50 / replication3).toFixed(2)}×, ${check(one.latencyMs.p50 <= 1.1 * replication3)} (round trip + fdatasync: ${fmtMs(rtt + fsync)} ms)`,
    );
  }
  for (const kind of o.httpClients) {
    const http1 = httpLoads[kind].find((l) => l.concurrency === 1);
    const bare = httpFloor1[kind].p50Ms;
    // Not a target: what one HTTP client's write costs against the least it could (replication + one bare HTTP request).
    if (http1 && floors.length && Number.isFinite(bare)) {
      targets.push(`(for reference) HTTP API (${kind} client), 1 client: p50 ${fmtMs(http1.latencyMs.p50)} ms against hand-rolled replication + bare node:http request ${fmtMs(replication3)} + ${fmtMs(bare)} = ${fmtMs(replication3 + bare)} ms: ${(http1.latencyMs.p50 / (replication3 + bare)).toFixed(2)}×`);
    }
  }
  const lib256 = library.find((l) => l.concurrency === 256);
  if (lib256) targets.push(`library API, 256 proposers: ${fmtRate(lib256.writesPerSec)} ≥ 50,000 writes/s: ${check(lib256.writesPerSec >= 50_000)}`);
  const busy = [...library, ...o.httpClients.flatMap((k) => httpLoads[k])].filter((l) => l.concurrency >= 16 && l.counters);
  if (busy.length) {
    const gc = busy.map((l) => ({ level: l.concurrency, worst: Math.max(l.counters!.leaderGcPercent ?? NaN, l.counters!.followerGcPercent ?? NaN) }));
    const worst = gc.reduce((a, b) => (b.worst > a.worst ? b : a));
    targets.push(`GC ≤ 5% of the event loop's busy time on every node, 16 or more proposers/clients: worst ${worst.worst.toFixed(1)}% (at ${worst.level}): ${check(worst.worst <= 5)}`);
  }
  for (const kind of o.httpClients) {
    const http64 = httpLoads[kind].find((l) => l.concurrency === 64);
    if (http64) targets.push(`HTTP API (${kind} client), 64 clients: ${fmtRate(http64.writesPerSec)} ≥ 10,000 writes/s: ${check(http64.writesPerSec >= 10_000)}`);
  }
  if (failover && o.electionTimeout === '150-300') targets.push(`failover median ${failover.medianMs.toFixed(0)} ms ≤ 350 ms: ${check(failover.medianMs <= 350)}`);
  for (const r of side.rows) {
    const what = r.kind === 'writes' ? `writes/s at ${r.concurrency} client(s)` : `linearizable reads/s at ${r.concurrency} clients`;
    targets.push(`KV server ${what}: ${r.ratio.toFixed(2)}× etcd's ≥ 2×: ${check(r.ratio >= 2)}; CPU per operation ${r.cpuRatio.toFixed(2)}× etcd's ≤ 0.5×: ${check(r.cpuRatio <= 0.5)}`);
  }
  for (const s of sizes) {
    const loads = s.loads.filter((l) => l.concurrency >= 16);
    const falls = loads.findIndex((l, i) => i > 0 && l.writesPerSec < loads[i - 1].writesPerSec);
    if (loads.length > 1) {
      targets.push(
        `${s.valueBytes}-byte values: writes/s never falls as proposers go ${loads[0].concurrency} → ${loads[loads.length - 1].concurrency}: ${check(falls < 0)}${falls < 0 ? '' : ` (${loads[falls - 1].concurrency}: ${fmtRate(loads[falls - 1].writesPerSec)} → ${loads[falls].concurrency}: ${fmtRate(loads[falls].writesPerSec)})`}`,
      );
    }
    const best = Math.max(...s.loads.map((l) => l.writesPerSec));
    if (s.valueBytes >= 65536 && s.dsyncMbPerSec) {
      const share = (best * s.valueBytes) / 1e6 / s.dsyncMbPerSec;
      targets.push(`${s.valueBytes}-byte values: best bandwidth ${((best * s.valueBytes) / 1e6).toFixed(1)} MB/s ≥ 70% of one O_DSYNC writer's ${s.dsyncMbPerSec.toFixed(1)} MB/s: ${(100 * share).toFixed(0)}%, ${check(share >= 0.7)}`);
    }
    if (s.valueBytes >= 65536 && s.sharedDsyncMbPerSec) {
      // Three replicas on one disk each write every entry: the disk gives each what one of three writers at once gets.
      const share = (best * s.valueBytes) / 1e6 / s.sharedDsyncMbPerSec;
      targets.push(`${s.valueBytes}-byte values (proposed, one disk under three replicas): best bandwidth ≥ 70% of one of three O_DSYNC writers at once, ${s.sharedDsyncMbPerSec.toFixed(1)} MB/s: ${(100 * share).toFixed(0)}%, ${check(share >= 0.7)}`);
    }
    const changes = s.loads.reduce((n, l) => n + (l.counters?.leaderChanges ?? NaN), 0);
    targets.push(`${s.valueBytes}-byte values: zero leader changes during the load levels: ${Number.isFinite(changes) ? changes : 'unknown'}, ${check(changes === 0)}`);
  }
  const groupRuns = runs.flatMap((r) => (r.groups ? [r.groups] : []));
  const groups = { levels: groupRuns.flatMap((g) => g.levels), failovers: groupRuns.flatMap((g) => g.failovers) };
  if (groupRuns.length) out.push(...groupsReport(groups));
  if (targets.length) {
    out.push('');
    out.push('targets:');
    for (const t of targets) out.push(`  ${t}`);
  }
  console.log(out.join('\n'));
  return { cpuStealPercent: steal, loadAverage: os.loadavg(), sizes, sideBySide: side, floor: floors.length ? { roundTripP50Ms: rtt, fsyncP50Ms: fsync, replicationP50Ms: replication, replication3P50Ms: replication3, httpRequestsPerSec: httpFloor, http1: httpFloor1 } : null, library, http: httpLoads, failover, groups: groupRuns.length ? groups : null, targets };
}

/** Per value size: the library loads (medians over runs) and the O_DSYNC writer's MB/s (median). */
function sizesSummary(o: Options, runs: RunResult[]): { valueBytes: number; loads: LoadResult[]; dsyncMbPerSec: number | null; sharedDsyncMbPerSec: number | null }[] {
  return (o.sizes ?? []).map((valueBytes, i) => {
    const per = runs.flatMap((r) => (r.sizes?.[i] ? [r.sizes[i]] : []));
    const dsync = per.flatMap((s) => (s.dsync ? [s.dsync.mbPerSec] : []));
    const shared = per.flatMap((s) => (s.sharedDsync ? [s.sharedDsync.mbPerSec] : []));
    return { valueBytes, loads: medianLoads(per.map((s) => s.loads)), dsyncMbPerSec: dsync.length ? median(dsync) : null, sharedDsyncMbPerSec: shared.length ? median(shared) : null };
  });
}

function sideSummary(runs: RunResult[]): { rows: SideRow[]; skipped: string | null; etcdVersion: string } {
  const pairs = runs.flatMap((r) => (r.etcd && 'ours' in r.etcd ? [r.etcd] : []));
  const skipped = runs.map((r) => (r.etcd && 'skipped' in r.etcd ? r.etcd.skipped : null)).find((x) => x) ?? null;
  return { rows: compareSides(pairs), skipped, etcdVersion: pairs.length ? etcdVersion() : '' };
}

/** `etcd --version`'s first line's version, e.g. `3.4.23`. */
function etcdVersion(): string {
  try {
    const out = execFileSync(etcdBinary()!, ['--version'], { encoding: 'utf8' });
    return /Version:\s*(\S+)/.exec(out)?.[1] ?? '';
  } catch {
    return '';
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const profileRoot = o.profile ? path.join(resultsDir, `profiles-${stamp}`) : null;
  const runs: RunResult[] = [];
  const cpuAtStart = cpuTimes();
  const loadAtStart = os.loadavg()[0];
  for (let run = 1; run <= o.runs; run++) {
    note(`run ${run}/${o.runs}`);
    const r: RunResult = {};
    const profileDir = (phase: string) => (profileRoot ? path.join(profileRoot, `run${run}-${phase}`) : null);
    if (o.phases.includes('floor')) r.floor = await floorPhase(o);
    if (o.phases.includes('library')) {
      if (o.sizes) r.sizes = await sizesPhase(o, o.sizes, (size) => profileDir(`library-${size}`));
      else r.library = await libraryPhase(o, profileDir('library'));
    }
    if (o.phases.includes('http')) {
      r.http = {};
      for (const kind of o.httpClients) r.http[kind] = await httpPhase(o, kind, profileDir(`http-${kind}`));
    }
    if (o.phases.includes('failover')) r.failover = await failoverPhase(o);
    if (o.phases.includes('etcd')) r.etcd = await etcdPhase(o);
    if (o.phases.includes('groups')) {
      r.groups = await groupsPhase({
        ...{ groups: o.groups, levels: o.groupLevels, failovers: o.groupFailovers, groupStorage: o.groupStorage, electionTimeout: o.groupElectionTimeout, quiesce: o.groupQuiesce },
        ...{ warmupMs: o.warmupMs, durationMs: o.durationMs, valueBytes: o.valueBytes, note },
        ...{ profileDir: (groups: number) => profileDir(`groups-${groups}`), failoverProfileDir: profileDir('groups-failover') },
      });
    }
    runs.push(r);
  }
  const steal = stealPercent(cpuAtStart, cpuTimes());
  const summary = report(o, runs, steal, loadAtStart);
  const file = path.join(resultsDir, `cluster-${stamp}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, options: o, summary, runs }, null, 2),
  );
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  if (profileRoot) {
    console.log(`\nCPU profiles: ${path.relative(process.cwd(), profileRoot)}`);
    for (const dir of fs.readdirSync(profileRoot).sort()) console.log(summarizeProfiles(path.join(profileRoot, dir)));
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`\n${signal}: stopping the nodes`);
    void Promise.all([...running].map((c) => c.stop())).finally(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    note(`benchmark failed: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
