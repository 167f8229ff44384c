/**
 * A sharded KV server process for the multi-group phase of the cluster benchmark
 * (bench/clusterGroups.ts): examples/sharded-kv.ts plus IPC commands —
 *
 * - `leads`: the shards this host leads now;
 * - `load`: one proposer per entry of `groups`, each writing to that group through the
 *   library API (`propose` on this host's replica; a group it no longer leads forwards);
 *   answers writes/s and latency percentiles over the measured window;
 * - `counters`: CPU time used and syncs of the host's storage so far (the shared log's,
 *   or every group's `FileStorage`), RSS and heap (after a full GC when node runs with
 *   `--expose-gc`);
 * - `leaders`: each shard's leader as this host sees it, and since when (wall clock, ms),
 *   and when its replica here last became a candidate (a real election round; up to
 *   `CANDIDACIES_KEPT` times), for the failover measurement and its trace;
 * - `timeline`: `{ start: true }` / `{ stop: true }`: a failover round's timeline on this host (bench/failoverTimeline.ts);
 * - `groupMessages`: group messages received so far (cheap: no GC, unlike `counters`);
 * - `profile`: `{ start: true }` starts a V8 CPU profile of this process (inspector),
 *   `{ stop: <file> }` writes it there (the failover rounds profile the survivors);
 * - `memory`: after a full GC, `process.memoryUsage()` and the V8 heap by space
 *   (bench/groupMemoryKv.ts);
 * - `heapSnapshot`: `{ file }` writes a heap snapshot of this process there (`{ file: null }`: none);
 * - `idleTrace`: `{ ms, sites? }`: messages, GCs and allocation over the next `ms` (bench/idleTrace.ts).
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as v8 from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { encodeCommand, Op } from '../examples/kv/commands';
import { runShardedKvMain } from '../examples/sharded/main';
import type { ShardedKvServer } from '../examples/sharded/server';
import type { NodeCounters } from './clusterNode';
import { idleTrace, IdleTraceArgs } from './idleTrace';
import { failoverTimeline } from './failoverTimeline';
import { rejoinView } from './rejoinTimeline';
import { closedLoop, LoadResult } from './clusterStats';
import { testHooksOf } from '../src/testHooks';
import { residentByKind, ResidentByKind, RSS_SETTLE_MS, settledRss } from './procMaps';

/** One shard's replica here, as the failover probe reads it (bench/failoverProbe.ts). */
export interface ShardState {
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly votedFor: string | null;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly commitIndex: number;
  /** Scheduler time (ms, wall clock in production) since this replica last heard from a leader. */
  readonly sinceLeaderMs: number;
}

/** The event loop's delay since the last `loopDelay` call (ms: p50, p99, max), for the failover probe. */
const loopDelays = monitorEventLoopDelay({ resolution: 10 });
loopDelays.enable();
function loopDelay(): { p50: number; p99: number; max: number; lost: number } {
  const ms = (ns: number) => Math.round(ns / 1e6);
  const out = { p50: ms(loopDelays.percentile(50)), p99: ms(loopDelays.percentile(99)), max: ms(loopDelays.max), lost: received.lost };
  received.lost = 0;
  loopDelays.reset();
  return out;
}

function shardStates(server: ShardedKvServer): ShardState[] {
  const now = performance.now(); // the default scheduler's clock
  return server.shards.map((shard) => {
    const v = testHooksOf(shard.node).inspect();
    if (!v) return { role: 'loading', term: 0, leaderId: null, votedFor: null, lastIndex: 0, lastTerm: 0, commitIndex: 0, sinceLeaderMs: NaN };
    return { role: v.role, term: v.term, leaderId: v.leaderId, votedFor: v.votedFor, lastIndex: v.lastIndex, lastTerm: v.lastTerm, commitIndex: v.commitIndex, sinceLeaderMs: now - v.lastLeaderContact };
  });
}

/** One shard's leader as this host sees it, and the wall-clock time (ms) it last changed. */
export interface ShardLeader {
  readonly leader: string | null;
  readonly sinceMs: number;
  /** Wall-clock times (ms) the replica here last became a candidate, oldest first (at most `CANDIDACIES_KEPT`). */
  readonly candidacies: readonly number[];
}

/** Candidacies remembered per shard (bounded: the failover trace looks at the last few). */
const CANDIDACIES_KEPT = 8;

