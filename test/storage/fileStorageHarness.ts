import { FileStorage, FileStorageOptions } from '../../src/storage/fileStorage';
import type { FileSystem } from '../../src/storage/fileSystem';
import { Storage } from '../../src/storage/storage';
import type { StorageHarness } from './conformance';
import { FaultyFileSystem } from './faultyFileSystem';
import { TempDirs } from './tempDirs';

/**
 * The conformance harness of a `FileStorage` opened with `options` in a fresh directory of
 * `dirs`, through a `FaultyFileSystem` around `base` (whose faults `injectFailure` turns on).
 *
 * @example
 * describeStorageConformance('FileStorage', () => fileStorageHarness(dirs, { maxSegmentBytes: 2048 }));
 */
export function fileStorageHarness(dirs: TempDirs, options: FileStorageOptions = {}, base?: FileSystem): StorageHarness {
  const open = new Map<Storage, { dir: string; fs: FaultyFileSystem }>();
  const openAt = async (dir: string) => {
    const faulty = new FaultyFileSystem(base);
    const storage = await FileStorage.open(dir, { ...options, fs: faulty });
    open.set(storage, { dir, fs: faulty });
    return storage;
  };
  return {
    create: () => openAt(dirs.make()),
    restart: async (storage) => {
      const { dir } = open.get(storage)!;
      await storage.close();
      open.delete(storage);
      return openAt(dir);
    },
    injectFailure: (storage) => {
      const faulty = open.get(storage)!.fs;
      faulty.fail();
      return () => faulty.heal();
    },
    cleanup: async () => {
      for (const storage of open.keys()) await storage.close();
      open.clear();
      dirs.removeAll();
    },
  };
}
