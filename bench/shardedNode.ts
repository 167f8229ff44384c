/**
 * A sharded KV server process for the multi-group phase of the cluster benchmark
 * (bench/clusterGroups.ts): examples/sharded-kv.ts plus IPC commands —
 *
 * - `leads`: the shards this host leads now;
 * - `load`: one proposer per entry of `groups`, each writing to that group through the
 *   library API (`propose` on this host's replica; a group it no longer leads forwards);
 *   answers writes/s and latency percentiles over the measured window;
 * - `counters`: CPU time used and durable writes (fsyncs) of every group's storage so far.
 */
import { encodeCommand, Op } from '../examples/kv/commands';
import { runShardedKvMain } from '../examples/sharded/main';
import type { ShardedKvServer } from '../examples/sharded/server';
import type { NodeCounters } from './clusterNode';
import { closedLoop, LoadResult } from './clusterStats';

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

/** The IPC commands the parent calls. */
const commands = (server: ShardedKvServer) => ({
  leads: async () => server.shards.filter((s) => s.leader()?.self).map((s) => s.index),
  load: (args: unknown) => load(server, args as GroupLoadArgs),
  counters: async (): Promise<NodeCounters> => {
    const cpu = process.cpuUsage();
    const framesSent = Object.values(server.transport.stats().peers).reduce((n, p) => n + p.framesSent, 0);
    return { cpuMicros: cpu.user + cpu.system, fsyncs: server.fsyncs(), framesSent, groupMessages: received.group, livenessMessages: received.liveness, sysMicros: cpu.system, rssBytes: process.memoryUsage().rss };
  },
});

/** Messages this host received, counted from its transport's streams once it is up. */
const received = { group: 0, liveness: 0 };

void runShardedKvMain(process.argv.slice(2), (server) => {
  server.transport.inbound$.subscribe(() => received.group++);
  server.transport.alive$.subscribe(() => received.liveness++);
  return commands(server);
});
