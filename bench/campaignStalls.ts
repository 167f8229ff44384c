/**
 * Reads the output of a cluster benchmark run with `RXRAFT_BENCH_TRACE=1` and lists, for
 * each campaign against a known leader (a follower's `campaign` report with a
 * `leaderId`), what the leader's and the candidate's event loops did in the
 * `beforeMs` before it (or during it: a stall is written when it ends): the stalls and the windows of stalls the trace reported
 * (`bench/clusterTrace.ts`), on one time line (each node's `started at` aligns its times).
 * It tells a leader that could not send (its loop away: waiting for a CPU, in GC) from a
 * leader that ran while its follower did not hear it (nothing reported on the leader).
 *
 *   RXRAFT_BENCH_TRACE=1 nice -n 19 npm run bench -- --only library --sizes 65536 --levels 256,1024 > /tmp/run.log 2>&1
 *   npx ts-node --transpile-only bench/campaignStalls.ts /tmp/run.log
 *
 * @example
 * campaignStalls(fs.readFileSync('/tmp/run.log', 'utf8'));
 * // [{ run: 1, at: 3330, candidate: 'n1', leader: 'n3', sinceLeaderMs: 164, lateMs: 1,
 * //    leaderAwayMs: 323, leaderLines: ['3365 event loop away 323 ms of the last 443 ms (…)'], candidateLines: […] }]
 */
import * as fs from 'node:fs';

export interface CampaignStalls {
  /** The benchmark's run (1-based; a new cluster each run). */
  readonly run: number;
  /** When the candidate campaigned, ms after the run's first node started tracing. */
  readonly at: number;
  readonly candidate: string;
  readonly leader: string;
  readonly sinceLeaderMs: number;
  readonly lateMs: number;
  /** The most the leader's loop was reported away in one line (a stall or a window) in the interval. */
  readonly leaderAwayMs: number;
  readonly leaderLines: readonly string[];
  readonly candidateLines: readonly string[];
}

interface TraceLine {
  readonly node: string;
  readonly at: number;
  readonly text: string;
}

/**
 * Campaigns against a leader in `log`, each with the stall lines of its leader and
 * candidate whose time spans (a line is written when its stall or window ends) overlap
 * the `beforeMs` before it.
 */
export function campaignStalls(log: string, beforeMs = 450): CampaignStalls[] {
  const found: CampaignStalls[] = [];
  for (const [index, lines] of runsOf(log).entries()) {
    const near = (node: string, at: number) =>
      lines.filter((l) => {
        const span = /stalled (\d+) ms/.exec(l.text)?.[1] ?? /of the last (\d+) ms/.exec(l.text)?.[1];
        return l.node === node && span !== undefined && l.at >= at - beforeMs && l.at - Number(span) <= at;
      });
    for (const line of lines) {
      if (!line.text.startsWith('election ')) continue;
      const report = JSON.parse(line.text.slice('election '.length)) as Record<string, unknown>;
      if (report.kind !== 'campaign' || typeof report.leaderId !== 'string') continue;
      const leaderLines = near(report.leaderId, line.at);
      found.push({
        run: index + 1,
        at: line.at,
        candidate: line.node,
        leader: report.leaderId,
        sinceLeaderMs: report.sinceLeaderMs as number,
        lateMs: report.lateMs as number,
        leaderAwayMs: Math.max(0, ...leaderLines.map((l) => Number(/(stalled|away) (\d+) ms/.exec(l.text)?.[2] ?? 0))),
        leaderLines: leaderLines.map((l) => `${l.at} ${l.text}`),
        candidateLines: near(line.node, line.at).map((l) => `${l.at} ${l.text}`),
      });
    }
  }
  return found;
}

/** The trace lines of each run (`run k/n` starts one), their times made common with the nodes' `started at`. */
function runsOf(log: string): TraceLine[][] {
  const runs: { starts: Map<string, number>; lines: { node: string; t: number; text: string }[] }[] = [];
  for (const raw of log.split('\n')) {
    if (/^run \d+\//.test(raw) || runs.length === 0) runs.push({ starts: new Map(), lines: [] });
    const m = /^\s*\[(\w+)\] trace t=(\d+) ms (.*)$/.exec(raw);
    if (!m) continue;
    const run = runs[runs.length - 1];
    const started = /^started at (\d+)/.exec(m[3]);
    if (started) run.starts.set(m[1], Number(started[1]));
    else run.lines.push({ node: m[1], t: Number(m[2]), text: m[3] });
  }
  return runs
    .filter((r) => r.starts.size > 0)
    .map((r) => {
      const base = Math.min(...r.starts.values());
      return r.lines
        .filter((l) => r.starts.has(l.node))
        .map((l) => ({ node: l.node, at: (r.starts.get(l.node) as number) + l.t - base, text: l.text }))
        .sort((a, b) => a.at - b.at);
    });
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bench/campaignStalls.ts <benchmark output with RXRAFT_BENCH_TRACE=1>');
  for (const c of campaignStalls(fs.readFileSync(file, 'utf8'))) console.log(JSON.stringify(c));
}
