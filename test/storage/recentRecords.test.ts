import * as fs from 'fs';
import * as path from 'path';
import { segmentName } from '../../src/storage/fileLog';
import type { RecordLocation } from '../../src/storage/fileLogIndex';
import { readLocatedEntries } from '../../src/storage/fileLogReader';
import { FILE_HEADER_BYTES } from '../../src/storage/fileRecordFraming';
import { FileStorage } from '../../src/storage/fileStorage';
import { nodeFileSystem } from '../../src/storage/fileSystem';
import { RecentRecords } from '../../src/storage/recentRecords';
import { SegmentReadHandles } from '../../src/storage/segmentReadHandles';
import { entries, plain } from './conformance';
import { TempDirs } from './tempDirs';

describe('RecentRecords', () => {
  const decoded = entries(1, 3, 1, 10);

  test('returns a record held under its segment, offset and length, and nothing for any other key', () => {
    const recent = new RecentRecords();
    recent.put(2, 4096, 100, decoded);
    expect(recent.get(2, 4096, 100)).toBe(decoded);
    expect(recent.get(3, 4096, 100)).toBeUndefined();
    expect(recent.get(2, 4100, 100)).toBeUndefined();
    expect(recent.get(2, 4096, 99)).toBeUndefined();
  });

  test('holds at most maxRecords records, dropping the oldest', () => {
    const recent = new RecentRecords(2, 1 << 20);
    recent.put(1, 16, 100, decoded);
    recent.put(1, 136, 100, decoded);
    recent.put(1, 256, 100, decoded);
    expect(recent.get(1, 16, 100)).toBeUndefined();
    expect(recent.get(1, 136, 100)).toBe(decoded);
    expect(recent.get(1, 256, 100)).toBe(decoded);
    expect(recent.heldBytes).toBe(200);
  });

  test('holds at most maxBytes of payload: older records make room, and a record larger than the budget is not held', () => {
    const recent = new RecentRecords(4, 1000);
    recent.put(1, 16, 600, decoded);
    recent.put(1, 636, 300, decoded);
    recent.put(1, 956, 400, decoded); // 1,300 > 1,000: the oldest goes
    expect(recent.get(1, 16, 600)).toBeUndefined();
    expect(recent.heldBytes).toBe(700);
    recent.put(1, 1376, 1001, decoded);
    expect(recent.get(1, 1376, 1001)).toBeUndefined();
    expect(recent.heldBytes).toBe(700);
  });

  test('putting a record it holds already changes nothing', () => {
    const recent = new RecentRecords(2, 1 << 20);
    recent.put(1, 16, 100, decoded);
    recent.put(1, 16, 100, entries(1, 3, 1, 10));
    expect(recent.get(1, 16, 100)).toBe(decoded);
    expect(recent.heldBytes).toBe(100);
  });

  test('dropBefore forgets the records of deleted segments and keeps the rest', () => {
    const recent = new RecentRecords(3, 1 << 20);
    recent.put(1, 16, 100, decoded);
    recent.put(2, 16, 100, decoded);
    recent.put(3, 16, 100, decoded);
    recent.dropBefore(3);
    expect(recent.get(1, 16, 100)).toBeUndefined();
    expect(recent.get(2, 16, 100)).toBeUndefined();
    expect(recent.get(3, 16, 100)).toBe(decoded);
    expect(recent.heldBytes).toBe(100);
  });

  test('after dropBefore, a record of a deleted segment is not held again (a read that began before the deletion offers it late)', () => {
    const recent = new RecentRecords(3, 1 << 20);
    recent.dropBefore(3);
    recent.put(2, 16, 100, decoded);
    expect(recent.get(2, 16, 100)).toBeUndefined();
    expect(recent.heldBytes).toBe(0);
    recent.dropBefore(1); // never lowers the floor
    recent.put(2, 16, 100, decoded);
    expect(recent.get(2, 16, 100)).toBeUndefined();
  });

  test('with no room (maxRecords 0) holds nothing; bad limits are refused', () => {
    const recent = new RecentRecords(0, 1 << 20);
    recent.put(1, 16, 100, decoded);
    expect(recent.get(1, 16, 100)).toBeUndefined();
    expect(() => new RecentRecords(-1)).toThrow(RangeError);
    expect(() => new RecentRecords(2, 1.5)).toThrow(/maxBytes/);
  });
});

describe('readLocatedEntries with RecentRecords', () => {
  const dirs = new TempDirs('rxraft-recent-');
  afterAll(() => dirs.removeAll());

  /** One segment holding one record of entries 1..10 (100-byte payloads), and its row. */
  async function oneRecord(): Promise<{ fileOf: (sequence: number) => string; row: RecordLocation }> {
    const dir = dirs.make();
    const storage = await FileStorage.open(dir);
    await storage.load();
    await storage.append(entries(1, 10, 1, 100));
    await storage.close();
    const row = { first: 1, last: 10, sequence: 1, offset: FILE_HEADER_BYTES, length: 4 + 10 * (21 + 100) };
    return { fileOf: (sequence) => path.join(dir, segmentName(sequence)), row };
  }
  const available = { first: 1, last: 10 };

  test('holds a record the read stopped inside, and the next read takes its entries from there', async () => {
    const { fileOf, row } = await oneRecord();
    const recent = new RecentRecords();
    const first = await readLocatedEntries(new SegmentReadHandles(nodeFileSystem, 0), fileOf, [row], { from: 1, to: 11, maxBytes: 300, available }, { recent });
    expect(first.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(recent.heldBytes).toBe(row.length);
    fs.rmSync(fileOf(1)); // the next read cannot have come from the file
    const next = await readLocatedEntries(new SegmentReadHandles(nodeFileSystem, 0), fileOf, [row], { from: 4, to: 11, maxBytes: 1 << 20, available }, { recent });
    expect(plain(next)).toEqual(plain(entries(4, 10, 1, 100)));
  });

  test('does not hold a record the read took to its end', async () => {
    const { fileOf, row } = await oneRecord();
    const recent = new RecentRecords();
    const all = await readLocatedEntries(new SegmentReadHandles(nodeFileSystem, 0), fileOf, [row], { from: 1, to: 11, maxBytes: 1 << 20, available }, { recent });
    expect(plain(all)).toEqual(plain(entries(1, 10, 1, 100)));
    expect(recent.heldBytes).toBe(0);
  });
});
