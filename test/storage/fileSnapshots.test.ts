import * as fs from 'fs';
import * as path from 'path';
import { StorageFailedError } from '../../src/errors';
import { decodeEntries } from '../../src/messages/entryCodec';
import { CorruptLogError, NonContiguousAppendError, SnapshotInProgressError, SnapshotReplacedError } from '../../src/storage/fileErrors';
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES, scanRecords } from '../../src/storage/fileRecordFraming';
import { FileStorage, FileStorageOptions } from '../../src/storage/fileStorage';
import { bytes, chunk, entries, entriesAfter, plain, readBack, snapshotMeta, takeSnapshot } from './conformance';
import { FaultyFileSystem } from './faultyFileSystem';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-snap-');
afterAll(() => dirs.removeAll());

const SEGMENT = 1024;

/** Names in `dir` of one kind, sorted. */
function names(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith(suffix)).sort();
}

/** Each segment with the lowest and highest entry index it holds. */
function segmentRanges(dir: string): { name: string; min: number; max: number }[] {
  return names(dir, '.wal').map((name) => {
    const scan = scanRecords(fs.readFileSync(path.join(dir, name)), FILE_HEADER_BYTES);
    expect(scan.bad).toBeNull();
    const indexes = scan.records.flatMap((r) => decodeEntries(r.payload).map((e) => e.index));
    return { name, min: Math.min(...indexes), max: Math.max(...indexes, 0) };
  });
}

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) if (name !== 'LOCK') fs.copyFileSync(path.join(from, name), path.join(to, name));
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, n) => sum + fs.statSync(path.join(dir, n)).size, 0);
}

