import * as fs from 'fs';
import * as path from 'path';
import { SharedLog, SharedLogOptions } from '../../src/storage/sharedLog';
import { SharedLogStorage } from '../../src/storage/sharedLogStorage';
import { chunk, entries, plain, readBack, snapshotMeta, takeSnapshot } from './conformance';
import { FaultyFileSystem } from './faultyFileSystem';
import { deletedSegmentDescriptors, segmentDescriptors } from './openDescriptors';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-swal-');
const ids = (n: number) => Array.from({ length: n }, (_, i) => `g${i + 1}`);

describe('SharedLog: one write-ahead log for a host of groups', () => {
  let dataDir: string;
  let faulty: FaultyFileSystem;
  let log: SharedLog | null = null;
  let views = new Map<string, SharedLogStorage>();

  /** Closes what is open and opens the log again on `dataDir` (a restart), then the given groups. */
  const restart = async (groups: readonly string[], options: SharedLogOptions = {}) => {
    await closeAll();
    faulty = new FaultyFileSystem();
    log = await SharedLog.open(dataDir, { fs: faulty, ...options });
    for (const g of groups) views.set(g, await SharedLogStorage.open(log, g));
    return log;
  };
  const closeAll = async () => {
    for (const v of views.values()) await v.close();
    views = new Map();
    if (log) await log.close();
    log = null;
  };
  const view = (g: string) => views.get(g)!;
  const segmentFiles = () => fs.readdirSync(path.join(dataDir, 'wal')).filter((n) => n.endsWith('.wal')).sort();
  const lastSegment = () => path.join(dataDir, 'wal', segmentFiles()[segmentFiles().length - 1]);

  beforeEach(() => {
    dataDir = dirs.make();
  });
  afterEach(async () => {
    await closeAll();
    dirs.removeAll();
  });

  test('20 groups appending in one turn share one write and one fdatasync; every promise resolves only after it', async () => {
    const groups = ids(20);
    const l = await restart(groups);
    const before = l.stats();
    const datasyncs = faulty.counts.datasync;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let syncing!: () => void;
    const syncStarted = new Promise<void>((resolve) => (syncing = resolve));
    faulty.beforeDatasync = () => {
      syncing();
      return held;
    };
    const resolved: string[] = [];
    const calls = groups.map((g, i) => view(g).append(entries(1, 1 + (i % 3), 1, 100)).then(() => void resolved.push(g)));
    calls.push(view('g7').saveHardState({ term: 1, votedFor: 'h1' }).then(() => void resolved.push('g7 vote')));
    await syncStarted;
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // the sync is in flight: nothing may resolve
    expect(resolved).toEqual([]);
    faulty.beforeDatasync = null;
    release();
    await Promise.all(calls);
    expect(resolved).toEqual([...groups, 'g7 vote']);
    expect(l.stats().writes - before.writes).toBe(1);
    expect(l.stats().fsyncs - before.fsyncs).toBe(1);
    expect(faulty.counts.datasync - datasyncs).toBe(1);
    // And every group got its own entries back.
    await restart(groups);
    for (const [i, g] of groups.entries()) expect(plain((await view(g).load()).entries)).toEqual(plain(entries(1, 1 + (i % 3), 1, 100)));
    expect((await view('g7').load()).hardState).toEqual({ term: 1, votedFor: 'h1' });
  });

  test("a snapshot's chunk sync holds up only its own group: other groups' writes go on, its later calls wait in order", async () => {
    await restart(['snap', 'other']);
    await view('snap').append(entries(1, 4, 1));
    const writer = view('snap').createSnapshot(snapshotMeta(4, 1));
    await writer.write(chunk(1000, 1));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    faulty.beforeDatasync = () => {
      if (!first) return undefined;
      first = false; // the first datasync from here on is the snapshot's chunks'
      return held;
    };
    const done: string[] = [];
    const commit = writer.commit({ compactUpTo: 4, discardLog: false }).then(() => void done.push('commit'));
    const after = view('snap').append(entries(5, 5, 1)).then(() => void done.push('snap append'));
    await view('other').append(entries(1, 3, 1)); // resolves while the chunk sync is held
    await view('other').saveHardState({ term: 2, votedFor: 'h2' });
    expect(done).toEqual([]);
    release();
    await Promise.all([commit, after]);
    expect(done).toEqual(['commit', 'snap append']);
    await restart(['snap']);
    const loaded = await view('snap').load();
    expect(loaded.snapshot).toEqual(snapshotMeta(4, 1));
    expect(plain(loaded.entries)).toEqual(plain(entries(5, 5, 1)));
  });

  test('a restart brings back every group: hard state, entries and snapshot; a torn last record is dropped without damage', async () => {
    const groups = ids(5);
    await restart(groups);
    for (const [i, g] of groups.entries()) {
      await view(g).saveHardState({ term: i + 2, votedFor: `h${i}` });
      await view(g).append(entries(1, 10 + i, i + 2, 40));
    }
    await takeSnapshot(view('g2'), snapshotMeta(6, 3), [chunk(500, 2)], { compactUpTo: 6 });
    await view('g2').append(entries(12, 12, 3, 40));
    await closeAll();
    // A crash in the middle of a write: a partial record at the end of the last segment.
    const size = fs.statSync(lastSegment()).size;
    fs.appendFileSync(lastSegment(), Buffer.from([0x12, 0x34, 0x56, 0x78, 0, 0, 1, 0, 6, 1]));
    const l = await restart(groups);
    expect(l.recovery.tornTail).toMatchObject({ offset: size, bytes: 10, complete: false });
    expect(fs.statSync(lastSegment()).size).toBe(size);
    for (const [i, g] of groups.entries()) {
      const loaded = await view(g).load();
      expect(loaded.hardState).toEqual({ term: i + 2, votedFor: `h${i}` });
      expect(loaded.damage ?? null).toBeNull();
      if (g === 'g2') continue;
      expect(plain(loaded.entries)).toEqual(plain(entries(1, 10 + i, i + 2, 40)));
    }
    const g2 = await view('g2').load();
    expect(g2.snapshot).toEqual(snapshotMeta(6, 3));
    expect(plain(g2.entries)).toEqual(plain([...entries(7, 11, 3, 40), ...entries(12, 12, 3, 40)]));
    expect(await readBack(view('g2'))).toEqual({ meta: snapshotMeta(6, 3), chunks: [Buffer.from(chunk(500, 2)).toString('base64')] });
  });

  test('a complete last record that fails its checksum is cut and reported as damage by every group, until each clears it', async () => {
    await restart(['a', 'b']);
    await view('a').append(entries(1, 3, 1));
    await view('b').append(entries(1, 2, 1));
    await view('a').append(entries(4, 4, 1));
    await closeAll();
    const file = lastSegment();
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 2] ^= 0xff; // inside the last record's payload: full length, bad checksum
    fs.writeFileSync(file, bytes);
    await restart(['a', 'b']);
    const a = await view('a').load();
    expect(plain(a.entries)).toEqual(plain(entries(1, 3, 1)));
    expect(a.damage?.truncatedTail?.from).toBe(4);
    expect((await view('b').load()).damage?.truncatedTail?.from).toBe(3);
    await view('a').clearDamage();
    await restart(['a', 'b']); // the damage survives a restart until cleared
    expect((await view('a').load()).damage ?? null).toBeNull();
    expect((await view('b').load()).damage?.truncatedTail?.from).toBe(3);
  });

  test('a group with a snapshot but no hard state in the log (the log was lost) reports hardStateMissing, its term from the snapshot', async () => {
    await restart(['s', 'plain']);
    await view('s').saveHardState({ term: 5, votedFor: 'h1' });
    await view('s').append(entries(1, 6, 5));
    await takeSnapshot(view('s'), snapshotMeta(6, 5), [chunk(10, 1)]);
    await view('plain').append(entries(1, 2, 1));
    await closeAll();
    fs.rmSync(path.join(dataDir, 'wal'), { recursive: true });
    await restart(['s', 'plain']);
    const s = await view('s').load();
    expect(s.damage).toEqual({ hardStateMissing: true, truncatedTail: null });
    expect(s.hardState).toEqual({ term: 5, votedFor: null });
    expect(s.snapshot).toEqual(snapshotMeta(6, 5));
    expect((await view('plain').load()).damage ?? null).toBeNull(); // nothing shows it had state
    await restart(['s']); // recorded: reported again until cleared
    expect((await view('s').load()).damage).toEqual({ hardStateMissing: true, truncatedTail: null });
  });

  test('truncation and compaction are per group: one group cutting its tail or compacting leaves the others alone', async () => {
    await restart(['x', 'y']);
    await Promise.all([view('x').append(entries(1, 10, 1)), view('y').append(entries(1, 10, 1))]);
    await Promise.all([view('x').append(entries(6, 7, 2)), view('y').append(entries(11, 12, 1))]);
    await takeSnapshot(view('y'), snapshotMeta(8, 1), [chunk(10, 1)], { compactUpTo: 8 });
    await takeSnapshot(view('x'), snapshotMeta(7, 2), [chunk(10, 2)], { compactUpTo: 7, discardLog: true });
    await view('x').append(entries(8, 8, 2));
    await restart(['x', 'y']);
    const x = await view('x').load();
    expect(x.snapshot).toEqual(snapshotMeta(7, 2));
    expect(plain(x.entries)).toEqual(plain(entries(8, 8, 2)));
    const y = await view('y').load();
    expect(y.snapshot).toEqual(snapshotMeta(8, 1));
    expect(plain(y.entries)).toEqual(plain([...entries(9, 10, 1), ...entries(11, 12, 1)]));
    // A group closed and opened again on the same log (a node stopped, then its group created again).
    await view('y').close();
    views.set('y', await SharedLogStorage.open(log!, 'y'));
    expect(plain((await view('y').load()).entries)).toEqual(plain([...entries(9, 10, 1), ...entries(11, 12, 1)]));
    expect((await view('y').load()).snapshot).toEqual(snapshotMeta(8, 1));
  });

  test('a group removed after a restart without being opened, then created again, starts empty', async () => {
    await restart(['z']);
    await view('z').saveHardState({ term: 3, votedFor: 'h1' });
    await view('z').append(entries(1, 5, 3));
    await takeSnapshot(view('z'), snapshotMeta(4, 3), [chunk(10, 1)]);
    const l = await restart([]);
    fs.rmSync(path.join(dataDir, 'groups', 'z'), { recursive: true }); // as groupStorage does around removeGroup
    await l.removeGroup('z');
    views.set('z', await SharedLogStorage.open(l, 'z'));
    expect(await view('z').load()).toMatchObject({ hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] });
    expect(view('z').readSnapshot()).toBeNull();
  });

  test('segments are deleted once dead; a removed group does not come back, its snapshots are gone', async () => {
    const options = { maxSegmentBytes: 4096 };
    let l = await restart(['busy', 'gone'], options);
    await view('gone').saveHardState({ term: 4, votedFor: 'h2' });
    let next = 1;
    for (let round = 0; round < 30; round++, next += 4) {
      // The two groups' records share every segment.
      await Promise.all([view('busy').append(entries(next, next + 3, 1, 200)), view('gone').append(entries(round + 1, round + 1, 4, 100))]);
    }
    await takeSnapshot(view('gone'), snapshotMeta(20, 4), [chunk(64, 1)], { compactUpTo: 10 });
    expect(segmentFiles().length).toBeGreaterThan(3);
    await view('gone').close();
    views.delete('gone');
    await l.removeGroup('gone');
    fs.rmSync(path.join(dataDir, 'groups', 'gone'), { recursive: true });
    // Its records are still in the segments, dead: a restart does not bring them back.
    l = await restart(['busy', 'gone'], options);
    expect(await view('gone').load()).toMatchObject({ hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] });
    await view('gone').close();
    views.delete('gone');
    // busy compacts everything it wrote: no segment before the current one is needed by anyone.
    await takeSnapshot(view('busy'), snapshotMeta(next - 1, 1), [chunk(16, 3)]);
    await view('busy').append(entries(next, next, 1, 200)); // a write after the compaction frees what died
    expect(segmentFiles().length).toBeLessThanOrEqual(2);
    expect(l.stats().freedSegments).toBeGreaterThan(0);
    l = await restart(['busy', 'gone'], options);
    const gone = await view('gone').load();
    expect(gone).toMatchObject({ hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] });
    expect(plain((await view('busy').load()).entries)).toEqual(plain(entries(next, next, 1, 200)));
  });

  test('an idle group pinning the oldest segment has its small live records rewritten so the segment is freed', async () => {
    const options = { maxSegmentBytes: 4096 };
    let l = await restart(['idle', 'busy'], options);
    await view('idle').saveHardState({ term: 9, votedFor: 'h3' });
    await view('idle').append(entries(1, 3, 9, 50));
    let next = 1;
    for (let round = 0; round < 60; round++, next += 4) {
      await view('busy').append(entries(next, next + 3, 1, 200));
      if (round % 10 === 9) await takeSnapshot(view('busy'), snapshotMeta(next + 3, 1), [], { compactUpTo: next + 3 });
    }
    // About 15 segments were written; the idle group's records moved forward instead of pinning the first.
    expect(l.stats().rewrites).toBeGreaterThan(0);
    expect(l.stats().freedSegments).toBeGreaterThan(8);
    expect(segmentFiles().length).toBeLessThanOrEqual(4);
    expect(segmentFiles()[0]).not.toBe('0000000000000001.wal');
    expect(plain(await view('idle').readEntries(1, 4, 1 << 20))).toEqual(plain(entries(1, 3, 9, 50))); // read where they moved
    l = await restart(['idle', 'busy'], options);
    const idle = await view('idle').load();
    expect(idle.hardState).toEqual({ term: 9, votedFor: 'h3' });
    expect(plain(idle.entries)).toEqual(plain(entries(1, 3, 9, 50)));
    await view('idle').append(entries(4, 4, 9, 50)); // and it continues where it was
    await restart(['idle'], options);
    expect(plain((await view('idle').load()).entries)).toEqual(plain(entries(1, 4, 9, 50)));
  });

  test('a rewritten tail whose truncation lies in a later segment recovers whole (replay order across freed segments)', async () => {
    const options = { maxSegmentBytes: 4096 };
    let l = await restart(['quiet', 'busy'], options);
    await view('quiet').append(entries(1, 10, 1, 20)); // segment 1
    let next = 1;
    for (let round = 0; round < 8; round++, next += 4) await view('busy').append(entries(next, next + 3, 1, 200));
    const before = next - 1;
    await view('quiet').append(entries(5, 8, 2, 20)); // a later segment: cuts 5..10, keeps 1..4 in segment 1
    for (let round = 0; round < 4; round++, next += 4) await view('busy').append(entries(next, next + 3, 1, 200));
    // busy compacts what it wrote before quiet's truncation: segment 1 is pinned only by quiet's 1..4, rewritten forward;
    // the segment holding quiet's truncation stays (busy's later entries pin it).
    await takeSnapshot(view('busy'), snapshotMeta(before, 1), [], { compactUpTo: before });
    await l.barrier(); // segments are freed after the flush that compacted
    expect(l.stats().rewrites).toBeGreaterThan(0);
    expect(segmentFiles()[0]).not.toBe('0000000000000001.wal');
    const expected = plain([...entries(1, 4, 1, 20), ...entries(5, 8, 2, 20)]);
    expect(plain((await view('quiet').load()).entries)).toEqual(expected);
    expect(plain(await view('quiet').readEntries(1, 9, 1 << 20))).toEqual(expected);
    l = await restart(['quiet', 'busy'], options);
    expect(plain((await view('quiet').load()).entries)).toEqual(expected);
    expect(plain(await view('quiet').readEntries(3, 7, 1 << 20))).toEqual(expected.slice(2, 6)); // indexed by the recovery scan
    expect(plain((await view('busy').load()).entries)).toEqual(plain(entries(before + 1, next - 1, 1, 200)));
  });

  test('segments kept open for reads are closed before they are freed, and on close: no descriptor outlives its file or the log', async () => {
    const options = { maxSegmentBytes: 4096 };
    const l = await restart(['busy'], options);
    let next = 1;
    for (let round = 0; round < 20; round++, next += 4) await view('busy').append(entries(next, next + 3, 1, 200));
    expect(segmentFiles().length).toBeGreaterThan(4);
    for (let from = 1; from < next; from += 8) expect(plain(await view('busy').readEntries(from, from + 8, 1 << 20))).toEqual(plain(entries(from, from + 7, 1, 200)));
    expect(l.readHandleStats().openNow).toBeGreaterThan(0);
    await takeSnapshot(view('busy'), snapshotMeta(next - 1, 1), [], { compactUpTo: next - 1 });
    await view('busy').append(entries(next, next, 1, 200)); // a write after the compaction frees what died
    expect(l.stats().freedSegments).toBeGreaterThan(0);
    const wal = path.join(dataDir, 'wal');
    expect(deletedSegmentDescriptors(wal)).toBe(0);
    await closeAll();
    expect(segmentDescriptors(wal)).toBe(0);
  });

  test('reading entries back reads only the records holding them, not the segments around them', async () => {
    await restart(['a', 'b']);
    for (let i = 0; i < 50; i++) {
      await view('a').append(entries(i * 4 + 1, i * 4 + 4, 1, 500)); // ~2 KB records, interleaved with b's
      await view('b').append(entries(i * 4 + 1, i * 4 + 4, 1, 500));
    }
    const reads: number[] = [];
    const open = faulty.open.bind(faulty);
    faulty.open = async (file, flags, mode) => {
      const handle = await open(file, flags, mode);
      return { ...handle, read: (buffer, offset, length, position) => (reads.push(length), handle.read(buffer, offset, length, position)), close: () => handle.close() };
    };
    const readFiles = faulty.counts.readFile;
    expect(plain(await view('a').readEntries(101, 109, 1 << 20))).toEqual(plain(entries(101, 108, 1, 500)));
    expect(plain(await view('b').readEntries(198, 201, 1))).toEqual(plain(entries(198, 198, 1, 500)));
    expect(faulty.counts.readFile).toBe(readFiles);
    // Three records of about 2 KB each (one pread each), out of a segment of about 200 KB.
    expect(fs.statSync(lastSegment()).size).toBeGreaterThan(200_000);
    expect(reads.length).toBe(3);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThan(3 * 2200);
    // The last read stopped inside b's record 197..200: the next one starts there, from memory.
    expect(plain(await view('b').readEntries(199, 201, 1 << 20))).toEqual(plain(entries(199, 200, 1, 500)));
    expect(reads.length).toBe(3);
  });

  test('a group whose live tail exceeds the rewrite budget pins its segments (documented limit), and still recovers', async () => {
    const options = { maxSegmentBytes: 4096, rewriteBudgetBytes: 512 };
    const l = await restart(['big', 'busy'], options);
    await view('big').append(entries(1, 20, 1, 100)); // ~2.4 KB, never compacted
    let next = 1;
    for (let round = 0; round < 30; round++, next += 4) {
      await view('busy').append(entries(next, next + 3, 1, 200));
      if (round % 10 === 9) await takeSnapshot(view('busy'), snapshotMeta(next + 3, 1), [], { compactUpTo: next + 3 });
    }
    expect(segmentFiles()[0]).toBe('0000000000000001.wal');
    expect(l.stats().rewrites).toBe(0);
    await restart(['big'], options);
    expect(plain((await view('big').load()).entries)).toEqual(plain(entries(1, 20, 1, 100)));
  });

  test('a removal a crash interrupted (its directory left in removing/) is finished at open', async () => {
    await restart(['r']);
    await view('r').append(entries(1, 5, 1));
    await takeSnapshot(view('r'), snapshotMeta(2, 1), []);
    await closeAll();
    fs.mkdirSync(path.join(dataDir, 'removing'), { recursive: true });
    fs.renameSync(path.join(dataDir, 'groups', 'r'), path.join(dataDir, 'removing', 'r'));
    await restart(['r']);
    expect(fs.existsSync(path.join(dataDir, 'removing', 'r'))).toBe(false);
    expect(await view('r').load()).toMatchObject({ snapshot: null, entries: [], hardState: { term: 0, votedFor: null } });
  });

  test('a shared log refuses to open beside a per-group FileStorage (its state would be ignored)', async () => {
    fs.mkdirSync(path.join(dataDir, 'groups', 'old'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'groups', 'old', 'hardstate'), 'x');
    await expect(SharedLog.open(dataDir)).rejects.toThrow(/per-group FileStorage/);
  });

  test('one view per group at a time; a second open of the same group is refused', async () => {
    const l = await restart(['one']);
    await expect(SharedLogStorage.open(l, 'one')).rejects.toThrow(/already open/);
    await expect(SharedLogStorage.open(l, 'bad id!')).rejects.toThrow(/group id/);
  });
});

afterAll(() => dirs.removeAll());
