import * as fs from 'fs';
import * as path from 'path';
import { EntryRangeError } from '../../src/errors';
import type { Entry } from '../../src/messages/entry';
import { blockPieces, encodeEntries } from '../../src/messages/entryCodec';
import { CorruptLogError } from '../../src/storage/fileErrors';
import { FileStorage } from '../../src/storage/fileStorage';
import { FileSystem, nodeFileSystem } from '../../src/storage/fileSystem';
import { DEFAULT_MAX_READ_HANDLES } from '../../src/storage/segmentReadHandles';
import { chunk, entries, plain, snapshotMeta, takeSnapshot } from './conformance';
import { deletedSegmentDescriptors, segmentDescriptors } from './openDescriptors';
import { PassThroughFileSystem } from './passThroughFileSystem';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-read-');
afterAll(() => dirs.removeAll());

/** A file system whose opens of segments for reading wait until `release()` (while `hold()` is in effect). */
class GatedFileSystem extends PassThroughFileSystem {
  private gate: Promise<void> | null = null;
  private opened: (() => void) | null = null;
  release: () => void = () => undefined;

  /** Holds the next reads; resolves once one is waiting at the gate. */
  hold(): Promise<void> {
    this.gate = new Promise<void>((resolve) => (this.release = resolve));
    return new Promise<void>((resolve) => (this.opened = resolve));
  }

  override async open(file: string, flags: string | number, mode?: number) {
    if (flags === 'r' && file.endsWith('.wal') && this.gate) {
      this.opened?.();
      await this.gate;
    }
    return nodeFileSystem.open(file, flags, mode);
  }
}

/** A file system that counts the bytes read from segment files through handles (what `readEntries` reads). */
class CountingFileSystem extends PassThroughFileSystem {
  segmentBytesRead = 0;

  override async open(file: string, flags: string | number, mode?: number) {
    const handle = await nodeFileSystem.open(file, flags, mode);
    if (flags !== 'r' || !file.endsWith('.wal')) return handle;
    return Object.assign(Object.create(handle) as typeof handle, {
      read: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
        const result = await handle.read(buffer, offset, length, position);
        this.segmentBytesRead += result.bytesRead;
        return result;
      },
    });
  }

}

