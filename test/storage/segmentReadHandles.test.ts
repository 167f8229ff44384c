import * as fs from 'fs';
import * as path from 'path';
import type { FileHandleLike } from '../../src/storage/fileSystem';
import { SegmentReadHandles } from '../../src/storage/segmentReadHandles';
import { segmentDescriptors } from './openDescriptors';
import { PassThroughFileSystem } from './passThroughFileSystem';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-handles-');
afterAll(() => dirs.removeAll());

/** The real file system, counting opens; `emfile` opens in a row fail as if no descriptor were left. */
class CountingFileSystem extends PassThroughFileSystem {
  opens = 0;
  emfile = 0;
  override async open(file: string, flags: string | number, mode?: number): Promise<FileHandleLike> {
    if (this.emfile > 0) {
      this.emfile--;
      throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    }
    this.opens++;
    return super.open(file, flags, mode);
  }
}

/** A read held in flight: `entered` settles once it has its handle (the open is done), and it goes on at `release()`. */
interface Gate {
  readonly entered: Promise<void>;
  readonly enter: () => void;
  readonly wait: Promise<void>;
  readonly release: () => void;
}

function gate(): Gate {
  let release!: () => void;
  let enter!: () => void;
  const wait = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  return { entered, enter, wait, release };
}

describe('SegmentReadHandles', () => {
  let dir: string;
  let counting: CountingFileSystem;
  const file = (sequence: number) => path.join(dir, `${String(sequence).padStart(16, '0')}.wal`);
  /** Reads the segment's first byte (each segment file holds its own sequence number there). */
  const firstByte = (handles: SegmentReadHandles, sequence: number, held?: Gate) =>
    handles.use(sequence, file(sequence), async (handle) => {
      held?.enter();
      await held?.wait;
      const buf = Buffer.alloc(1);
      await handle.read(buf, 0, 1, 0);
      return buf[0];
    });
  /** Lets background closes (an eviction's) finish. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  beforeEach(() => {
    dir = dirs.make();
    for (let s = 1; s <= 4; s++) fs.writeFileSync(file(s), Buffer.from([s]));
    counting = new CountingFileSystem();
  });

  test('many reads of one segment open its file once', async () => {
    const handles = new SegmentReadHandles(counting, 2);
    for (let i = 0; i < 10; i++) expect(await firstByte(handles, 1)).toBe(1);
    expect(counting.opens).toBe(1);
    expect(handles.stats()).toMatchObject({ opens: 1, hits: 9, openNow: 1 });
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(0);
  });

  test('keeps at most maxOpen segments open, closing the least recently used one for another', async () => {
    const handles = new SegmentReadHandles(counting, 2);
    await firstByte(handles, 1);
    await firstByte(handles, 2);
    await firstByte(handles, 1); // 2 is now the least recently used
    expect(await firstByte(handles, 3)).toBe(3);
    await settle();
    expect(handles.stats()).toMatchObject({ evictions: 1, openNow: 2 });
    expect(segmentDescriptors(dir)).toBe(2);
    const opens = counting.opens;
    await firstByte(handles, 1); // still open
    expect(counting.opens).toBe(opens);
    await firstByte(handles, 2); // was closed: opened again
    expect(counting.opens).toBe(opens + 1);
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(0);
  });

  test('when every kept handle is in use, a read of another segment opens its own and closes it after; none waits', async () => {
    const handles = new SegmentReadHandles(counting, 1);
    const held = gate();
    const first = firstByte(handles, 1, held);
    await held.entered; // segment 1 is open and in use
    expect(await firstByte(handles, 2)).toBe(2); // does not wait for segment 1's read
    expect(handles.stats()).toMatchObject({ unkept: 1, openNow: 1 });
    held.release();
    expect(await first).toBe(1);
    expect(segmentDescriptors(dir)).toBe(1); // segment 1, kept
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(0);
  });

  test('a segment retired (about to be deleted) while a read uses it is closed when that read ends, and is never handed out again', async () => {
    const handles = new SegmentReadHandles(counting, 4);
    await firstByte(handles, 2); // kept
    const held = gate();
    const reading = firstByte(handles, 1, held);
    await held.entered; // segment 1 is open and in use
    await handles.retireBefore(2);
    expect(segmentDescriptors(dir)).toBe(2); // segment 1's read is still going on
    fs.rmSync(file(1));
    held.release();
    expect(await reading).toBe(1); // the read that had it finishes with the bytes it located
    expect(segmentDescriptors(dir)).toBe(1); // segment 2 only: nothing left on the deleted file
    await expect(firstByte(handles, 1)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await firstByte(handles, 2)).toBe(2);
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(0);
  });

  test('close closes idle handles at once and those in use when their reads end; reads after it hold nothing', async () => {
    const handles = new SegmentReadHandles(counting, 4);
    await firstByte(handles, 1);
    const held = gate();
    const reading = firstByte(handles, 2, held);
    await held.entered; // segment 2 is open and in use
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(1); // segment 2's read is going on
    held.release();
    expect(await reading).toBe(2);
    expect(segmentDescriptors(dir)).toBe(0);
    expect(await firstByte(handles, 3)).toBe(3);
    expect(segmentDescriptors(dir)).toBe(0);
    expect(handles.stats().openNow).toBe(0);
  });

  test('out of descriptors, idle kept handles are closed and the open is tried once more', async () => {
    const handles = new SegmentReadHandles(counting, 4);
    await firstByte(handles, 1);
    await firstByte(handles, 2);
    counting.emfile = 1;
    expect(await firstByte(handles, 3)).toBe(3);
    expect(segmentDescriptors(dir)).toBe(1); // 1 and 2 gave their descriptors up
    counting.emfile = 1; // nothing idle left to give up once 3 is closed: the error is the caller's
    await handles.retireBefore(4);
    await expect(firstByte(handles, 4)).rejects.toMatchObject({ code: 'EMFILE' });
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(0);
  });

  test('a failed open is not kept: the next read of that segment tries again', async () => {
    const handles = new SegmentReadHandles(counting, 4);
    await expect(firstByte(handles, 9)).rejects.toMatchObject({ code: 'ENOENT' });
    fs.writeFileSync(file(9), Buffer.from([9]));
    expect(await firstByte(handles, 9)).toBe(9);
    await handles.close();
    expect(segmentDescriptors(dir)).toBe(0);
  });

  test('refuses a negative or fractional limit; a limit of 0 keeps nothing open', async () => {
    expect(() => new SegmentReadHandles(counting, -1)).toThrow(RangeError);
    expect(() => new SegmentReadHandles(counting, 1.5)).toThrow(RangeError);
    const handles = new SegmentReadHandles(counting, 0);
    expect(await firstByte(handles, 1)).toBe(1);
    expect(await firstByte(handles, 1)).toBe(1);
    expect(counting.opens).toBe(2);
    expect(segmentDescriptors(dir)).toBe(0);
  });
});
