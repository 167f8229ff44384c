import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { GroupId } from '../messages/groupId';
import { FileStorage } from '../storage/fileStorage';
import { hasErrorCode, nodeFileSystem, syncDirectory } from '../storage/fileSystem';
import type { Storage } from '../storage/storage';

/** Makes (or reopens) the storage of a group, given its id. */
export type GroupStorageFactory = (group: GroupId) => Storage | Promise<Storage>;

/** Where a host keeps its groups' state: opened per group, freed when a group is removed. */
export interface GroupStorage {
  open(group: GroupId): Promise<Storage>;
  /** Frees what `group` holds (its directory); nothing for storage made by a factory. */
  remove(group: GroupId): Promise<void>;
}

/**
 * The storage of a host's groups: with `dataDir`, each group's `FileStorage` lives in
 * `<dataDir>/groups/<groupId>/` (one write-ahead log per group in this version; a log
 * shared by every group of a host is a later step of issue 19). Removing a group moves
 * its directory to `<dataDir>/removing/<groupId>` (an atomic rename, made durable before
 * anything is deleted, so a crash never leaves a half-deleted group where the host would
 * reopen it), then deletes it. With `factory`, the factory's storage is used and
 * removing frees nothing: that is the factory owner's business.
 *
 * @example
 * const storage = groupStorage({ dataDir: '/var/lib/shards' });
 * const s = await storage.open('orders-1');  // FileStorage in /var/lib/shards/groups/orders-1
 * await s.close();
 * await storage.remove('orders-1');          // the directory is gone
 */
export function groupStorage(options: { dataDir?: string; factory?: GroupStorageFactory }): GroupStorage {
  const { dataDir, factory } = options;
  if (factory) return { open: async (group) => factory(group), remove: async () => undefined };
  if (dataDir === undefined) throw new Error('groupStorage needs dataDir or factory');
  const groups = path.join(dataDir, 'groups');
  return {
    open: (group) => FileStorage.open(path.join(groups, group)),
    remove: (group) => removeDirectory(path.join(groups, group), path.join(dataDir, 'removing', group)),
  };
}

/** Renames `dir` to `trash` (durably), then deletes it; a missing `dir` is already removed. */
async function removeDirectory(dir: string, trash: string): Promise<void> {
  await rm(trash, { recursive: true, force: true }); // left by a removal a crash interrupted
  await nodeFileSystem.mkdir(path.dirname(trash), { recursive: true });
  try {
    await nodeFileSystem.rename(dir, trash);
  } catch (e) {
    if (hasErrorCode(e, 'ENOENT')) return;
    throw e;
  }
  await syncDirectory(nodeFileSystem, path.dirname(dir));
  await rm(trash, { recursive: true, force: true });
}
