import * as path from 'path';
import type { HardState } from '../../src/messages/persisted';
import { seededRandom } from '../../src/random';
import { SharedLog } from '../../src/storage/sharedLog';
import { SharedLogStorage } from '../../src/storage/sharedLogStorage';
import { CrashChildren, killChild, reported, sleep } from './crashChildren';
import { CRASH_GROUPS, CRASH_SEGMENT_BYTES } from './fixtures/sharedWalChild';
import { payload } from './fixtures/walChild';
import { TempDirs } from './tempDirs';
import { transpileFixture } from './transpiledFixture';

const dirs = new TempDirs('rxraft-swal-crash-');
const fixtureDirs = new TempDirs('rxraft-fixture-');
const children = new CrashChildren();
let script: string;

beforeAll(() => {
  script = transpileFixture(path.join(__dirname, 'fixtures', 'sharedWalChild.ts'), fixtureDirs.make());
});
afterAll(() => fixtureDirs.removeAll());
afterEach(async () => {
  await children.killAll();
  dirs.removeAll();
});

type Op =
  | { id: number; group: string; kind: 'append'; first: number; last: number; term: number }
  | { id: number; group: string; kind: 'vote'; term: number }
  | { id: number; group: string; kind: 'snap'; index: number };

/** One group's state as terms by index (terms[i] is the term of index i + 1), its hard state and snapshot index. */
interface Model {
  terms: number[];
  hardState: HardState;
  snapshot: number;
}

function parseReport(lines: readonly string[]): { ops: Op[]; acked: Set<number> } {
  const ops: Op[] = [];
  const acked = new Set<number>();
  for (const line of lines) {
    const f = line.split(' ');
    if (f[0] === 'ack') acked.add(+f[1]);
    else if (f[3] === 'append') ops.push({ id: +f[1], group: f[2], kind: 'append', first: +f[4], last: +f[5], term: +f[6] });
    else if (f[3] === 'vote') ops.push({ id: +f[1], group: f[2], kind: 'vote', term: +f[4] });
    else if (f[3] === 'snap') ops.push({ id: +f[1], group: f[2], kind: 'snap', index: +f[4] });
  }
  return { ops, acked };
}

function applyOp(model: Model, op: Op): void {
  if (op.kind === 'vote') model.hardState = { term: op.term, votedFor: `c${op.term}` };
  else if (op.kind === 'snap') model.snapshot = op.index;
  else {
    model.terms.length = op.first - 1;
    for (let i = op.first; i <= op.last; i++) model.terms.push(op.term);
  }
}

/** Whether the recovered state is `model`'s (entries compared after the recovered snapshot). */
function same(model: Model, recovered: { terms: number[]; first: number; hardState: HardState; snapshot: number }): boolean {
  if (model.hardState.term !== recovered.hardState.term || model.hardState.votedFor !== recovered.hardState.votedFor) return false;
  if (model.snapshot !== recovered.snapshot || model.terms.length !== recovered.first - 1 + recovered.terms.length) return false;
  return recovered.terms.every((t, i) => model.terms[recovered.first - 1 + i] === t);
}

describe('SharedLog crash recovery with real processes', () => {
  test('SIGKILL at random points never loses an acknowledged write of any group (seeded)', async () => {
    const seed = Number(process.env.CRASH_TEST_SEED ?? 20261205);
    const random = seededRandom(seed);
    const dataDir = dirs.make();
    const deadline = Date.now() + 20_000;
    const models = new Map<string, Model>(CRASH_GROUPS.map((g) => [g, { terms: [], hardState: { term: 0, votedFor: null }, snapshot: 0 }]));
    let totalAcked = 0;
    for (let round = 1; round <= 6 && (round <= 3 || Date.now() < deadline); round++) {
      const child = children.start(script, [dataDir, String(seed + round)]);
      if (random() < 0.2) {
        await Promise.race([sleep(random() * 600), child.exited]); // sometimes during startup and recovery
      } else {
        await child.ready;
        await sleep(20 + random() * 300);
        await reported(child, 'ack ', 80, 15_000);
      }
      await killChild(child.process);
      const { ops, acked } = parseReport(child.report());
      totalAcked += acked.size;

      const log = await SharedLog.open(dataDir, { maxSegmentBytes: CRASH_SEGMENT_BYTES });
      try {
        for (const group of CRASH_GROUPS) {
          const view = await SharedLogStorage.open(log, group);
          const { hardState, entries, snapshot } = await view.load();
          await view.close();
          const damaged = entries.findIndex((e, i) => e.index !== entries[0].index + i || !Buffer.from(payload(e.index, e.term)).equals(e.data));
          expect(damaged).toBe(-1);
          const recovered = { terms: entries.map((e) => e.term), first: entries.length ? entries[0].index : (snapshot?.index ?? 0) + 1, hardState, snapshot: snapshot?.index ?? 0 };
          // Durable = every acknowledged call of the group, plus possibly a prefix of its calls in flight.
          const mine = ops.filter((op) => op.group === group);
          const model = models.get(group)!;
          const candidate: Model = { terms: model.terms.slice(), hardState: model.hardState, snapshot: model.snapshot };
          let i = 0;
          for (; i < mine.length && acked.has(mine[i].id); i++) applyOp(candidate, mine[i]);
          // Acknowledged in call order: no call after the first unacknowledged one was acknowledged.
          const ackedLate = mine.slice(i).filter((op) => acked.has(op.id));
          expect({ round, group, firstUnacked: mine[i], ackedLate }).toEqual({ round, group, firstUnacked: mine[i], ackedLate: [] });
          let matched = same(candidate, recovered);
          for (; i < mine.length && !matched; i++) {
            applyOp(candidate, mine[i]);
            matched = same(candidate, recovered);
          }
          if (!matched) throw new Error(`round ${round}, ${group}: recovered ${entries.length} entries from ${recovered.first}, term ${hardState.term}, snapshot ${recovered.snapshot}: not the acknowledged state plus a prefix of the calls in flight`);
          models.set(group, candidate);
        }
        if (process.env.CRASH_TEST_VERBOSE) {
          const lengths = CRASH_GROUPS.map((g) => models.get(g)!.terms.length).join(',');
          console.log(`round ${round}: ${acked.size}/${ops.length} acked, entries ${lengths}, torn ${JSON.stringify(log.recovery.tornTail)}, ${log.recovery.segments} segments`);
        }
      } finally {
        await log.close();
      }
    }
    expect(totalAcked).toBeGreaterThan(200);
    expect([...models.values()].every((m) => m.terms.length > 20)).toBe(true);
  }, 60_000);
});
