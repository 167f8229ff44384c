import { SharedLog } from '../../src/storage/sharedLog';
import { SharedLogStorage } from '../../src/storage/sharedLogStorage';
import type { Storage } from '../../src/storage/storage';
import { describeStorageConformance, entries } from './conformance';
import { FaultyFileSystem } from './faultyFileSystem';
import { TempDirs } from './tempDirs';

const dirs = new TempDirs('rxraft-swal-conf-');
afterAll(() => dirs.removeAll());

/**
 * The Storage contract, run against one group's view of a shared log. A neighbour group
 * writes into the same log before and during each test, so the group's records are
 * interleaved with another group's (and small segments make the suite cross segments,
 * free them and rewrite pinned records).
 */
describeStorageConformance('SharedLogStorage (one group of a shared log)', () => {
  const open = new Map<Storage, { dataDir: string; log: SharedLog; fs: FaultyFileSystem; neighbour: SharedLogStorage }>();
  const openAt = async (dataDir: string) => {
    const fs = new FaultyFileSystem();
    const log = await SharedLog.open(dataDir, { fs, maxSegmentBytes: 2048 });
    const neighbour = await SharedLogStorage.open(log, 'neighbour');
    const { entries: had } = await neighbour.load();
    const next = had.length > 0 ? had[had.length - 1].index + 1 : 1;
    void neighbour.append(entries(next, next + 2, 1, 30)).catch(() => undefined);
    const storage = await SharedLogStorage.open(log, 'g1');
    open.set(storage, { dataDir, log, fs, neighbour });
    return storage;
  };
  const closeAll = async (storage: Storage) => {
    const { log, neighbour } = open.get(storage)!;
    await storage.close();
    await neighbour.close();
    await log.close();
    open.delete(storage);
  };
  return {
    create: () => openAt(dirs.make()),
    restart: async (storage) => {
      const { dataDir } = open.get(storage)!;
      await closeAll(storage);
      return openAt(dataDir);
    },
    injectFailure: (storage) => {
      const { fs } = open.get(storage)!;
      fs.fail();
      return () => fs.heal();
    },
    cleanup: async () => {
      for (const storage of [...open.keys()]) await closeAll(storage);
      dirs.removeAll();
    },
  };
});
