/**
 * A timeline of one failover round on a surviving host (issue 19), for the groups bench's
 * `FAILOVER_TIMELINE=1` mode (bench/clusterGroups.ts) and the IPC command `timeline` of
 * bench/shardedNode.ts: `{ start: true }` starts recording, `{ stop: true }` stops and
 * answers what it saw. Recorded, in wall-clock ms (`performance.timeOrigin + now()`, so
 * comparable with the parent's kill time on the same machine):
 *
 * - when the last liveness message of each peer host arrived;
 * - each shard's role changes (role, term) and `leader$` changes;
 * - group messages received, by type, per 50 ms bucket;
 * - the event loop's lateness: a 10 ms interval's drift, the worst per 50 ms bucket;
 * - the host's storage syncs per 50 ms bucket.
 *
 * Nothing of this runs unless started: the subscriptions are made at `start` and dropped
 * at `stop`, so the hot path of a host is not touched otherwise. Bounded: at most
 * `MAX_BUCKETS` buckets (the rest is dropped) and `MAX_CHANGES` changes per shard.
 *
 * @example
 * const timeline = failoverTimeline(server);
 * timeline({ start: true }); ... const t = await timeline({ stop: true }); // TimelineResult
 */
import { Subscription } from 'rxjs';
import type { ShardedKvServer } from '../examples/sharded/server';

const BUCKET_MS = 50;
const MAX_BUCKETS = 1200; // 60 s
const MAX_CHANGES = 16;

export interface TimelineBucket {
  /** Start of the bucket, wall ms. */
  readonly at: number;
  /** Group messages received, by type. */
  readonly received: Record<string, number>;
  /** Worst event-loop lateness seen in the bucket, ms. */
  readonly lateMs: number;
  readonly syncs: number;
}

export interface ShardChange {
  readonly at: number;
  /** A role (`follower`, `precandidate`, `candidate`, `leader`) or `leader=<id>` for a `leader$` change. */
  readonly what: string;
  readonly term: number;
}

export interface TimelineResult {
  readonly startedAt: number;
  /** Last liveness message from each peer host, wall ms. */
  readonly lastAlive: Record<string, number>;
  readonly buckets: TimelineBucket[];
  /** Per shard (index = shard), its changes while recording. */
  readonly shards: ShardChange[][];
}

const wallNow = () => performance.timeOrigin + performance.now();

/** The recorder of one host process; see the file comment. */
export function failoverTimeline(server: ShardedKvServer): (args: unknown) => Promise<TimelineResult | null> {
  let stop: (() => TimelineResult) | null = null;
  return async (args) => {
    const a = args as { start?: boolean; stop?: boolean };
    if (a.start) {
      stop?.();
      stop = record(server);
      return null;
    }
    const result = stop?.() ?? null;
    stop = null;
    return result;
  };
}

function record(server: ShardedKvServer): () => TimelineResult {
  const startedAt = wallNow();
  const buckets: { at: number; received: Record<string, number>; lateMs: number; syncs: number }[] = [];
  const bucket = (at: number) => {
    const i = Math.floor((at - startedAt) / BUCKET_MS);
    if (i >= MAX_BUCKETS) return null;
    while (buckets.length <= i) buckets.push({ at: startedAt + buckets.length * BUCKET_MS, received: {}, lateMs: 0, syncs: 0 });
    return buckets[i];
  };
  const lastAlive: Record<string, number> = {};
  const shards: ShardChange[][] = server.shards.map(() => []);
  const note = (i: number, what: string, term: number) => shards[i].length < MAX_CHANGES && shards[i].push({ at: wallNow(), what, term });
  const subscriptions = new Subscription();
  subscriptions.add(server.transport.alive$.subscribe(({ from }) => (lastAlive[from] = wallNow())));
  subscriptions.add(
    server.transport.inbound$.subscribe(({ message }) => {
      const b = bucket(wallNow());
      if (b) b.received[message.type] = (b.received[message.type] ?? 0) + 1;
    }),
  );
  server.shards.forEach((shard, i) => {
    let role = '';
    let leader: string | null | undefined;
    subscriptions.add(
      shard.node.status$.subscribe((st) => {
        if (st.role !== role && role !== '') note(i, st.role, st.term);
        role = st.role;
      }),
    );
    subscriptions.add(
      shard.node.leader$.subscribe((l) => {
        const id = l?.id ?? null;
        if (leader !== undefined && id !== leader) note(i, `leader=${id}`, l?.term ?? -1);
        leader = id;
      }),
    );
  });
  let expected = performance.now() + 10;
  let syncs = server.fsyncs();
  const timer = setInterval(() => {
    const now = performance.now();
    const b = bucket(wallNow());
    const s = server.fsyncs();
    if (b) {
      b.lateMs = Math.max(b.lateMs, now - expected);
      b.syncs += s - syncs;
    }
    syncs = s;
    expected = now + 10;
  }, 10);
  return () => {
    clearInterval(timer);
    subscriptions.unsubscribe();
    return { startedAt, lastAlive, buckets, shards };
  };
}

