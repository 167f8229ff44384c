import { constants as fsConstants, readFileSync } from 'fs';
import * as path from 'path';
import { eventLoopWrites } from '../../src/storage/eventLoopWrites';
import { FileHandleLike, FileSystem, nodeFileSystem } from '../../src/storage/fileSystem';
import { FileStorage } from '../../src/storage/fileStorage';
import { describeStorageConformance, entries } from './conformance';
import { fileStorageHarness } from './fileStorageHarness';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-loopwrites-');
afterAll(() => dirs.removeAll());

// The whole Storage contract, with the log written on the event loop (faults injected around it).
describeStorageConformance('FileStorage with eventLoopWrites', () => fileStorageHarness(dirs, { logSync: 'dsync', maxSegmentBytes: 2048 }, eventLoopWrites()));

describe('eventLoopWrites', () => {
  const O_DSYNC_WRITE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_DSYNC;

  test('a write to an O_DSYNC file is in the file when the call returns, before anything is awaited', async () => {
    const file = path.join(dirs.make(), 'segment');
    const handle = await eventLoopWrites().open(file, O_DSYNC_WRITE, 0o644);
    try {
      const written = handle.write(Buffer.from('abc'), 0, 3, 0);
      const vectored = handle.writev!([Buffer.from('de'), Buffer.from('f')], 3);
      expect(readFileSync(file, 'latin1')).toBe('abcdef');
      expect(await written).toEqual({ bytesWritten: 3 });
      expect(await vectored).toEqual({ bytesWritten: 3 });
    } finally {
      await handle.close();
    }
  });

  test('with onLoop false a write goes to the base handle (the thread pool), and onLoop is asked at each write', async () => {
    const file = path.join(dirs.make(), 'segment');
    const baseWrites: string[] = [];
    const counting: FileSystem = {
      ...nodeFileSystem,
      open: async (p, flags, mode) => {
        const handle = await nodeFileSystem.open(p, flags, mode);
        const counted: FileHandleLike = {
          fd: handle.fd,
          write: (...args) => (baseWrites.push('write'), handle.write(...args)),
          writev: (buffers, position) => (baseWrites.push('writev'), handle.writev!(buffers, position)),
          read: (...args) => handle.read(...args),
          datasync: () => handle.datasync(),
          sync: () => handle.sync(),
          truncate: (length) => handle.truncate(length),
          stat: () => handle.stat(),
          close: () => handle.close(),
        };
        return counted;
      },
    };
    let following = false;
    const handle = await eventLoopWrites(counting, () => following).open(file, O_DSYNC_WRITE, 0o644);
    try {
      await handle.writev!([Buffer.from('ab')], 0);
      expect(baseWrites).toEqual(['writev']);
      following = true;
      const written = handle.writev!([Buffer.from('cd')], 2);
      expect(readFileSync(file, 'latin1')).toBe('abcd');
      await written;
      expect(baseWrites).toEqual(['writev']);
    } finally {
      await handle.close();
    }
  });

  test('files opened without O_DSYNC get the base file system\'s own handle', async () => {
    const file = path.join(dirs.make(), 'state');
    const handle = await eventLoopWrites().open(file, 'w', 0o644);
    try {
      expect(handle.constructor.name).toBe('FileHandle');
    } finally {
      await handle.close();
    }
  });

  test('a failed write rejects its promise (the storage then fails stop), it does not throw', async () => {
    const file = path.join(dirs.make(), 'read-only');
    const created = await eventLoopWrites().open(file, O_DSYNC_WRITE, 0o644);
    await created.close();
    const handle = await eventLoopWrites().open(file, fsConstants.O_RDONLY | fsConstants.O_DSYNC);
    try {
      let result: Promise<unknown> | undefined;
      expect(() => (result = handle.write(Buffer.from('x'), 0, 1, 0))).not.toThrow();
      await expect(result).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      await handle.close();
    }
  });

  test('a storage on it keeps its acknowledged entries across a reopen', async () => {
    const dir = dirs.make();
    const first = await FileStorage.open(dir, { fs: eventLoopWrites(), logSync: 'dsync' });
    await first.append(entries(1, 3, 1));
    await first.close();
    const again = await FileStorage.open(dir, { fs: eventLoopWrites(), logSync: 'dsync' });
    try {
      expect((await again.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
    } finally {
      await again.close();
    }
  });
});
