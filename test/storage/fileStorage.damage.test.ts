/**
 * Issue 18, finding 6 (a deleted `hardstate` beside a kept WAL started silently with
 * term 0 and no vote) and the storage side of finding 1 (a damaged last WAL record was
 * cut without telling anyone): `load()` reports such damage as `damage`, durably, until
 * `clearDamage()`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FileStorage } from '../../src/storage/fileStorage';
import { FILE_HEADER_BYTES, scanRecords } from '../../src/storage/fileRecordFraming';
import { entries } from './conformance';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-damage-');
afterEach(() => dirs.removeAll());

/** Opens `dir`, runs `body`, closes. */
async function withStorage<T>(dir: string, body: (s: FileStorage) => Promise<T>): Promise<T> {
  const storage = await FileStorage.open(dir);
  try {
    return await body(storage);
  } finally {
    await storage.close();
  }
}

function lastSegment(dir: string): string {
  return path.join(dir, fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort().pop()!);
}

describe('FileStorage damage reports', () => {
  test('a new directory has no damage, and neither has a clean restart', async () => {
    const dir = dirs.make();
    await withStorage(dir, async (s) => {
      expect((await s.load()).damage).toBeNull();
      await s.saveHardState({ term: 2, votedFor: 'n1' });
      await s.append(entries(1, 3, 2));
    });
    await withStorage(dir, async (s) => expect((await s.load()).damage).toBeNull());
    expect(fs.existsSync(path.join(dir, 'DAMAGE'))).toBe(false);
  });

  test('a deleted hardstate beside a kept WAL is reported, with the last log term as a lower bound and no vote, until cleared', async () => {
    const dir = dirs.make();
    await withStorage(dir, async (s) => {
      await s.saveHardState({ term: 5, votedFor: 'n2' });
      await s.append([...entries(1, 3, 2), ...entries(4, 6, 4)]);
    });
    fs.unlinkSync(path.join(dir, 'hardstate'));

    const loaded = await withStorage(dir, (s) => s.load());
    expect(loaded.damage).toEqual({ hardStateMissing: true, truncatedTail: null });
    expect(loaded.hardState).toEqual({ term: 4, votedFor: null });
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);

    // Still reported after another restart (the hard state exists again by now)...
    await withStorage(dir, async (s) => {
      expect((await s.load()).damage).toEqual({ hardStateMissing: true, truncatedTail: null });
      await s.saveHardState({ term: 6, votedFor: null });
      await s.clearDamage(); // ...until the node was repaired and says so.
      expect((await s.load()).damage).toBeNull();
    });
    const repaired = await withStorage(dir, (s) => s.load());
    expect(repaired.damage).toBeNull();
    expect(repaired.hardState).toEqual({ term: 6, votedFor: null });
  });

  test('a deleted hardstate is reported even when the log is empty (the node may have voted before any entry)', async () => {
    const dir = dirs.make();
    await withStorage(dir, (s) => s.saveHardState({ term: 5, votedFor: 'n2' }));
    fs.unlinkSync(path.join(dir, 'hardstate'));
    const loaded = await withStorage(dir, (s) => s.load());
    expect(loaded.damage).toEqual({ hardStateMissing: true, truncatedTail: null });
    expect(loaded.hardState).toEqual({ term: 0, votedFor: null });
  });

  test('records cut from the end of the log are reported with the first index that may be lost, across restarts', async () => {
    const dir = dirs.make();
    await withStorage(dir, async (s) => {
      await s.saveHardState({ term: 1, votedFor: 'n1' });
      for (let i = 1; i <= 10; i++) await s.append(entries(i, i, 1));
    });
    const file = lastSegment(dir);
    const records = scanRecords(fs.readFileSync(file), FILE_HEADER_BYTES).records;
    const bytes = fs.readFileSync(file);
    bytes[records[9].offset + 30] ^= 0x40; // a flipped byte in the last record: cut like a torn write
    fs.writeFileSync(file, bytes);

    await withStorage(dir, async (s) => {
      const loaded = await s.load();
      expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(loaded.damage).toEqual({ hardStateMissing: false, truncatedTail: { from: 10, reason: expect.any(String) } });
      expect(s.recovery.tornTail).toMatchObject({ from: 10 });
    });
    // The log is clean now, but the loss is still reported.
    await withStorage(dir, async (s) => {
      expect(s.recovery.tornTail).toBeNull();
      expect((await s.load()).damage?.truncatedTail).toMatchObject({ from: 10 });
      await s.clearDamage();
    });
    await withStorage(dir, async (s) => expect((await s.load()).damage).toBeNull());
  });

  test('a last record cut short (its write never completed, so it was never acknowledged) is cut without a damage report', async () => {
    const dir = dirs.make();
    await withStorage(dir, async (s) => {
      await s.saveHardState({ term: 1, votedFor: 'n1' });
      for (let i = 1; i <= 10; i++) await s.append(entries(i, i, 1));
    });
    const file = lastSegment(dir);
    const records = scanRecords(fs.readFileSync(file), FILE_HEADER_BYTES).records;
    fs.truncateSync(file, records[9].offset + 30); // the process died in the middle of writing it
    await withStorage(dir, async (s) => {
      const loaded = await s.load();
      expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(s.recovery.tornTail).toMatchObject({ from: 10, complete: false });
      expect(loaded.damage ?? null).toBeNull();
    });
  });

  test('a cut conflict-truncation record reports the index it started at', async () => {
    const dir = dirs.make();
    await withStorage(dir, async (s) => {
      await s.saveHardState({ term: 2, votedFor: 'n1' });
      await s.append(entries(1, 8, 1));
      await s.append(entries(5, 6, 2)); // replaces 5..8
    });
    const file = lastSegment(dir);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0x01; // in the data of the last record
    fs.writeFileSync(file, bytes);
    const loaded = await withStorage(dir, (s) => s.load());
    expect(loaded.entries.map((e) => `${e.index}:${e.term}`)).toEqual(['1:1', '2:1', '3:1', '4:1', '5:1', '6:1', '7:1', '8:1']);
    expect(loaded.damage?.truncatedTail?.from).toBe(5);
  });

  test('a segment whose creation was torn (no record in it) is not damage', async () => {
    const dir = dirs.make();
    await withStorage(dir, async (s) => {
      await s.saveHardState({ term: 1, votedFor: null });
      await s.append(entries(1, 3, 1));
    });
    fs.writeFileSync(path.join(dir, '0000000000000002.wal'), Buffer.from('RXRA'));
    await withStorage(dir, async (s) => {
      expect(s.recovery.tornTail).toMatchObject({ offset: 0 });
      expect((await s.load()).damage).toBeNull();
    });
  });
});
