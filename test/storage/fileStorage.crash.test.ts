import * as fs from 'fs';
import * as path from 'path';
import { CorruptLogError, DirectoryLockedError } from '../../src/storage/fileErrors';
import { FileStorage } from '../../src/storage/fileStorage';
import { FILE_HEADER_BYTES, scanRecords, ScannedRecord } from '../../src/storage/fileRecordFraming';
import { HardState } from '../../src/messages/persisted';
import { makeEntry, payload } from './fixtures/walChild';
import { TempDirs } from './tempDirs';
import { transpileFixture } from './transpiledFixture';
import { Child, CrashChildren, killChild, sleep } from './crashChildren';
import { seededRandom } from '../../src/random';

const dirs = new TempDirs('rxraft-crash-');
const children = new CrashChildren();
/** The fixture as plain JavaScript: children start in milliseconds instead of a second of ts-node. */
let script: string;

const fixtureDirs = new TempDirs('rxraft-fixture-');

beforeAll(() => {
  script = transpileFixture(path.join(__dirname, 'fixtures', 'walChild.ts'), fixtureDirs.make());
});

afterAll(() => fixtureDirs.removeAll());

afterEach(async () => {
  await children.killAll();
  dirs.removeAll();
});

function startChild(mode: 'append' | 'hold', dir: string, seed = 0): Child {
  return children.start(script, [mode, dir, String(seed)]);
}

type Op = { id: number; kind: 'append'; first: number; last: number; term: number } | { id: number; kind: 'vote'; term: number };

/** The issued calls in call order and how many of them (a prefix) were acknowledged. */
function parseReport(lines: readonly string[]): { ops: Op[]; acked: number } {
  const ops: Op[] = [];
  let acked = 0;
  for (const line of lines) {
    const f = line.split(' ');
    if (f[0] === 'issue' && f[2] === 'append') ops.push({ id: +f[1], kind: 'append', first: +f[3], last: +f[4], term: +f[5] });
    else if (f[0] === 'issue' && f[2] === 'vote') ops.push({ id: +f[1], kind: 'vote', term: +f[3] });
    else if (f[0] === 'ack') {
      // Promises resolve in call order: each ack is for the oldest call not yet acknowledged.
      expect(+f[1]).toBe(ops[acked].id);
      acked++;
    }
  }
  return { ops, acked };
}

/** Log as terms by index (terms[i] is the term of index i + 1), plus the hard state. */
interface Model {
  terms: number[];
  hardState: HardState;
}

function applyOp(model: Model, op: Op): void {
  if (op.kind === 'vote') {
    model.hardState = { term: op.term, votedFor: `c${op.term}` };
    return;
  }
  model.terms.length = op.first - 1;
  for (let i = op.first; i <= op.last; i++) model.terms.push(op.term);
}

function sameState(model: Model, terms: readonly number[], hardState: HardState): boolean {
  if (model.hardState.term !== hardState.term || model.hardState.votedFor !== hardState.votedFor) return false;
  if (model.terms.length !== terms.length) return false;
  for (let i = 0; i < terms.length; i++) if (model.terms[i] !== terms[i]) return false;
  return true;
}

describe('FileStorage crash recovery with real processes', () => {
  test('SIGKILL at random points never loses an acknowledged write (seeded)', async () => {
    const seed = 20240611;
    const random = seededRandom(seed);
    const dir = dirs.make();
    const kills = 8;
    const deadline = Date.now() + 20_000; // under load, stop early (after at least 3 kills) to bound the time
    let model: Model = { terms: [], hardState: { term: 0, votedFor: null } };
    let totalAcked = 0;
    for (let round = 1; round <= kills && (round <= 3 || Date.now() < deadline); round++) {
      const started = Date.now();
      const child = startChild('append', dir, seed + round);
      if (random() < 0.25) {
        // Sometimes kill during startup, possibly in the middle of recovery.
        await Promise.race([sleep(random() * 800), child.exited]);
      } else {
        await child.ready;
        await sleep(20 + random() * 300);
      }
      await killChild(child.process);
      const { ops, acked } = parseReport(child.lines);
      totalAcked += acked;

      // The parent opens the directory: the dead child's lock is stale and is broken.
      const storage = await FileStorage.open(dir);
      try {
        const { hardState, entries } = await storage.load();
        const damaged = entries.findIndex((e, i) => e.index !== i + 1 || !Buffer.from(payload(e.index, e.term)).equals(e.data));
        expect(damaged).toBe(-1);
        const terms = entries.map((e) => e.term);
        // Durable state = the acknowledged calls, plus possibly a prefix of the calls in flight.
        const candidate: Model = { terms: model.terms.slice(), hardState: model.hardState };
        for (let i = 0; i < acked; i++) applyOp(candidate, ops[i]);
        let matched = sameState(candidate, terms, hardState);
        for (let i = acked; i < ops.length && !matched; i++) {
          applyOp(candidate, ops[i]);
          matched = sameState(candidate, terms, hardState);
        }
        if (!matched) {
          throw new Error(
            `round ${round}: recovered state (${terms.length} entries, term ${hardState.term}) is not the acknowledged ` +
              `state plus a prefix of the ${ops.length - acked} calls in flight; child stderr: ${child.stderr}`,
          );
        }
        expect(hardState.term).toBeGreaterThanOrEqual(terms.length ? terms[terms.length - 1] : 0);
        model = { terms, hardState };
        if (process.env.CRASH_TEST_VERBOSE) {
          console.log(`round ${round}: ${acked}/${ops.length} acked, ${terms.length} entries, torn ${!!storage.recovery.tornTail}, ${Date.now() - started} ms`);
        }
      } finally {
        await storage.close();
      }
    }
    expect(totalAcked).toBeGreaterThan(100);
    expect(model.terms.length).toBeGreaterThan(100);
    // Whether a kill tore a write depends on timing; CRASH_TEST_VERBOSE=1 shows it per round.
  });
});

