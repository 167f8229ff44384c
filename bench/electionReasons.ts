/**
 * Reads the KV servers' logs a memory benchmark kept (`RXRAFT_BENCH_KV_LOGS=<dir>`) and
 * tells each leader change after the first election with what started it, from the
 * servers' election reports (`RaftNode.elections$`):
 *
 * - `checkQuorum`: the leader stepped down, its followers counted silent;
 * - `candidate stalled`: the winner's election timer ran late (its own process stalled);
 * - `leader silent`: the winner's timer ran on time: the leader had not been heard for
 *   longer than the timeout it drew.
 *
 *   npx ts-node --transpile-only bench/electionReasons.ts /tmp/kv-logs
 *
 * @example
 * classifyLeaderChanges(readLogs('/tmp/kv-logs')); // { changes: 4, causes: { 'leader silent': 4 } }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type LogLine = Record<string, unknown> & { readonly time: number; readonly node: string; readonly msg: string };

/** Every JSON line of every `*.log` in `dir`, by time. */
export function readLogs(dir: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    for (const text of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      if (!text.startsWith('{')) continue;
      lines.push(JSON.parse(text) as LogLine);
    }
  }
  return lines.sort((a, b) => a.time - b.time);
}

/** A campaign this many ms after its deadline counts as started by its own stall. */
const STALLED_MS = 60;

/** Leader changes after the first election and before the servers stopped (their last storage line), by cause. */
export function classifyLeaderChanges(lines: readonly LogLine[]): { changes: number; causes: Record<string, number> } {
  const elected = lines.filter((l) => l.msg === 'this node is the leader');
  const lastWork = Math.max(...lines.filter((l) => l.msg === 'snapshot taken' || l.msg === 'slow storage write').map((l) => l.time));
  const causes: Record<string, number> = {};
  const changes = elected.slice(1).filter((l) => l.time <= lastWork);
  for (const won of changes) {
    const recent = (l: LogLine, ms: number) => l.time <= won.time && won.time - l.time <= ms;
    const quorumLost = lines.some((l) => l.kind === 'stepDown' && l.reason === 'checkQuorum' && recent(l, 1500));
    const campaign = lines.find((l) => l.kind === 'campaign' && l.node === won.node && recent(l, 3000));
    const cause = quorumLost ? 'checkQuorum' : campaign === undefined ? 'other' : (campaign.lateMs as number) > STALLED_MS ? 'candidate stalled' : 'leader silent';
    causes[cause] = (causes[cause] ?? 0) + 1;
  }
  return { changes: changes.length, causes };
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: bench/electionReasons.ts <dir with n1.log, n2.log, n3.log>');
  console.log(JSON.stringify(classifyLeaderChanges(readLogs(dir))));
}
