/**
 * A KV server process for the cluster benchmark (bench/cluster.ts): examples/kv-server.ts
 * plus IPC commands the benchmark sends it —
 *
 * - `load`: proposers inside this process, through the library API (`node.propose`), for
 *   a given concurrency and duration; answers writes/s, latency percentiles, and the
 *   fsyncs and transport frames it took;
 * - `fill`: writes every key of the benchmark's store once (before a phase's first level);
 * - `echo`: opens a TCP echo server (for the loopback round-trip floor) and answers its port;
 * - `httpEcho`: opens a bare node:http server answering 200 to everything (the HTTP floor);
 * - `transportEcho`: opens an rxraft TCP transport answering every AppendEntries;
 * - `replicaEcho`: opens a TCP server that appends each record durably, then answers;
 * - `counters`: CPU time used, fsyncs and frames sent so far;
 * - `latencyTrace`: with `RXRAFT_LATENCY_TRACE=1`, the write stages recorded so far (`latencyTrace.ts`).
 *
 * With `RXRAFT_BENCH_TRACE=1` it also traces its node's roles and its event-loop stalls
 * to stderr (`clusterTrace.ts`).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { encodeCommand, Op } from '../examples/kv/commands';
import { runKvServerMain } from '../examples/kv/main';
import type { KvServer } from '../examples/kv/server';
import { replicaEcho, transportEcho } from './clusterFloor';
import { traceRolesAndStalls, traceWanted } from './clusterTrace';
import { followerTracePrefix, traceFollowers } from './followerTrace';
import { heartbeatTracePrefix, traceHeartbeats } from './heartbeatTrace';
import { latencyTraceWanted, traceLatency } from './latencyTrace';
import { benchKey, closedLoop, LoadResult, storeKey } from './clusterStats';

/** Running totals of a node process, for rates over a load level. */
export interface NodeCounters {
  /** CPU time (user + system) used so far, µs. */
  readonly cpuMicros: number;
  /** Durable writes of its storage (append + fdatasync, or hard state). */
  readonly fsyncs: number;
  /** Frames its transport sent. */
  readonly framesSent: number;
  /** Messages received so far: Raft messages of every group, and host liveness messages (hosts of groups only). */
  readonly groupMessages?: number;
  readonly livenessMessages?: number;
  readonly vcsw?: number;
  readonly sysMicros?: number;
  /** Page faults served without I/O so far (`resourceUsage().minorPageFault`): fresh pages of big allocations show here. */
  readonly minorFaults?: number;
  /** On the leader: reads of entries from storage for its followers (entries no longer in memory), this term. */
  readonly storageReads?: number;
  /** Resident set size now, bytes (hosts of groups, asked with `settleMs`: that long after the forced GC). */
  readonly rssBytes?: number;
  /** Resident set size right after the forced GC, bytes (hosts of groups): it still holds pages the GC freed and V8 has not unmapped yet. */
  readonly rssAtGcBytes?: number;
  /** V8 heap in use now, bytes (after a full GC where the process can force one). */
  readonly heapBytes?: number;
  /** V8 heap committed now (used, free pages and the young generation's semi-spaces), bytes. */
  readonly heapTotalBytes?: number;
  /** Memory of JavaScript objects held outside the V8 heap (ArrayBuffers, Buffers, native bindings), bytes. */
  readonly externalBytes?: number;
  /** Of `externalBytes`, ArrayBuffers' and Buffers' backing stores, bytes. */
  readonly arrayBuffersBytes?: number;
  /** Time the event loop was busy (not waiting for I/O) so far, µs (`eventLoopUtilization().active`). */
  readonly loopBusyMicros?: number;
  /** Time in garbage-collection pauses so far, µs (the durations of `gc` performance entries). */
  readonly gcMicros?: number;
  /** Of `gcMicros`, the mark-compacts' (major GCs), µs; and how many there were. */
  readonly majorGcMicros?: number;
  readonly majorGcs?: number;
}

interface LoadArgs {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly valueBytes: number;
  /** Loops of linearizable reads (`node.read()`, ReadIndex) beside the proposers; 0 or absent: none. */
  readonly readers?: number;
}