/**
 * Lines that say where a round's time went, from the survivors' timelines (`views[i]` of
 * `survivors[i]`): how long after the kill the victim's last liveness message arrived;
 * per affected group, kill → first pre-candidacy on a survivor, → its candidacy, → the
 * new leader's own role change (p10 / p50 / p90 / max); then per 100 ms from the kill
 * the group messages received by type, the worst event-loop lateness and the syncs.
 */
export function timelineReport(killedAt: number, victim: string, led: readonly number[], survivors: readonly string[], views: readonly TimelineResult[]): string[] {
  const q = (xs: number[]) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    const at = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
    return s.length ? `${[0.1, 0.5, 0.9].map((f) => Math.round(at(f))).join(' / ')} / ${Math.round(s[s.length - 1])} (n ${s.length})` : '-';
  };
  const first = (changes: ShardChange[], what: string, after: number) => changes.find((c) => c.what === what && c.at >= after)?.at ?? NaN;
  const pre: number[] = [];
  const cand: number[] = [];
  const won: number[] = [];
  const preToCand: number[] = [];
  const candToLeader: number[] = [];
  for (const g of led) {
    const times = views.map((v) => ({ pre: first(v.shards[g], 'precandidate', killedAt), cand: first(v.shards[g], 'candidate', killedAt), leader: first(v.shards[g], 'leader', killedAt) }));
    const earliest = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
    const winner = times.find((t) => Number.isFinite(t.leader));
    pre.push(earliest(times.map((t) => t.pre)) - killedAt);
    cand.push(earliest(times.map((t) => t.cand)) - killedAt);
    if (winner) {
      won.push(winner.leader - killedAt);
      preToCand.push(winner.cand - winner.pre);
      candToLeader.push(winner.leader - winner.cand);
    }
  }
  const out = [
    `    timeline: victim ${victim}'s last liveness message at ${views.map((v, i) => `${survivors[i]} ${Math.round((v.lastAlive[victim] ?? NaN) - killedAt)}`).join(', ')} ms from the kill`,
    `    timeline, ms from the kill, p10 / p50 / p90 / max: first pre-candidacy ${q(pre)}; first candidacy ${q(cand)}; leader ${q(won)}; the winner's pre-candidacy → candidacy ${q(preToCand)}, candidacy → leader ${q(candToLeader)}`,
  ];
  const slowest = led.map((g) => ({ g, at: Math.min(...views.map((v) => first(v.shards[g], 'leader', killedAt)).filter(Number.isFinite)) })).sort((a, b) => b.at - a.at).slice(0, 3);
  for (const { g } of slowest) {
    const changes = views.map((v, i) => `${survivors[i]}: ${v.shards[g].filter((c) => c.at >= killedAt - 100).map((c) => `${c.what}@${Math.round(c.at - killedAt)} t${c.term}`).join(' ')}`);
    out.push(`    slow group ${g}: ${changes.join(' | ')}`);
  }
  const end = Math.max(killedAt, ...won.map((w) => w + killedAt)) + 200;
  for (let t = killedAt - 100; t < end; t += 100) {
    const cells = views.map((v) => {
      const bs = v.buckets.filter((b) => b.at >= t && b.at < t + 100);
      const received: Record<string, number> = {};
      for (const b of bs) for (const [k, n] of Object.entries(b.received)) received[k] = (received[k] ?? 0) + n;
      const late = Math.max(0, ...bs.map((b) => b.lateMs));
      const syncs = bs.reduce((n, b) => n + b.syncs, 0);
      const msgs = Object.entries(received).map(([k, n]) => `${k.replace(/Request|Response/, (m) => (m === 'Request' ? 'Req' : 'Resp'))} ${n}`).join(' ');
      return `late ${Math.round(late)} syncs ${syncs} ${msgs}`;
    });
    const roles = views.map((v) => {
      const c: Record<string, number> = {};
      for (const g of led) for (const ch of v.shards[g]) if (ch.at >= t && ch.at < t + 100 && !ch.what.startsWith('leader=')) c[ch.what] = (c[ch.what] ?? 0) + 1;
      return Object.entries(c).map(([k, n]) => `${k} ${n}`).join(' ');
    });
    out.push(`      +${Math.round(t - killedAt)}: ${survivors.map((s, i) => `${s} [${cells[i]}] -> ${roles[i] || '-'}`).join(' | ')}`);
  }
  return out;
}
