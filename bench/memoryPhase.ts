/**
 * One phase of the memory benchmark (bench/memory.ts): closed-loop HTTP clients write to
 * a cluster's leader for the whole duration while the RSS (and, where the server says,
 * the V8 heap) of every member is sampled; then a chart and the verdict of issue 17 —
 * the median of the last minute within 10% of the second minute's.
 *
 * @example
 * const result = await runMemoryPhase(await startEtcd(), { durationS: 300, intervalS: 5, clients: 64, keys: 10_000, valueBytes: 100 });
 * result.verdicts['largest of the three']; // { secondMinuteMedianMb, lastMinuteMedianMb, growth }
 */
import { putClient, PutClient } from './clusterHttp';
import { median, nowMs } from './clusterStats';
import { MemoryTarget, rssMb } from './memoryTargets';

export interface MemoryLoad {
  readonly durationS: number;
  readonly intervalS: number;
  readonly clients: number;
  readonly keys: number;
  readonly valueBytes: number;
}

/** One sample of one process. */
export interface MemorySample {
  readonly t: number;
  readonly rssMb: number;
  /** V8 heap in use, and memory outside the heap (Buffers), where the server reports them. */
  readonly heapMb: number | null;
  readonly externalMb: number | null;
}

/** Second and last minute of one series: flat when the growth is within 10%. */
export interface MemoryVerdict {
  readonly secondMinuteMedianMb: number | null;
  readonly lastMinuteMedianMb: number | null;
  readonly growth: number | null;
}

export interface MemoryPhaseResult {
  readonly target: string;
  readonly leader: string;
  readonly leaderChanges: readonly { t: number; leader: string }[];
  readonly writes: number;
  readonly errors: Record<string, number>;
  /** By series name: each member (the leader marked), plus the largest and smallest of the three per sample. */
  readonly verdicts: Record<string, MemoryVerdict>;
  readonly samples: Record<string, MemorySample[]>;
}

/** The second minute and the last must not overlap (or touch the warm-up). */
const SHORTEST_JUDGED_S = 180;

/** Loads `target` for `load.durationS` seconds, sampling memory; stops nothing. */
export async function runMemoryPhase(target: MemoryTarget, load: MemoryLoad): Promise<MemoryPhaseResult> {
  const first = await target.leader();
  console.log(`memory, ${target.name}: 3 members, leader ${first.id}, ${load.clients} clients, ${load.keys} keys, ${load.valueBytes}-byte values, ${load.durationS} s`);
  const start = nowMs();
  const writer = leaderWriter(target, first, load, start);
  const names = target.members.map((m) => (m.id === first.id ? `${m.id} (leader at start)` : m.id));
  const series = new Map<string, MemorySample[]>(names.map((n) => [n, []]));
  console.log(`${'t'.padStart(5)}  ${names.map((n) => `${n} rss/heap/ext MB`.padStart(28)).join('')}  writes/s`);
  let lastWrites = 0;
  for (let t = 0; t <= load.durationS; t += load.intervalS) {
    const wait = start + t * 1000 - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const row = await Promise.all(target.members.map(async (m) => ({ t, rssMb: rssMb(m.pid), ...(await target.heap(m.id)) })));
    row.forEach((s, i) => series.get(names[i])!.push(s));
    const rate = (writer.writes() - lastWrites) / load.intervalS;
    lastWrites = writer.writes();
    const cell = (s: MemorySample) => `${s.rssMb.toFixed(0)} / ${s.heapMb?.toFixed(0) ?? '-'} / ${s.externalMb?.toFixed(0) ?? '-'}`;
    console.log(`${String(t).padStart(5)}  ${row.map((s) => cell(s).padStart(28)).join('')}  ${t === 0 ? '' : rate.toFixed(0)}`);
  }
  await writer.done;
  console.log(`\n${chart(series)}\n`);
  const perMember = [...series.values()];
  const across = (pick: (values: number[]) => number) => perMember[0].map((s, i) => ({ t: s.t, rssMb: pick(perMember.map((p) => p[i].rssMb)), heapMb: null, externalMb: null }));
  // A leader holds more than a follower, so a leader change moves each process's RSS
  // whatever the log does: the largest and smallest of the three, sample by sample, are judged too.
  series.set('largest of the three', across((v) => Math.max(...v)));
  series.set('smallest of the three', across((v) => Math.min(...v)));
  const verdicts: Record<string, MemoryVerdict> = {};
  for (const [id, samples] of series) {
    verdicts[id] = verdictOf(samples, load.durationS);
    console.log(`${target.name} ${id}: ${describe(verdicts[id], samples)}`);
  }
  const errors = Object.fromEntries(writer.errors);
  const changes = writer.leaderChanges;
  console.log(`${target.name} writes: ${writer.writes()} (${(writer.writes() / load.durationS).toFixed(0)}/s), errors: ${writer.errors.size ? [...writer.errors].map(([k, v]) => `${k}=${v}`).join(' ') : 'none'}, leader changes: ${changes.length ? changes.map((c) => `${c.leader} at ${c.t} s`).join(', ') : 'none'}\n`);
  return { target: target.name, leader: first.id, leaderChanges: changes, writes: writer.writes(), errors, verdicts, samples: Object.fromEntries(series) };
}