/** Sums the garbage collector's pauses from now on, µs: all of them, and the mark-compacts' (major GCs) alone, with their count. */
function gcPauses(): () => { all: number; major: number; majors: number } {
  const totals = { all: 0, major: 0, majors: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      totals.all += entry.duration * 1000;
      if (((entry as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        totals.major += entry.duration * 1000;
        totals.majors++;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  return () => totals;
}

function gcCounters(t: { all: number; major: number; majors: number }): Pick<NodeCounters, 'gcMicros' | 'majorGcMicros' | 'majorGcs'> {
  return { gcMicros: t.all, majorGcMicros: t.major, majorGcs: t.majors };
}

function framesSent(server: KvServer): number {
  return Object.values(server.transport.stats().peers).reduce((n, p) => n + p.framesSent, 0);
}

function storageReads(server: KvServer): number {
  return (server.node.followers() ?? []).reduce((n, f) => n + f.storageReads, 0);
}

/**
 * Proposers (and, with `readers`, loops of linearizable reads beside them) for the level's
 * duration. A read confirms leadership with a heartbeat round, so its latency under writes
 * shows how long a round waits behind entry traffic; it is returned as `reads` counters.
 */
async function load(server: KvServer, args: LoadArgs): Promise<LoadResult> {
  const value = Buffer.alloc(args.valueBytes, 0x61);
  const readers = args.readers ?? 0;
  const reads = readers > 0 ? closedLoop(readers, args.warmupMs, args.durationMs, () => server.node.read()) : null;
  // The proposal's own promise, not one more from an async wrapper: the load generator runs in the leader, whose GC share is measured.
  const writes = await closedLoop(args.concurrency, args.warmupMs, args.durationMs, (w, i) => server.node.propose(encodeCommand({ op: Op.Put, key: benchKey(w, i, args.concurrency, args.valueBytes), value })));
  if (reads === null) return writes;
  const r = await reads;
  return { ...writes, counters: { readsPerSec: r.writesPerSec, readP50Ms: r.latencyMs.p50, readP99Ms: r.latencyMs.p99, readMaxMs: r.latencyMs.max } };
}

interface FillArgs {
  /** Keys `storeKey(0)` .. `storeKey(keys - 1)`. */
  readonly keys: number;
  readonly valueBytes: number;
}

/** Proposers of `fill`: few enough that 64 KiB values stay far below `maxUncommittedBytes`. */
const FILL_PROPOSERS = 16;

/**
 * Writes every key of the benchmark's store once, before a phase's first level, so that no
 * level pays for filling it (a fresh value's pages: ~16 page faults per 64 KiB write).
 * Answers how many writes were acknowledged; a refused one is not retried (its key is
 * filled by the level instead).
 */
async function fill(server: KvServer, args: FillArgs): Promise<number> {
  const value = Buffer.alloc(args.valueBytes, 0x61);
  let next = 0;
  let acknowledged = 0;
  const proposer = async () => {
    while (next < args.keys) {
      const key = storeKey(next++);
      await server.node.propose(encodeCommand({ op: Op.Put, key, value })).then(() => acknowledged++, () => undefined);
    }
  };
  await Promise.all(Array.from({ length: FILL_PROPOSERS }, proposer));
  return acknowledged;
}

/** A bare node:http server answering every request like a KV write (200, small JSON): the HTTP floor. */
function httpEcho(): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = '{"index":1}\n';
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
        res.end(body);
      });
    });
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function echo(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      socket.on('data', (chunk) => socket.write(chunk));
      socket.on('error', () => undefined);
    });
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

void runKvServerMain(process.argv.slice(2), (server) => {
  if (traceWanted()) traceRolesAndStalls(server.node.role$, server.node.elections$);
  const followerTrace = followerTracePrefix();
  if (followerTrace !== null) traceFollowers(() => server.node.followers(), followerTrace);
  const heartbeatTrace = heartbeatTracePrefix();
  if (heartbeatTrace !== null) traceHeartbeats(server.transport, server.node.id, heartbeatTrace);
  const latency = latencyTraceWanted() ? traceLatency(server) : null;
  const gcTotals = gcPauses();
  return {
    load: (args) => load(server, args as LoadArgs),
    fill: (args) => fill(server, args as FillArgs),
    latencyTrace: async () => latency?.take() ?? [],
    echo: () => echo(),
    httpEcho: () => httpEcho(),
    transportEcho: () => transportEcho(),
    replicaEcho: (args) => {
      const { dir, recordBytes, name } = args as { dir: string; recordBytes: number; name?: string };
      return replicaEcho(dir, recordBytes, name);
    },
    counters: async (): Promise<NodeCounters> => {
      const cpu = process.cpuUsage();
      const ru = process.resourceUsage();
      return { cpuMicros: cpu.user + cpu.system, fsyncs: server.storage.syncs, framesSent: framesSent(server), vcsw: ru.voluntaryContextSwitches + ru.involuntaryContextSwitches, sysMicros: cpu.system, minorFaults: ru.minorPageFault, storageReads: storageReads(server), loopBusyMicros: performance.eventLoopUtilization().active * 1000, ...gcCounters(gcTotals()) };
    },
  };
});
