import * as path from 'path';
import { CorruptLogError } from './fileErrors';
import { FILE_HEADER_BYTES } from './fileRecordFraming';
import { encodeStateFile, readStateFile } from './fileStateRecord';
import { FileHandleLike, FileSystem, unlinkIfExists, writeFully } from './fileSystem';
import type { StorageDamage } from './storage';

/** The file name of the damage record inside the storage directory. */
export const DAMAGE_FILE = 'DAMAGE';
const MAGIC = 'RXRAFTDM';

/**
 * The durable record of damage found at open (`StorageDamage`): written before the
 * damage is acted on (before a torn tail is cut, before a missing hard state is
 * recreated), so that a crash before the node is repaired reports it again; removed by
 * `clear` once the node has been repaired.
 *
 * File layout: a file header ("RXRAFTDM", version, 0), then one framed record (type
 * HardState, the record type of small state files) holding the damage as JSON.
 *
 * @example
 * const earlier = await DamageRecord.read(fs, dir);          // null: none
 * await DamageRecord.write(fs, dir, directory, mergeDamage(earlier, { hardStateMissing: true, truncatedTail: null }));
 * await DamageRecord.clear(fs, dir, directory);
 */
export const DamageRecord = {
  /** The damage recorded so far, or null. Throws `CorruptLogError` if the record is unreadable. */
  async read(fs: FileSystem, dir: string): Promise<StorageDamage | null> {
    const file = path.join(dir, DAMAGE_FILE);
    const payload = await readStateFile(fs, file, MAGIC);
    if (payload === null) return null;
    try {
      const parsed = JSON.parse(payload.toString('utf8')) as StorageDamage;
      const tail = parsed.truncatedTail;
      if (typeof parsed.hardStateMissing !== 'boolean' || (tail !== null && !(Number.isSafeInteger(tail.from) && typeof tail.reason === 'string'))) {
        throw new Error('unexpected shape');
      }
      return { hardStateMissing: parsed.hardStateMissing, truncatedTail: tail === null ? null : { from: tail.from, reason: tail.reason } };
    } catch (e) {
      throw new CorruptLogError(file, FILE_HEADER_BYTES, `damage record unreadable: ${(e as Error).message}`);
    }
  },

  /** Replaces the record durably (temp file, fsync, rename, fsync of the directory). */
  async write(fs: FileSystem, dir: string, directory: FileHandleLike, damage: StorageDamage): Promise<void> {
    const file = path.join(dir, DAMAGE_FILE);
    const out = encodeStateFile(MAGIC, Buffer.from(JSON.stringify(damage), 'utf8'));
    const handle = await fs.open(`${file}.tmp`, 'w', 0o644);
    try {
      await writeFully(handle, out, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(`${file}.tmp`, file);
    await directory.sync();
  },

  /** Removes the record durably (opens no file). */
  async clear(fs: FileSystem, dir: string, directory: FileHandleLike): Promise<void> {
    await unlinkIfExists(fs, path.join(dir, DAMAGE_FILE));
    await directory.sync();
  },
};

/** Both damages together: each kind found by either, the lower `from` of two cut tails. */
export function mergeDamage(a: StorageDamage | null, b: StorageDamage): StorageDamage {
  if (!a) return b;
  const tails = [a.truncatedTail, b.truncatedTail].filter((t) => t !== null);
  return {
    hardStateMissing: a.hardStateMissing || b.hardStateMissing,
    truncatedTail: tails.length === 0 ? null : tails.reduce((x, y) => (y.from < x.from ? y : x)),
  };
}