/**
 * Workers writing to the current leader until the phase ends: after a leader change (an
 * error from the old one), they pause briefly while the leader is found again.
 */
function leaderWriter(target: MemoryTarget, first: { id: string; port: number }, load: MemoryLoad, start: number) {
  const end = start + load.durationS * 1000;
  let current: { id: string; client: PutClient } = { id: first.id, client: putClient('raw', '127.0.0.1', first.port, load.clients, target.dialect) };
  let finding: Promise<void> | null = null;
  const leaderChanges: { t: number; leader: string }[] = [];
  const errors = new Map<string, number>();
  let writes = 0;
  const refind = () =>
    (finding ??= target
      .leader()
      .then((now) => {
        if (now.id === current.id) return;
        current.client.close();
        current = { id: now.id, client: putClient('raw', '127.0.0.1', now.port, load.clients, target.dialect) };
        leaderChanges.push({ t: Math.round((nowMs() - start) / 1000), leader: now.id });
      })
      .catch(() => undefined)
      .finally(() => (finding = null)));
  const value = Buffer.alloc(load.valueBytes, 'v');
  const workers = Array.from({ length: load.clients }, async (_, w) => {
    let seq = w;
    while (nowMs() < end) {
      try {
        await current.client.put(w, `k${seq % load.keys}`, value);
        writes++;
      } catch (e) {
        const name = (e as Error).name;
        errors.set(name, (errors.get(name) ?? 0) + 1);
        await Promise.all([refind(), new Promise((r) => setTimeout(r, 20))]);
      }
      seq += load.clients * 7 + 1;
    }
  });
  const done = Promise.all(workers).then(() => current.client.close());
  return { done, errors, leaderChanges, writes: () => writes };
}

/** The median RSS over samples with `from <= t < to` seconds. */
function windowMedian(samples: readonly MemorySample[], from: number, to: number): number | null {
  const inside = samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rssMb);
  return inside.length ? median(inside) : null;
}

/**
 * The verdict on one series: the median of the last minute against the second minute's
 * (null under 180 s, where the two would overlap or touch the warm-up).
 *
 * @example
 * verdictOf(samples, 300); // { secondMinuteMedianMb: 130, lastMinuteMedianMb: 138, growth: 0.06 }
 */
export function verdictOf(samples: readonly MemorySample[], durationS: number): MemoryVerdict {
  const judged = durationS >= SHORTEST_JUDGED_S;
  const second = judged ? windowMedian(samples, 60, 120) : null;
  const last = judged ? windowMedian(samples, durationS - 60, durationS + 1) : null;
  return { secondMinuteMedianMb: second, lastMinuteMedianMb: last, growth: second && last ? (last - second) / second : null };
}

function describe(v: MemoryVerdict, samples: readonly MemorySample[]): string {
  const max = Math.max(...samples.map((x) => x.rssMb)).toFixed(0);
  const head = `second minute median ${v.secondMinuteMedianMb?.toFixed(0) ?? '-'} MB, last minute median ${v.lastMinuteMedianMb?.toFixed(0) ?? '-'} MB, max ${max} MB`;
  if (v.growth === null) return `${head} (run at least ${SHORTEST_JUDGED_S} s for a verdict)`;
  return `${head}, ${(v.growth * 100).toFixed(1)}% ${Math.abs(v.growth) <= 0.1 ? 'FLAT' : 'GROWS'}`;
}

/** A small chart of one series per process: one row per sample, bars scaled to the largest value. */
function chart(series: Map<string, MemorySample[]>): string {
  const max = Math.max(...[...series.values()].flat().map((s) => s.rssMb));
  const width = 40;
  const lines: string[] = [];
  for (const [id, samples] of series) {
    lines.push(`RSS of ${id} (MB, full bar = ${max.toFixed(0)})`);
    for (const s of samples) lines.push(`${String(s.t).padStart(5)}s ${s.rssMb.toFixed(0).padStart(5)} ${'#'.repeat(Math.round((s.rssMb / max) * width))}`);
  }
  return lines.join('\n');
}