/** When each shard's `leader$` last changed, and when its replica here became a candidate (wall clock: compared across processes on one machine). */
function followLeaders(server: ShardedKvServer): () => ShardLeader[] {
  const seen = server.shards.map(() => ({ leader: null as string | null, sinceMs: Date.now(), candidacies: [] as number[], role: '' }));
  // One `status$` subscription per shard (its leader as `leader$` gives it), not two: this
  // runs for each of 1,000 groups in the groups bench, whose memory per group it adds to.
  server.shards.forEach((shard, i) => {
    shard.node.status$.subscribe((st) => {
      const leader = st.leaderId && !st.stopped ? st.leaderId : null;
      if (leader !== seen[i].leader) Object.assign(seen[i], { leader, sinceMs: Date.now() });
      if (st.role === 'candidate' && seen[i].role !== 'candidate') seen[i].candidacies.push(Date.now());
      if (seen[i].candidacies.length > CANDIDACIES_KEPT) seen[i].candidacies.shift();
      seen[i].role = st.role;
    });
  });
  return () => seen.map(({ leader, sinceMs, candidacies }) => ({ leader, sinceMs, candidacies }));
}

/** Starts (`{ start: true }`) or stops and writes (`{ stop: file }`) a CPU profile of this process. */
function profiler(): (args: unknown) => Promise<unknown> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (e, r) => (e ? reject(e) : resolve(r))));
  return async (args) => {
    const a = args as { start?: boolean; stop?: string };
    if (a.start) {
      await post('Profiler.enable');
      await post('Profiler.start');
      return null;
    }
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(a.stop!, JSON.stringify(profile));
    return a.stop;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * The process's memory after a full GC (`memory`): `process.memoryUsage()` and the V8 heap
 * by space right after it (`usage.rss` then still holds pages the GC freed, see
 * `settledRss`), and RSS and its mappings by kind `RSS_SETTLE_MS` later.
 */
export interface HostMemory {
  readonly usage: NodeJS.MemoryUsage;
  readonly spaces: v8.HeapSpaceInfo[];
  readonly rss: number;
  /** Resident memory by kind of mapping (/proc/self/smaps; empty off Linux). */
  readonly resident: ResidentByKind;
}

/** What `counters` is asked: `settleMs` > 0 reads RSS that long after the forced GC (see `settledRss`). */
export interface CountersArgs {
  readonly settleMs?: number;
}

/** What the parent asks a host to load: one closed-loop proposer per entry, into that shard. */
export interface GroupLoadArgs {
  readonly groups: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly valueBytes: number;
}

function load(server: ShardedKvServer, args: GroupLoadArgs): Promise<LoadResult> {
  const value = Buffer.alloc(args.valueBytes, 0x61);
  return closedLoop(args.groups.length, args.warmupMs, args.durationMs, async (w, i) => {
    await server.shards[args.groups[w]].node.propose(encodeCommand({ op: Op.Put, key: `k${w}-${i & 1023}`, value }));
  });
}

/** Messages this host received, counted from its transport's streams once it is up. */
const received = { group: 0, liveness: 0, lost: 0 };

void runShardedKvMain(process.argv.slice(2), (server) => {
  const leaders = followLeaders(server);
  server.transport.inbound$.subscribe(() => received.group++);
  server.transport.alive$.subscribe(() => received.liveness++);
  server.transport.lost$.subscribe(() => received.lost++);
  return {
    leads: async () => server.shards.filter((s) => s.leader()?.self).map((s) => s.index),
    leaders: async () => leaders(),
    groupMessages: async () => received.group,
    states: async () => shardStates(server),
    loopDelay: async () => loopDelay(),
    profile: profiler(),
    timeline: failoverTimeline(server),
    rejoin: async () => rejoinView(server),
    load: (args) => load(server, args as GroupLoadArgs),
    memory: async (): Promise<HostMemory> => {
      gc?.();
      const usage = process.memoryUsage();
      const spaces = v8.getHeapSpaceStatistics();
      const rss = await settledRss(RSS_SETTLE_MS, usage.rss);
      return { usage, spaces, rss, resident: residentByKind() };
    },
    idleTrace: (args) => idleTrace(server.transport, args as IdleTraceArgs),
    heapSnapshot: async (args) => {
      const file = (args as { file: string | null }).file;
      return file ? v8.writeHeapSnapshot(file) : null;
    },
    counters: async (args): Promise<NodeCounters> => {
      const cpu = process.cpuUsage();
      const framesSent = Object.values(server.transport.stats().peers).reduce((n, p) => n + p.framesSent, 0);
      gc?.();
      const memory = process.memoryUsage();
      const rssBytes = await settledRss((args as CountersArgs | undefined)?.settleMs ?? 0, memory.rss);
      return {
        ...{ cpuMicros: cpu.user + cpu.system, fsyncs: server.fsyncs(), framesSent, groupMessages: received.group, livenessMessages: received.liveness },
        ...{ sysMicros: cpu.system, rssBytes, rssAtGcBytes: memory.rss, heapBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, externalBytes: memory.external, arrayBuffersBytes: memory.arrayBuffers },
      };
    },
  };
});