describe('FileStorage.readEntries', () => {
  let dir: string;
  let storage: FileStorage | null = null;

  beforeEach(() => {
    dir = dirs.make();
  });

  afterEach(async () => {
    await storage?.close();
    storage = null;
    dirs.removeAll();
  });

  const open = async (fsys: FileSystem = nodeFileSystem) => {
    await storage?.close();
    storage = await FileStorage.open(dir, { fs: fsys, maxSegmentBytes: 2048 });
    await storage.load();
    return storage;
  };

  test('a read located before a conflicting append returns the log as it was when called, never a mix', async () => {
    const gated = new GatedFileSystem();
    const s = await open(gated);
    await s.append(entries(1, 10, 1, 20));
    const waiting = gated.hold();
    const read = s.readEntries(3, 11, 1 << 20);
    await waiting;
    await s.append(entries(5, 6, 2, 20)); // durable before the read touches the file
    gated.release();
    expect(plain(await read)).toEqual(plain(entries(3, 10, 1, 20)));
    expect(plain(await s.readEntries(3, 7, 1 << 20))).toEqual(plain([...entries(3, 4, 1, 20), ...entries(5, 6, 2, 20)]));
  });

  test('entries read back are views of the record they were read from, so a leader sends them on as its pieces, uncopied', async () => {
    const s = await open();
    await s.append(entries(1, 4, 1, 300));
    const read = await s.readEntries(2, 5, 1 << 20);
    expect(plain(read)).toEqual(plain(entries(2, 4, 1, 300)));
    const pieces = blockPieces(read);
    expect(pieces).toHaveLength(2); // the count, then one view of the record's bytes
    expect(Buffer.concat(pieces!).equals(encodeEntries(read))).toBe(true);
  });

  test('a compaction that deletes the segment while a read waits makes it reject as compacted', async () => {
    const gated = new GatedFileSystem();
    const s = await open(gated);
    for (let i = 1; i <= 60; i += 10) await s.append(entries(i, i + 9, 1, 100)); // several segments of 2 KiB
    const waiting = gated.hold();
    const read = s.readEntries(1, 3, 1 << 20).then(
      () => null,
      (e: unknown) => e,
    );
    await waiting;
    await takeSnapshot(s, snapshotMeta(60, 1), [chunk(10, 1)]);
    expect(fs.readdirSync(dir)).not.toContain('0000000000000001.wal');
    gated.release();
    const error = await read;
    expect(error).toBeInstanceOf(EntryRangeError);
    expect((error as EntryRangeError).compacted).toBe(true);
  });

  test('a record damaged on disk after it was written is refused with CorruptLogError naming it; the storage keeps working', async () => {
    const s = await open();
    await s.append(entries(1, 3, 1, 50));
    await s.append(entries(4, 6, 1, 50));
    const segment = path.join(dir, '0000000000000001.wal');
    const bytes = fs.readFileSync(segment);
    const second = 16 + 20 + (4 + 3 * (21 + 50)); // file header, then the first record
    bytes[second + 20 + 40] ^= 0xff; // a payload byte of the second record
    fs.writeFileSync(segment, bytes);
    const error = await s.readEntries(4, 5, 1 << 20).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as CorruptLogError).offset).toBe(second);
    expect((error as CorruptLogError).reason).toMatch(/checksum mismatch/);
    expect(plain(await s.readEntries(1, 4, 1 << 20))).toEqual(plain(entries(1, 3, 1, 50)));
    await s.append(entries(7, 7, 1, 50));
    expect(plain(await s.readEntries(7, 8, 1 << 20))).toEqual(plain(entries(7, 7, 1, 50)));
  });

  test('after a torn last write is cut at open, the index ends where the log does', async () => {
    let s = await open();
    await s.append(entries(1, 4, 1, 30));
    await s.append(entries(5, 8, 1, 30));
    await s.close();
    storage = null;
    const segment = path.join(dir, '0000000000000001.wal');
    const size = fs.statSync(segment).size;
    fs.truncateSync(segment, size - 10); // the last write torn
    s = await open();
    expect(plain(await s.readEntries(1, 5, 1 << 20))).toEqual(plain(entries(1, 4, 1, 30)));
    expect((await s.readEntries(5, 6, 1 << 20).catch((e: unknown) => e)) as EntryRangeError).toBeInstanceOf(EntryRangeError);
    await s.append(entries(5, 6, 2, 30));
    expect(plain(await s.readEntries(4, 7, 1 << 20))).toEqual(plain([...entries(4, 4, 1, 30), ...entries(5, 6, 2, 30)]));
  });

  test('a big record sent one message at a time is read from disk and checked once, not once per message (issue 17)', async () => {
    const counting = new CountingFileSystem();
    await storage?.close();
    storage = await FileStorage.open(dir, { fs: counting, maxSegmentBytes: 1 << 20 });
    await storage.load();
    const batch = entries(1, 40, 1, 1000); // one append: one record of about 40 KB, like a leader's batch of a turn
    await storage.append(batch);
    const recordBytes = 20 + 4 + 40 * (21 + 1000); // record header, block count, entries
    const read: Entry[] = [];
    for (let from = 1; from <= 40; from = read.length + 1) {
      const got = await storage.readEntries(from, 41, 4000); // a message's worth: 4 entries
      expect(got.length).toBeGreaterThan(0);
      read.push(...got);
    }
    expect(plain(read)).toEqual(plain(batch));
    expect(counting.segmentBytesRead).toBe(recordBytes);
  });

  test('records read lately are not served once a compaction deleted their segment', async () => {
    const s = await open();
    for (let i = 1; i <= 60; i += 10) await s.append(entries(i, i + 9, 1, 100)); // several segments of 2 KiB
    expect(plain(await s.readEntries(1, 11, 1 << 20))).toEqual(plain(entries(1, 10, 1, 100)));
    await takeSnapshot(s, snapshotMeta(60, 1), [chunk(10, 1)]);
    expect(fs.readdirSync(dir)).not.toContain('0000000000000001.wal');
    const error = await s.readEntries(1, 11, 1 << 20).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EntryRangeError);
    expect((error as EntryRangeError).compacted).toBe(true);
  });

  test('a segment kept open for reads and then deleted by a compaction keeps no descriptor on the deleted file', async () => {
    const s = await open();
    for (let i = 1; i <= 60; i += 10) await s.append(entries(i, i + 9, 1, 100)); // several segments of 2 KiB
    expect(plain(await s.readEntries(1, 21, 1 << 20))).toEqual(plain(entries(1, 20, 1, 100))); // segments 1 and 2 kept open
    const kept = segmentDescriptors(dir);
    await takeSnapshot(s, snapshotMeta(40, 1), [chunk(10, 1)]);
    expect(fs.readdirSync(dir)).not.toContain('0000000000000001.wal');
    expect(deletedSegmentDescriptors(dir)).toBe(0);
    expect(segmentDescriptors(dir)).toBeLessThan(kept);
    expect(plain(await s.readEntries(41, 61, 1 << 20))).toEqual(plain(entries(41, 60, 1, 100)));
  });

  test('reads keep at most DEFAULT_MAX_READ_HANDLES segments open between them, and nothing once the storage is closed', async () => {
    const s = await open();
    for (let i = 1; i <= 80; i += 5) await s.append(entries(i, i + 4, 1, 100)); // several segments
    const segments = fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).length;
    expect(segments).toBeGreaterThan(DEFAULT_MAX_READ_HANDLES);
    const writing = segmentDescriptors(dir);
    for (let i = 0; i < 20; i++) expect(plain(await s.readEntries(1, 81, 1 << 20))).toEqual(plain(entries(1, 80, 1, 100)));
    expect(segmentDescriptors(dir)).toBe(writing + DEFAULT_MAX_READ_HANDLES);
    await s.close();
    storage = null;
    expect(segmentDescriptors(dir)).toBe(0);
  });
});
