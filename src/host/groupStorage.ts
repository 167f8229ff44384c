import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { StorageFailedError } from '../errors';
import type { GroupId } from '../messages/groupId';
import { FileStorage } from '../storage/fileStorage';
import { hasErrorCode, nodeFileSystem, syncDirectory } from '../storage/fileSystem';
import { SharedLog, SharedLogOptions } from '../storage/sharedLog';
import { SharedLogStorage } from '../storage/sharedLogStorage';
import type { Storage } from '../storage/storage';

/**
 * Makes (or reopens) the storage of a group, given its id.
 *
 * @example
 * createRaftHost({ id: 'h1', transport, storage: (group) => FileStorage.open(`/var/lib/shards/${group}`) });
 */
export type GroupStorageFactory = (group: GroupId) => Storage | Promise<Storage>;

/**
 * Where a host keeps its groups' state: opened per group, freed when a group is removed.
 *
 * @example
 * const storage: GroupStorage = groupStorage({ dataDir: '/var/lib/shards', sharedLog: true });
 * createRaftHost({ id: 'h1', transport, storage });
 */
export interface GroupStorage {
  open(group: GroupId): Promise<Storage>;
  /** Frees what `group` holds (its directory); nothing for storage made by a factory. */
  remove(group: GroupId): Promise<void>;
  /** Releases what the groups share (the shared log), once every group's storage is closed. */
  close?(): Promise<void>;
  /** With a shared log: the syncs it made so far (one per flush, for every group that wrote in it; see `SharedLogStats.fsyncs`). */
  syncs?(): number;
}

/**
 * The storage of a host's groups: with `dataDir`, each group's `FileStorage` lives in
 * `<dataDir>/groups/<groupId>/` (one write-ahead log per group); with `sharedLog` too,
 * every group writes into one `SharedLog` in `<dataDir>/wal/` (one write and one fsync
 * per turn for all groups) and keeps only its snapshots in its directory. Removing a group moves
 * its directory to `<dataDir>/removing/<groupId>` (an atomic rename, made durable before
 * anything is deleted, so a crash never leaves a half-deleted group where the host would
 * reopen it), then deletes it. With `factory`, the factory's storage is used and
 * removing frees nothing: that is the factory owner's business.
 *
 * `createRaftHost` makes one from its `dataDir` and `sharedLog` options; make it yourself
 * to wrap each group's storage (e.g. to time its writes) and pass it as `storage`.
 *
 * @example
 * const storage = groupStorage({ dataDir: '/var/lib/shards' });
 * const s = await storage.open('orders-1');  // FileStorage in /var/lib/shards/groups/orders-1
 * await s.close();
 * await storage.remove('orders-1');          // the directory is gone
 *
 * const shared = groupStorage({ dataDir: '/var/lib/shards', sharedLog: true });
 * const host = createRaftHost({ id: 'h1', transport, storage: { ...shared, open: async (g) => timed(await shared.open(g)) } });
 * shared.syncs?.();                          // the shared log's syncs so far
 */
export function groupStorage(options: { dataDir?: string; factory?: GroupStorageFactory; sharedLog?: boolean | SharedLogOptions }): GroupStorage {
  const { dataDir, factory, sharedLog } = options;
  if (factory) return { open: async (group) => factory(group), remove: async () => undefined };
  if (dataDir === undefined) throw new Error('groupStorage needs dataDir or factory');
  if (sharedLog) return sharedLogGroups(dataDir, sharedLog === true ? {} : sharedLog);
  const groups = path.join(dataDir, 'groups');
  return {
    open: async (group) => {
      await refuseSharedLog(dataDir);
      return FileStorage.open(path.join(groups, group));
    },
    remove: (group) => removeDirectory(path.join(groups, group), path.join(dataDir, 'removing', group)),
  };
}

/**
 * The groups of a host on one `SharedLog` in `<dataDir>/wal/` (opened with the first
 * group, closed by `close`), each group's snapshots in `<dataDir>/groups/<id>/snapshots`.
 * Removing a group moves its directory to `<dataDir>/removing/<id>` (durably), writes a
 * durable Removed record that makes its records in the log dead, then deletes the
 * directory; a crash in between is finished when the log is opened next.
 */
function sharedLogGroups(dataDir: string, options: SharedLogOptions): GroupStorage {
  let opened: Promise<SharedLog> | null = null;
  let ready: SharedLog | null = null;
  const log = () =>
    (opened ??= SharedLog.open(dataDir, options).then(
      (shared) => (ready = shared),
      (e: unknown) => {
        opened = null; // a later call tries again
        throw e;
      },
    ));
  return {
    open: async (group) => SharedLogStorage.open(await log(), group),
    remove: async (group) => {
      const shared = await log();
      await removeDirectory(path.join(dataDir, 'groups', group), path.join(dataDir, 'removing', group), () => shared.removeGroup(group));
    },
    close: async () => {
      if (opened) await (await opened.catch(() => null))?.close();
    },
    syncs: () => ready?.stats().fsyncs ?? 0,
  };
}

/** Throws if `dataDir` holds a shared log: its groups' state is there, a per-group `FileStorage` would start empty. */
async function refuseSharedLog(dataDir: string): Promise<void> {
  try {
    await nodeFileSystem.readdir(path.join(dataDir, 'wal'));
  } catch (e) {
    if (hasErrorCode(e, 'ENOENT')) return;
    throw e;
  }
  throw new StorageFailedError(`${dataDir} holds a shared write-ahead log (wal/): open the host with sharedLog: true`);
}

/**
 * Renames `dir` to `trash` (durably), runs `beforeDelete` (a missing `dir` runs it too),
 * then deletes `trash` (durably).
 */
async function removeDirectory(dir: string, trash: string, beforeDelete: () => Promise<void> = async () => undefined): Promise<void> {
  await rm(trash, { recursive: true, force: true }); // left by a removal a crash interrupted
  await nodeFileSystem.mkdir(path.dirname(trash), { recursive: true });
  try {
    await nodeFileSystem.rename(dir, trash);
  } catch (e) {
    if (!hasErrorCode(e, 'ENOENT')) throw e;
    await beforeDelete();
    return;
  }
  await syncDirectory(nodeFileSystem, path.dirname(dir));
  await beforeDelete();
  await rm(trash, { recursive: true, force: true });
  // Durably gone: a leftover coming back after a crash would be taken for an unfinished removal.
  await syncDirectory(nodeFileSystem, path.dirname(trash));
}
