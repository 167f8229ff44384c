import * as fs from 'fs';
import * as path from 'path';
import { StorageFailedError } from '../../src/errors';
import { NonContiguousAppendError } from '../../src/storage/fileErrors';
import { UNCOPIED_BLOCK_BYTES } from '../../src/storage/fileLog';
import { FileStorage, FileStorageOptions } from '../../src/storage/fileStorage';
import { describeStorageConformance, entries, plain } from './conformance';
import { FaultyFileSystem } from './faultyFileSystem';
import { fileStorageHarness } from './fileStorageHarness';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-file-');
afterAll(() => dirs.removeAll());

// Small segments, so the suite also crosses segment boundaries.
describeStorageConformance('FileStorage', () => fileStorageHarness(dirs, { maxSegmentBytes: 2048 }));

describe('FileStorage', () => {
  let dir: string;
  let faulty: FaultyFileSystem;
  let storage: FileStorage | null;

  const reopen = async (options: FileStorageOptions = {}) => {
    if (storage) await storage.close();
    faulty = new FaultyFileSystem();
    storage = await FileStorage.open(dir, { fs: faulty, ...options });
    return storage;
  };

  beforeEach(() => {
    dir = dirs.make();
    storage = null;
  });

  afterEach(async () => {
    if (storage) await storage.close();
    dirs.removeAll();
  });

  test('appends called in one turn share one write and one fdatasync', async () => {
    const s = await reopen();
    const writes = faulty.counts.write;
    const syncs = faulty.counts.datasync;
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.append(entries(i + 1, i + 1, 1))));
    expect(faulty.counts.write - writes).toBe(1);
    expect(faulty.counts.datasync - syncs).toBe(1);
    expect((await s.load()).entries.length).toBe(100);
  });

  test('appends arriving while an fsync is in flight are grouped into the next one', async () => {
    const s = await reopen();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inFlight!: () => void;
    const started = new Promise<void>((resolve) => (inFlight = resolve));
    faulty.beforeDatasync = () => {
      faulty.beforeDatasync = null;
      inFlight();
      return held;
    };
    const syncs = faulty.counts.datasync;
    const first = s.append(entries(1, 1, 1));
    await started; // the first write is waiting for its fdatasync
    const later = Array.from({ length: 50 }, (_, i) => s.append(entries(i + 2, i + 2, 1)));
    const order: number[] = [];
    [first, ...later].forEach((p, i) => p.then(() => order.push(i)));
    release();
    await Promise.all([first, ...later]);
    expect(faulty.counts.datasync - syncs).toBe(2);
    expect(order).toEqual(Array.from({ length: 51 }, (_, i) => i));
  });

  test('segments roll at maxSegmentBytes and a truncation reaching into an older segment recovers', async () => {
    let s = await reopen({ maxSegmentBytes: 1024 });
    for (let i = 1; i <= 60; i++) await s.append(entries(i, i, 1, 40));
    const segments = fs.readdirSync(dir).filter((n) => n.endsWith('.wal'));
    expect(segments.length).toBeGreaterThan(3);
    for (const name of segments.slice(0, -1)) expect(fs.statSync(path.join(dir, name)).size).toBeLessThanOrEqual(1024);
    await s.append(entries(10, 12, 2, 40)); // cuts 10..60, written into the newest segment
    s = await reopen({ maxSegmentBytes: 1024 });
    expect(plain((await s.load()).entries)).toEqual(plain([...entries(1, 9, 1, 40), ...entries(10, 12, 2, 40)]));
    expect(s.recovery).toEqual({ segments: segments.length, tornTail: null });
  });

  test('a write larger than a segment gets a segment of its own', async () => {
    let s = await reopen({ maxSegmentBytes: 256 });
    await s.append(entries(1, 1, 1, 10));
    await s.append(entries(2, 3, 1, 1000));
    await s.append(entries(4, 4, 1, 10));
    s = await reopen({ maxSegmentBytes: 256 });
    expect(plain((await s.load()).entries)).toEqual(plain([...entries(1, 1, 1, 10), ...entries(2, 3, 1, 1000), ...entries(4, 4, 1, 10)]));
  });

  test('load() after writes reads the log back from disk', async () => {
    const s = await reopen();
    expect((await s.load()).entries).toEqual([]);
    await s.append(entries(1, 5, 1));
    const pending = s.append(entries(6, 7, 1));
    const loaded = await s.load(); // ordered after the pending append
    await pending;
    expect(plain(loaded.entries)).toEqual(plain(entries(1, 7, 1)));
  });

  test('an append that leaves a gap or is not contiguous rejects with NonContiguousAppendError; storage stays usable', async () => {
    const s = await reopen();
    await s.append(entries(1, 3, 1));
    await expect(s.append(entries(5, 5, 1))).rejects.toBeInstanceOf(NonContiguousAppendError);
    await expect(s.append([...entries(4, 4, 1), ...entries(6, 6, 1)])).rejects.toBeInstanceOf(NonContiguousAppendError);
    await expect(s.append(entries(0, 0, 1))).rejects.toBeInstanceOf(NonContiguousAppendError);
    await s.append(entries(4, 4, 1));
    expect((await s.load()).entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  test('short writes are completed, not mistaken for durable', async () => {
    let s = await reopen();
    faulty.maxWriteBytes = 7;
    await s.append(entries(1, 20, 1, 33));
    s = await reopen();
    expect(plain((await s.load()).entries)).toEqual(plain(entries(1, 20, 1, 33)));
  });

  test.each([
    ['with writev: large blocks go uncopied', true],
    ['without writev: one buffer', false],
  ])('large entries blocks mixed with small ones in one write come back whole after a restart and are served by readEntries (%s)', async (_, vectored) => {
    let s = await reopen();
    faulty.vectored = vectored;
    // Appends made in one turn go out in one write: small, large (over UNCOPIED_BLOCK_BYTES), small, large.
    const batches = [entries(1, 3, 1, 50), entries(4, 4, 1, UNCOPIED_BLOCK_BYTES + 100), entries(5, 6, 1, 10), entries(7, 8, 1, UNCOPIED_BLOCK_BYTES)];
    const writes = faulty.counts.write;
    await Promise.all(batches.map((b) => s.append(b)));
    expect(faulty.counts.write - writes).toBeLessThanOrEqual(2);
    const all = batches.flat();
    expect(plain(await s.readEntries(1, 9, 1 << 20))).toEqual(plain(all));
    s = await reopen();
    faulty.vectored = vectored;
    expect(plain((await s.load()).entries)).toEqual(plain(all));
    await s.append(entries(9, 9, 1, UNCOPIED_BLOCK_BYTES * 2));
    s = await reopen();
    expect(plain((await s.load()).entries)).toEqual(plain([...all, ...entries(9, 9, 1, UNCOPIED_BLOCK_BYTES * 2)]));
  });

  test('short writes of a vectored write are completed', async () => {
    let s = await reopen();
    faulty.maxWriteBytes = 5000;
    const batch = [entries(1, 1, 1, 30), entries(2, 2, 1, UNCOPIED_BLOCK_BYTES + 7), entries(3, 3, 1, 30)];
    await Promise.all(batch.map((b) => s.append(b)));
    s = await reopen();
    expect(plain((await s.load()).entries)).toEqual(plain(batch.flat()));
  });

  test('a failed fdatasync after a successful write fails every later call', async () => {
    const s = await reopen();
    await s.append(entries(1, 1, 1));
    faulty.fail(['datasync']);
    const a = s.append(entries(2, 2, 1));
    const b = s.append(entries(3, 3, 1));
    await expect(a).rejects.toThrow(/injected datasync failure/);
    await expect(b).rejects.toBeInstanceOf(StorageFailedError);
    faulty.heal();
    await expect(s.append(entries(2, 2, 1))).rejects.toBeInstanceOf(StorageFailedError);
    await expect(s.load()).rejects.toBeInstanceOf(StorageFailedError);
  });

  test('a failure while rolling to a new segment is fail-stop too', async () => {
    const s = await reopen({ maxSegmentBytes: 200 });
    await s.append(entries(1, 2, 1, 50));
    faulty.fail(['open']);
    await expect(s.append(entries(3, 4, 1, 50))).rejects.toBeInstanceOf(StorageFailedError);
    faulty.heal();
    await expect(s.append(entries(3, 4, 1, 50))).rejects.toBeInstanceOf(StorageFailedError);
    const again = await reopen({ maxSegmentBytes: 200 });
    expect(plain((await again.load()).entries)).toEqual(plain(entries(1, 2, 1, 50)));
  });

  test('hard-state saves open no file (they work with no descriptor left)', async () => {
    const s = await reopen();
    await s.saveHardState({ term: 1, votedFor: 'n1' });
    faulty.fail(['open']);
    await s.saveHardState({ term: 2, votedFor: 'n2' });
    await s.saveHardState({ term: 3, votedFor: null });
    faulty.heal();
    await s.close();
    storage = null;
    expect((await (await reopen()).load()).hardState).toEqual({ term: 3, votedFor: null });
  });

  test('hard state: a crash inside a save (the current file linked aside, or the spare renamed over it) leaves the old or the new state', async () => {
    let s = await reopen();
    await s.saveHardState({ term: 7, votedFor: 'n3' });
    await s.close();
    storage = null;
    // Crash after the link: `hardstate.prev` is a second name of the current file, the spare holds the new state.
    fs.linkSync(path.join(dir, 'hardstate'), path.join(dir, 'hardstate.prev'));
    fs.writeFileSync(path.join(dir, 'hardstate.next'), 'a new state, not yet in place');
    s = await reopen();
    expect((await s.load()).hardState).toEqual({ term: 7, votedFor: 'n3' });
    expect(fs.existsSync(path.join(dir, 'hardstate.prev'))).toBe(false);
    await s.saveHardState({ term: 8, votedFor: 'n1' });
    await s.close();
    storage = null;
    // Crash after the rename: `hardstate` is the new file, the old one is still called `hardstate.prev`, no spare.
    fs.renameSync(path.join(dir, 'hardstate.next'), path.join(dir, 'hardstate.prev'));
    s = await reopen();
    expect((await s.load()).hardState).toEqual({ term: 8, votedFor: 'n1' });
    await s.saveHardState({ term: 9, votedFor: null });
    expect((await s.load()).hardState).toEqual({ term: 9, votedFor: null });
  });

  test('hard state: a crash before the rename leaves the old state; a leftover temp file is removed', async () => {
    let s = await reopen();
    await s.saveHardState({ term: 7, votedFor: 'n3' });
    await s.close();
    storage = null;
    fs.writeFileSync(path.join(dir, 'hardstate.tmp'), 'half a state');
    s = await reopen();
    expect((await s.load()).hardState).toEqual({ term: 7, votedFor: 'n3' });
    expect(fs.existsSync(path.join(dir, 'hardstate.tmp'))).toBe(false);
  });

  test('calls after close reject; close is idempotent and releases the lock', async () => {
    const s = await reopen();
    const pending = s.append(entries(1, 1, 1));
    const closing = s.close();
    await pending; // calls made before close still complete
    await closing;
    await s.close();
    await expect(s.append(entries(2, 2, 1))).rejects.toBeInstanceOf(StorageFailedError);
    storage = null;
    const again = await reopen();
    expect((await again.load()).entries.length).toBe(1);
  });

  test('invalid options are refused', async () => {
    await expect(FileStorage.open(dir, { maxSegmentBytes: 10 })).rejects.toBeInstanceOf(RangeError);
  });
});