/** Helpers for hand-made damage: write a log in-process, then edit its files. */
async function writeLog(dir: string, appends: number, options: { together?: number; maxSegmentBytes?: number } = {}): Promise<void> {
  const storage = await FileStorage.open(dir, { maxSegmentBytes: options.maxSegmentBytes });
  await storage.saveHardState({ term: 1, votedFor: 'c1' });
  for (let i = 1; i <= appends; i++) await storage.append([makeEntry(i, 1)]);
  // `together` more appends in one turn: one write(2) holding several records.
  const together = options.together ?? 0;
  await Promise.all(Array.from({ length: together }, (_, k) => storage.append([makeEntry(appends + k + 1, 1)])));
  await storage.close();
}

function segments(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(dir, n));
}

function records(file: string): ScannedRecord[] {
  const scan = scanRecords(fs.readFileSync(file), FILE_HEADER_BYTES);
  expect(scan.bad).toBeNull();
  return scan.records;
}

async function loadIndexes(dir: string): Promise<{ indexes: number[]; storage: FileStorage }> {
  const storage = await FileStorage.open(dir);
  const { entries } = await storage.load();
  return { indexes: entries.map((e) => e.index), storage };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function expectCorrupt(dir: string, file: string, offset: number): Promise<void> {
  const before = segments(dir).map((f) => fs.readFileSync(f));
  const error = await FileStorage.open(dir).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CorruptLogError);
  const corrupt = error as CorruptLogError;
  expect(corrupt.file).toBe(file);
  expect(corrupt.offset).toBe(offset);
  expect(corrupt.message).toContain(file);
  expect(corrupt.message).toContain(`offset ${offset}`);
  // Refusing changes nothing on disk.
  expect(segments(dir).map((f) => fs.readFileSync(f))).toEqual(before);
  // ...and releases the lock: a second attempt fails the same way, not with DirectoryLockedError.
  await expect(FileStorage.open(dir)).rejects.toBeInstanceOf(CorruptLogError);
}

