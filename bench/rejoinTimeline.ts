/**
 * What each host sees of a restarted peer host (task rejoin), for the groups bench's
 * `REJOIN_TIMELINE=1` mode (bench/clusterGroups.ts): from the moment the killed host's
 * process is started again, the parent polls every host (IPC `rejoin`, bench/shardedNode.ts)
 * every 20 ms for `REJOIN_MS` and prints each change, in wall ms from the fork:
 *
 * - per peer host and lane, whether a connection is up and how many it made, and whether
 *   frames arrived from it since the last poll;
 * - per shard, the replica's role, term, leader and last/commit index, and on a leader
 *   each follower's match, replication state and time since it last answered.
 *
 * @example
 * const view = rejoinView(server); // { at, peers: { h2: 'control up(2) rx ...' }, shards: [...] }
 */
import type { ShardedKvServer } from '../examples/sharded/server';
import { testHooksOf } from '../src/testHooks';

export const REJOIN_MS = 6000;

export interface RejoinView {
  /** Wall ms. */
  readonly at: number;
  /** Per peer host: "control up(2) rx12 | bulk down(1) rx0" (connections made; frames received so far). */
  readonly peers: Record<string, string>;
  /** Per shard: "follower t4 leader=h1 last 12 commit 12" (+ on a leader, each follower's progress). */
  readonly shards: string[];
}

/** This host's view now (see the file comment). */
export function rejoinView(server: ShardedKvServer): RejoinView {
  const now = performance.now();
  const peers: Record<string, string> = {};
  for (const [id, p] of Object.entries(server.transport.stats().peers)) {
    const lane = (name: 'control' | 'bulk') => {
      const l = p.lanes[name];
      return `${name} ${l.connected ? 'up' : 'down'}(${l.connects}) q${l.queued} rx${l.framesReceived} tx${l.framesSent}`;
    };
    peers[id] = `${lane('control')} | ${lane('bulk')}`;
  }
  const shards = server.shards.map((shard) => {
    const v = testHooksOf(shard.node).inspect();
    if (!v) return 'loading';
    const progress = v.progress
      ? ' ' + [...v.progress.values()].map((p) => `${p.id}:match ${p.match} ${p.state}${p.paused ? ' paused' : ''} inflight ${p.inflight} heard ${Number.isFinite(p.lastContact) ? Math.round(now - p.lastContact) : '-'}ms ago`).join(', ')
      : '';
    return `${v.role} t${v.term} leader=${v.leaderId} last ${v.lastIndex} commit ${v.commitIndex}${progress}`;
  });
  return { at: performance.timeOrigin + now, peers, shards };
}

/** Lines for the changes in `views` (per host, in time order) from `startedAt` (wall ms). */
export function rejoinReport(startedAt: number, views: Map<string, RejoinView[]>): string[] {
  const lines: string[] = [];
  for (const [host, list] of views) {
    let last: RejoinView | null = null;
    for (const v of list) {
      const changes: string[] = [];
      for (const [peer, s] of Object.entries(v.peers)) {
        const before = last?.peers[peer];
        if (before !== s) changes.push(`${peer}: ${s}`);
      }
      v.shards.forEach((s, i) => {
        // Progress "heard N ms ago" changes every poll: compare without it.
        const strip = (x: string | undefined) => x?.replace(/heard \S+ ago/g, '');
        if (strip(last?.shards[i]) !== strip(s)) changes.push(`shard ${i}: ${s}`);
      });
      if (changes.length > 0) lines.push(`      ${host} +${Math.round(v.at - startedAt)}: ${changes.join('; ')}`);
      last = v;
    }
  }
  return lines;
}