describe('FileStorage snapshots', () => {
  let dir: string;
  let faulty: FaultyFileSystem;
  let storage: FileStorage | null;

  const reopen = async (options: FileStorageOptions = {}) => {
    faulty?.heal();
    if (storage) await storage.close().catch(() => undefined);
    storage = null;
    faulty = new FaultyFileSystem();
    storage = await FileStorage.open(dir, { fs: faulty, maxSegmentBytes: SEGMENT, ...options });
    return storage;
  };

  beforeEach(() => {
    dir = dirs.make();
    storage = null;
  });

  afterEach(async () => {
    if (storage) await storage.close().catch(() => undefined);
    dirs.removeAll();
  });

  describe('files', () => {
    test('a snapshot is written to a temp file, renamed at commit; the previous snapshot file is deleted', async () => {
      const s = await reopen();
      await s.append(entries(1, 10, 1));
      await takeSnapshot(s, snapshotMeta(4, 1), [chunk(10, 1)]);
      expect(names(dir, '.snap')).toEqual(['snapshot-0000000000000001.snap']);
      const writer = s.createSnapshot(snapshotMeta(8, 1));
      await writer.write(chunk(10, 2));
      expect(names(dir, '.tmp')).toEqual(['snapshot-0000000000000002.snap.tmp']);
      await writer.commit({ compactUpTo: 8, discardLog: false });
      expect(names(dir, '.tmp')).toEqual([]);
      expect(names(dir, '.snap')).toEqual(['snapshot-0000000000000002.snap']);
    });

    test('abort deletes the temp file; close aborts a writer still open', async () => {
      const s = await reopen();
      const a = s.createSnapshot(snapshotMeta(0, 0));
      await a.write(chunk(100, 1));
      await a.abort();
      expect(names(dir, '.tmp')).toEqual([]);
      const b = s.createSnapshot(snapshotMeta(0, 0));
      await b.write(chunk(100, 2));
      expect(names(dir, '.tmp')).toHaveLength(1);
      await s.close();
      storage = null;
      expect(names(dir, '.tmp')).toEqual([]);
      await expect(b.write(chunk(1, 3))).rejects.toBeInstanceOf(StorageFailedError);
    });

    test('createSnapshot while another writer is open throws SnapshotInProgressError', async () => {
      const s = await reopen();
      s.createSnapshot(snapshotMeta(0, 0));
      expect(() => s.createSnapshot(snapshotMeta(0, 0))).toThrow(SnapshotInProgressError);
    });

    test('compaction deletes the oldest segments wholly at or below the compaction point, and only those', async () => {
      const s = await reopen();
      for (let i = 1; i <= 90; i += 3) await s.append(entries(i, i + 2, 1, 40));
      const before = segmentRanges(dir);
      expect(before.length).toBeGreaterThan(5);
      const compactUpTo = 40;
      await takeSnapshot(s, snapshotMeta(40, 1), [chunk(10, 1)], { compactUpTo });
      const after = segmentRanges(dir);
      const deleted = before.filter((b) => !after.some((a) => a.name === b.name));
      expect(deleted.length).toBeGreaterThan(0);
      for (const d of deleted) expect(d.max).toBeLessThanOrEqual(compactUpTo);
      expect(after[0].max).toBeGreaterThan(compactUpTo);
      expect(after.map((a) => a.name)).toEqual(before.slice(deleted.length).map((b) => b.name));
      const again = await reopen();
      expect(plain((await again.load()).entries)).toEqual(plain(entries(41, 90, 1, 40)));
    });

    test('after discardLog the old segments go, the log continues in a fresh one', async () => {
      const s = await reopen();
      for (let i = 1; i <= 30; i += 3) await s.append(entries(i, i + 2, 1, 40));
      const old = names(dir, '.wal');
      await takeSnapshot(s, snapshotMeta(20, 2), [chunk(10, 1)], { discardLog: true });
      const left = names(dir, '.wal');
      expect(left).toHaveLength(1);
      expect(old).not.toContain(left[0]);
      await s.append(entries(21, 22, 2, 40));
      const again = await reopen();
      const loaded = await again.load();
      expect(loaded.snapshot).toEqual(snapshotMeta(20, 2));
      expect(plain(loaded.entries)).toEqual(plain(entries(21, 22, 2, 40)));
    });

    test('an append into the compacted part is refused with NonContiguousAppendError; the storage stays usable', async () => {
      const s = await reopen();
      await s.append(entries(1, 10, 1));
      await takeSnapshot(s, snapshotMeta(8, 1), [], { compactUpTo: 6 });
      await expect(s.append(entries(6, 7, 2))).rejects.toBeInstanceOf(NonContiguousAppendError);
      await expect(s.append(entries(12, 12, 1))).rejects.toBeInstanceOf(NonContiguousAppendError);
      await s.append(entries(7, 8, 2));
      expect(plain((await s.load()).entries)).toEqual(plain(entries(7, 8, 2)));
    });
  });

  describe('reading', () => {
    test('readSnapshot opens the file only on the first pull', async () => {
      const s = await reopen();
      await s.append(entries(1, 2, 1));
      await takeSnapshot(s, snapshotMeta(2, 1), [chunk(10, 1), chunk(20, 2)]);
      const opens = faulty.counts.open;
      const snapshot = s.readSnapshot()!;
      expect(faulty.counts.open).toBe(opens);
      const iterator = snapshot.chunks[Symbol.asyncIterator]();
      expect(faulty.counts.open).toBe(opens);
      const first = await iterator.next();
      expect(faulty.counts.open).toBe(opens + 1);
      expect(bytes(first.value as Uint8Array)).toBe(bytes(chunk(10, 1)));
      await iterator.return!();
    });

    test('a read under way survives a newer snapshot; one not started fails with SnapshotReplacedError', async () => {
      const s = await reopen();
      await s.append(entries(1, 9, 1));
      await takeSnapshot(s, snapshotMeta(3, 1), [chunk(10, 1), chunk(10, 2), chunk(10, 3)]);
      const started = s.readSnapshot()!.chunks[Symbol.asyncIterator]();
      const pending = s.readSnapshot()!;
      expect(bytes((await started.next()).value as Uint8Array)).toBe(bytes(chunk(10, 1)));
      await takeSnapshot(s, snapshotMeta(9, 1), [chunk(10, 9)]);
      expect(bytes((await started.next()).value as Uint8Array)).toBe(bytes(chunk(10, 2)));
      expect(bytes((await started.next()).value as Uint8Array)).toBe(bytes(chunk(10, 3)));
      expect((await started.next()).done).toBe(true);
      await expect(readAll(pending.chunks)).rejects.toBeInstanceOf(SnapshotReplacedError);
      expect((await readBack(s))!.chunks).toEqual([bytes(chunk(10, 9))]);
    });

    test('a chunk damaged on disk after open throws CorruptLogError naming the file and offset', async () => {
      const s = await reopen();
      await s.append(entries(1, 2, 1));
      await takeSnapshot(s, snapshotMeta(2, 1), [chunk(100, 1), chunk(100, 2), chunk(100, 3)]);
      const file = path.join(dir, names(dir, '.snap')[0]);
      const victim = scanRecords(fs.readFileSync(file), FILE_HEADER_BYTES).records[2]; // meta, chunk 1, chunk 2
      flipByte(file, victim.offset + RECORD_HEADER_BYTES + 50);
      const seen: string[] = [];
      const error = await (async () => {
        for await (const c of s.readSnapshot()!.chunks) seen.push(bytes(c));
      })().catch((e: unknown) => e);
      expect(seen).toEqual([bytes(chunk(100, 1))]);
      expect(error).toBeInstanceOf(CorruptLogError);
      expect(error).toMatchObject({ file, offset: victim.offset });
    });

    test('close ends reads in progress', async () => {
      const s = await reopen();
      await s.append(entries(1, 2, 1));
      await takeSnapshot(s, snapshotMeta(2, 1), [chunk(10, 1), chunk(10, 2)]);
      const iterator = s.readSnapshot()!.chunks[Symbol.asyncIterator]();
      await iterator.next();
      await s.close();
      storage = null;
      await expect(iterator.next()).rejects.toBeInstanceOf(StorageFailedError);
      await expect(readAll(s.readSnapshot()!.chunks)).rejects.toBeInstanceOf(StorageFailedError);
    });
  });

  describe('crash states', () => {
    test('a crash before the rename leaves the old snapshot and log; the temp file is removed at open', async () => {
      const s = await reopen();
      for (let i = 1; i <= 60; i += 3) await s.append(entries(i, i + 2, 1, 40));
      await takeSnapshot(s, snapshotMeta(3, 1), [chunk(10, 1)]);
      const segments = names(dir, '.wal');
      faulty.failIf = (op, file) => op === 'rename' && file.endsWith('.snap.tmp');
      await expect(takeSnapshot(s, snapshotMeta(50, 1), [chunk(10, 2)])).rejects.toBeInstanceOf(StorageFailedError);
      expect(names(dir, '.wal')).toEqual(segments); // nothing compacted before the commit point
      // The temp file is cleaned up when it can be; leave one behind as a crash would.
      fs.writeFileSync(path.join(dir, 'snapshot-0000000000000002.snap.tmp'), 'half a snapshot');
      const again = await reopen();
      expect(names(dir, '.tmp')).toEqual([]);
      const loaded = await again.load();
      expect(loaded.snapshot).toEqual(snapshotMeta(3, 1));
      expect(plain(loaded.entries)).toEqual(plain(entries(4, 60, 1, 40)));
      // Sequence numbers move on past the leftover.
      await takeSnapshot(again, snapshotMeta(10, 1), [chunk(10, 3)]);
      expect(names(dir, '.snap')).toEqual(['snapshot-0000000000000003.snap']);
    });

    test('a crash after the rename, before the old snapshot and segments are deleted, recovers the new state and removes them', async () => {
      const s = await reopen();
      for (let i = 1; i <= 60; i += 3) await s.append(entries(i, i + 2, 1, 40));
      await takeSnapshot(s, snapshotMeta(5, 1), [chunk(10, 1)]);
      const segmentsBefore = names(dir, '.wal');
      faulty.failIf = (op) => op === 'unlink';
      await expect(takeSnapshot(s, snapshotMeta(45, 1), [chunk(10, 2)], { compactUpTo: 40 })).rejects.toBeInstanceOf(StorageFailedError);
      expect(names(dir, '.snap')).toHaveLength(2);
      expect(names(dir, '.wal')).toEqual(segmentsBefore);
      const again = await reopen();
      const loaded = await again.load();
      expect(loaded.snapshot).toEqual(snapshotMeta(45, 1));
      expect(plain(loaded.entries)).toEqual(plain(entries(41, 60, 1, 40)));
      expect(names(dir, '.snap')).toEqual(['snapshot-0000000000000002.snap']);
      expect(segmentRanges(dir)[0].max).toBeGreaterThan(40);
    });

    test('a crash after a discardLog rename: the discarded segments are ignored and removed, conflicting entries never come back', async () => {
      const s = await reopen();
      for (let i = 1; i <= 30; i += 3) await s.append(entries(i, i + 2, 1, 40));
      faulty.failIf = (op, file) => op === 'unlink' && file.endsWith('.wal');
      // Entries 11..30 (term 1) conflict with the snapshot (term 2 at index 10).
      await expect(takeSnapshot(s, snapshotMeta(10, 2), [chunk(10, 1)], { discardLog: true })).rejects.toBeInstanceOf(StorageFailedError);
      const again = await reopen();
      const loaded = await again.load();
      expect(loaded.snapshot).toEqual(snapshotMeta(10, 2));
      expect(loaded.entries).toEqual([]);
      expect(names(dir, '.wal')).toHaveLength(1);
      await again.append(entries(11, 12, 2, 40));
      const third = await reopen();
      expect(plain((await third.load()).entries)).toEqual(plain(entries(11, 12, 2, 40)));
    });

    test('a crash part-way through deleting segments (any subset gone) recovers and finishes the deletion', async () => {
      const s = await reopen();
      for (let i = 1; i <= 60; i += 3) await s.append(entries(i, i + 2, 1, 40));
      const copy = dirs.make();
      copyDir(dir, copy);
      await takeSnapshot(s, snapshotMeta(50, 1), [chunk(10, 1)], { compactUpTo: 45 });
      await s.close();
      storage = null;
      const deleted = fs.readdirSync(copy).filter((n) => n.endsWith('.wal') && !fs.existsSync(path.join(dir, n))).sort();
      expect(deleted.length).toBeGreaterThan(2);
      // The deletions of the first and the last doomed segment were lost; the one between was not.
      for (const name of [deleted[0], deleted[deleted.length - 1]]) fs.copyFileSync(path.join(copy, name), path.join(dir, name));
      const again = await reopen();
      expect(plain((await again.load()).entries)).toEqual(plain(entries(46, 60, 1, 40)));
      for (const name of deleted) expect(fs.existsSync(path.join(dir, name))).toBe(false);
    });

    test('a missing segment that still held live entries refuses to start', async () => {
      const s = await reopen();
      for (let i = 1; i <= 60; i += 3) await s.append(entries(i, i + 2, 1, 40));
      await takeSnapshot(s, snapshotMeta(20, 1), [chunk(10, 1)]);
      await s.close();
      storage = null;
      const ranges = segmentRanges(dir);
      const victim = ranges.findIndex((r) => r.min > 25);
      expect(victim).toBeGreaterThan(0);
      expect(victim).toBeLessThan(ranges.length - 1);
      fs.unlinkSync(path.join(dir, ranges[victim].name));
      await expect(FileStorage.open(dir, { maxSegmentBytes: SEGMENT })).rejects.toThrow(/segment missing/);
      await expect(FileStorage.open(dir, { maxSegmentBytes: SEGMENT })).rejects.toBeInstanceOf(CorruptLogError);
    });

    test('a damaged snapshot refuses to start with CorruptLogError naming file and offset; nothing is deleted', async () => {
      const s = await reopen();
      await s.append(entries(1, 10, 1));
      await takeSnapshot(s, snapshotMeta(9, 1), [chunk(100, 1), chunk(100, 2)]);
      await s.close();
      storage = null;
      const file = path.join(dir, names(dir, '.snap')[0]);
      // A leftover older snapshot (its deletion lost) must survive the refusal too.
      const older = path.join(dir, 'snapshot-0000000000000000.snap');
      fs.copyFileSync(file, older);
      const victim = scanRecords(fs.readFileSync(file), FILE_HEADER_BYTES).records[2];
      flipByte(file, victim.offset + RECORD_HEADER_BYTES + 3);
      const before = fs.readdirSync(dir).sort();
      const error = await FileStorage.open(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptLogError);
      expect(error).toMatchObject({ file, offset: victim.offset });
      expect((error as Error).message).toContain(file);
      expect(fs.readdirSync(dir).sort()).toEqual(before);
    });

    test('an incomplete snapshot file under its final name (no end record) refuses to start', async () => {
      const s = await reopen();
      await s.append(entries(1, 3, 1));
      await takeSnapshot(s, snapshotMeta(3, 1), [chunk(100, 1)]);
      await s.close();
      storage = null;
      const file = path.join(dir, names(dir, '.snap')[0]);
      const records = scanRecords(fs.readFileSync(file), FILE_HEADER_BYTES).records;
      const end = records[records.length - 1];
      fs.truncateSync(file, end.offset);
      const error = await FileStorage.open(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptLogError);
      expect(error).toMatchObject({ file, offset: end.offset });
      expect((error as Error).message).toMatch(/end record/);
    });
  });

  test('disk usage stays bounded with periodic snapshots and compaction', async () => {
    const s = await reopen({ maxSegmentBytes: 4096 });
    let written = 0;
    let largest = 0;
    let next = 1;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 3; k++) {
        const batch = entries(next, next + 9, 1, 100);
        written += batch.length * 100;
        await s.append(batch);
        next += 10;
      }
      const last = next - 1;
      await takeSnapshot(s, snapshotMeta(last, 1), [chunk(1000, round), chunk(1000, round + 1)], { compactUpTo: last - 20 });
      largest = Math.max(largest, dirBytes(dir));
    }
    expect(written).toBeGreaterThan(100_000);
    // Live entries: at most 50 of ~140 bytes on disk (~7 KB), in segments of 4 KB, plus a
    // partly compacted segment on each side, the snapshot and the hard state.
    expect(largest).toBeLessThan(8 * 4096);
    const again = await reopen({ maxSegmentBytes: 4096 });
    const loaded = await again.load();
    expect(plain(entriesAfter(loaded, next - 21))).toEqual(plain(entries(next - 20, next - 1, 1, 100)));
  });
});

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

function flipByte(file: string, offset: number): void {
  const data = fs.readFileSync(file);
  data[offset] ^= 0x40;
  fs.writeFileSync(file, data);
}