describe('FileStorage recovery of hand-made damage', () => {
  test('a last record cut mid-way (in its header or its payload) is a torn tail and is cut away', async () => {
    for (const cut of [5, 30]) {
      const dir = dirs.make();
      await writeLog(dir, 10);
      const [file] = segments(dir);
      const last = records(file)[9];
      fs.truncateSync(file, last.offset + cut);
      const { indexes, storage } = await loadIndexes(dir);
      expect(indexes).toEqual(range(1, 9));
      expect(storage.recovery.tornTail).toMatchObject({ file, offset: last.offset, bytes: cut });
      expect(fs.statSync(file).size).toBe(last.offset);
      // The log continues cleanly after recovery.
      await storage.append([makeEntry(10, 2)]);
      await storage.close();
      const again = await loadIndexes(dir);
      expect(again.indexes).toEqual(range(1, 10));
      expect(again.storage.recovery.tornTail).toBeNull();
      await again.storage.close();
    }
  });

  test('garbage or zeros after the last record are a torn tail', async () => {
    const random = seededRandom(7);
    for (const tail of [Buffer.from(Array.from({ length: 300 }, () => Math.floor(random() * 256))), Buffer.alloc(4096)]) {
      const dir = dirs.make();
      await writeLog(dir, 10);
      const [file] = segments(dir);
      const size = fs.statSync(file).size;
      fs.appendFileSync(file, tail);
      const { indexes, storage } = await loadIndexes(dir);
      expect(indexes).toEqual(range(1, 10));
      expect(storage.recovery.tornTail).toMatchObject({ file, offset: size, bytes: tail.length });
      await storage.close();
    }
  });

  test('a last write that reached the disk out of order (a hole, then later records of the same write) is a torn tail', async () => {
    const dir = dirs.make();
    await writeLog(dir, 5, { together: 5 }); // records 6..10 are one write
    const [file] = segments(dir);
    const recs = records(file);
    expect(new Set(recs.slice(5).map((r) => r.write)).size).toBe(1);
    const hole = recs[6]; // index 7 lost, 8..10 present
    const bytes = fs.readFileSync(file);
    bytes.fill(0, hole.offset, hole.offset + 20 + hole.payload.length);
    fs.writeFileSync(file, bytes);
    const { indexes, storage } = await loadIndexes(dir);
    expect(indexes).toEqual(range(1, 6));
    expect(storage.recovery.tornTail).toMatchObject({ file, offset: hole.offset });
    await storage.close();
  });

  test('a flipped byte in an earlier record refuses to start with CorruptLogError naming file and offset', async () => {
    const dir = dirs.make();
    await writeLog(dir, 10);
    const [file] = segments(dir);
    const victim = records(file)[4];
    const bytes = fs.readFileSync(file);
    bytes[victim.offset + 20 + 3] ^= 0x10; // in the payload
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, victim.offset);
  });

  test('a flipped byte in a record length field refuses too', async () => {
    const dir = dirs.make();
    await writeLog(dir, 10);
    const [file] = segments(dir);
    const victim = records(file)[4];
    const bytes = fs.readFileSync(file);
    bytes[victim.offset + 6] ^= 0x01;
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, victim.offset);
  });

  test('a record damaged inside the last write is cut only when nothing of a later write follows it', async () => {
    // Records 6..10 were one write, then record 11 another: damage in 6..10 is not a torn tail.
    const dir = dirs.make();
    await writeLog(dir, 5, { together: 5 });
    const storage = await FileStorage.open(dir);
    await storage.append([makeEntry(11, 1)]);
    await storage.close();
    const [file] = segments(dir);
    const victim = records(file)[7];
    const bytes = fs.readFileSync(file);
    bytes[victim.offset + 25] ^= 0xff;
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, victim.offset);
  });

  test('damage in an older segment refuses to start', async () => {
    const dir = dirs.make();
    await writeLog(dir, 24, { maxSegmentBytes: 1024 });
    const files = segments(dir);
    expect(files.length).toBeGreaterThan(2);
    const victim = records(files[1])[0];
    const bytes = fs.readFileSync(files[1]);
    bytes[victim.offset + 21] ^= 0x04;
    fs.writeFileSync(files[1], bytes);
    await expectCorrupt(dir, files[1], victim.offset);
  });

  test('a truncated (not last) segment refuses to start', async () => {
    const dir = dirs.make();
    await writeLog(dir, 24, { maxSegmentBytes: 1024 });
    const files = segments(dir);
    const last = records(files[0]).pop()!;
    fs.truncateSync(files[0], last.offset + 3);
    await expectCorrupt(dir, files[0], last.offset);
  });

  test('a missing segment refuses to start', async () => {
    const dir = dirs.make();
    await writeLog(dir, 24, { maxSegmentBytes: 1024 });
    const files = segments(dir);
    fs.unlinkSync(files[1]);
    await expect(FileStorage.open(dir)).rejects.toThrow(new RegExp(`segment missing`));
    await expect(FileStorage.open(dir)).rejects.toBeInstanceOf(CorruptLogError);
  });

  test('a segment whose creation was torn (partial header, nothing after) is started again', async () => {
    const dir = dirs.make();
    await writeLog(dir, 24, { maxSegmentBytes: 1024 });
    const files = segments(dir);
    const next = path.join(dir, `${String(files.length + 1).padStart(16, '0')}.wal`);
    fs.writeFileSync(next, Buffer.from('RXRA'));
    const { indexes, storage } = await loadIndexes(dir);
    expect(indexes).toEqual(range(1, 24));
    expect(storage.recovery.tornTail).toMatchObject({ file: next, offset: 0, bytes: 4 });
    await storage.append([makeEntry(25, 1)]);
    await storage.close();
    const again = await loadIndexes(dir);
    expect(again.indexes).toEqual(range(1, 25));
    await again.storage.close();
  });

  test('a damaged hard-state file refuses to start with CorruptLogError naming it', async () => {
    const dir = dirs.make();
    await writeLog(dir, 3);
    const file = path.join(dir, 'hardstate');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x20;
    fs.writeFileSync(file, bytes);
    const error = await FileStorage.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as CorruptLogError).file).toBe(file);
    expect((error as CorruptLogError).message).toContain(file);
  });
});

describe('FileStorage directory lock', () => {
  test('a second open of a locked directory fails with DirectoryLockedError, in another process and in this one', async () => {
    const dir = dirs.make();
    const holder = startChild('hold', dir);
    await holder.ready;
    const error = await FileStorage.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirectoryLockedError);
    expect((error as DirectoryLockedError).holderPid).toBe(holder.process.pid);

    // Once the holder is killed, its lock is stale and is broken by the next open.
    await killChild(holder.process);
    const storage = await FileStorage.open(dir);
    const second = await FileStorage.open(dir).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DirectoryLockedError);
    expect((second as DirectoryLockedError).holderPid).toBe(process.pid);
    await storage.close();
    const third = await FileStorage.open(dir);
    await third.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  test('a lock file with unreadable content (power loss while it was created) counts as stale', async () => {
    const dir = dirs.make();
    fs.writeFileSync(path.join(dir, 'LOCK'), '');
    const storage = await FileStorage.open(dir);
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await storage.close();
  });
});
