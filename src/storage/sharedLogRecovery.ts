import { rm } from 'fs/promises';
import * as path from 'path';
import { groupIdProblem } from '../messages/groupId';
import { DamageRecord, mergeDamage } from './fileDamage';
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES, RecordFlag, RecordType, writeRecordHeader } from './fileRecordFraming';
import { isSegmentName, segmentName } from './fileLog';
import { StorageFailedError } from '../errors';
import { DurableSnapshot, SnapshotFiles } from './fileSnapshots';
import { FileHandleLike, FileSystem, hasErrorCode, writeFully } from './fileSystem';
import { GroupLog } from './sharedLogGroups';
import { damageBody, encodeGroupRecord, GroupRecordKind } from './sharedLogRecords';
import { createSharedSegment, listSegments, scanSegments, ScanOutcome, segmentHeader, SharedTornTail } from './sharedLogSegments';

/** A group's snapshot files as opened at recovery (its current snapshot verified whole). */
export interface SnapshotsAtOpen {
  readonly files: SnapshotFiles;
  readonly current: DurableSnapshot | null;
}

/** What recovery hands the `SharedLog`. */
export interface RecoveredLog {
  readonly groups: Map<string, GroupLog>;
  readonly snapshots: Map<string, SnapshotsAtOpen>;
  readonly first: number;
  readonly current: number;
  readonly handle: FileHandleLike;
  readonly writeOffset: number;
  readonly nextWrite: number;
  readonly recovery: { readonly segments: number; readonly tornTail: SharedTornTail | null };
  /** Groups whose removal a crash interrupted (`<dataDir>/removing/<id>` exists). */
  readonly removing: string[];
}

/** The snapshot directory of `group` in `dataDir`. */
export function snapshotDir(dataDir: string, group: string): string {
  return path.join(dataDir, 'groups', group, 'snapshots');
}

/**
 * Recovers a host's shared log: reads every group's current snapshot (its compaction),
 * scans the segments of `walDir` once, rebuilding every group's state, and repairs a torn
 * last write. A cut record that was there to its full length may have been acknowledged
 * by any group (its group tag is as damaged as the rest), so every group with state is
 * marked damaged (`StorageDamage.truncatedTail`, from its last index + 1): first a
 * host-wide `DAMAGE` file in `walDir`, then the cut, then one Damage record per group
 * in the log, then the file is removed; a crash in between repeats the marking.
 *
 * @example
 * const recovered = await recoverSharedLog(nodeFileSystem, dataDir, path.join(dataDir, 'wal'), walHandle);
 * recovered.groups.get('g1')?.entries; // g1's live log
 */
export async function recoverSharedLog(fs: FileSystem, dataDir: string, walDir: string, directory: FileHandleLike): Promise<RecoveredLog> {
  const groups = new Map<string, GroupLog>();
  const groupOf = (id: string) => groups.get(id) ?? groups.set(id, new GroupLog(id)).get(id)!;
  const snapshots = await openSnapshots(fs, dataDir, groupOf);
  const removing = (await listDir(fs, path.join(dataDir, 'removing'))).filter((id) => groupIdProblem(id) === null);
  const sequences = await listSegments(fs, walDir);
  if (sequences.length === 0) {
    const handle = await createSharedSegment(fs, walDir, directory, 1);
    return { groups, snapshots, first: 1, current: 1, handle, writeOffset: FILE_HEADER_BYTES, nextWrite: 1, recovery: { segments: 0, tornTail: null }, removing };
  }
  const scan = await scanSegments(fs, walDir, sequences, (record, segment, file, offset) => groupOf(record.group).replay(record, segment, file, offset));
  const current = sequences[sequences.length - 1];
  const lastFile = path.join(walDir, segmentName(current));
  for (const g of groups.values()) g.finishReplay(lastFile);
  const previous = await DamageRecord.read(fs, walDir);
  const cut = scan.tornTail?.complete ? { from: 0, reason: `torn tail of the shared log: ${scan.tornTail.reason}` } : null;
  const damaged = cut ?? previous?.truncatedTail ?? null;
  if (cut) await DamageRecord.write(fs, walDir, directory, mergeDamage(previous, { hardStateMissing: false, truncatedTail: cut }));
  const handle = await repairLastSegment(fs, lastFile, current, scan);
  let writeOffset = scan.goodEnd === 0 ? FILE_HEADER_BYTES : scan.goodEnd;
  let nextWrite = scan.nextWrite;
  try {
    if (damaged) {
      writeOffset = await recordDamage(handle, groups, current, writeOffset, nextWrite, damaged.reason);
      nextWrite = (nextWrite + 1) >>> 0;
      await DamageRecord.clear(fs, walDir, directory);
    }
  } catch (e) {
    await handle.close();
    throw e;
  }
  return { groups, snapshots, first: sequences[0], current, handle, writeOffset, nextWrite, recovery: { segments: sequences.length, tornTail: scan.tornTail }, removing };
}

/** Opens the snapshot files of every group directory in `<dataDir>/groups`, setting each group's compaction. */
async function openSnapshots(fs: FileSystem, dataDir: string, groupOf: (id: string) => GroupLog): Promise<Map<string, SnapshotsAtOpen>> {
  const out = new Map<string, SnapshotsAtOpen>();
  for (const id of await listDir(fs, path.join(dataDir, 'groups'))) {
    if (groupIdProblem(id) !== null) continue;
    const names = await listDir(fs, path.join(dataDir, 'groups', id));
    if (names.some((n) => n === 'hardstate' || isSegmentName(n))) {
      throw new StorageFailedError(`${path.join(dataDir, 'groups', id)} holds a per-group FileStorage: a shared log cannot adopt it (open the host without sharedLog)`);
    }
    if (!names.includes('snapshots')) continue;
    const opened = await SnapshotFiles.open(fs, snapshotDir(dataDir, id));
    out.set(id, opened);
    if (opened.current) groupOf(id).compaction = opened.current.compaction;
  }
  return out;
}

/** Opens the last segment for writing and repairs it: a torn creation gets its header again, a torn last write is cut. */
async function repairLastSegment(fs: FileSystem, file: string, sequence: number, scan: ScanOutcome): Promise<FileHandleLike> {
  const handle = await fs.open(file, 'r+');
  try {
    if (scan.goodEnd === 0) {
      await handle.truncate(0);
      await writeFully(handle, segmentHeader(sequence), 0);
      await handle.datasync();
    } else if (scan.tornTail) {
      await handle.truncate(scan.goodEnd);
      await handle.datasync();
    }
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Writes one Damage record for every group with state (one write, synced); returns the new end of the segment. */
async function recordDamage(handle: FileHandleLike, groups: Map<string, GroupLog>, segment: number, base: number, write: number, reason: string): Promise<number> {
  const payloads: Buffer[] = [];
  const marked: [GroupLog, ReturnType<typeof mergeDamage>][] = [];
  for (const g of groups.values()) {
    if (!g.hasState()) continue;
    const damage = mergeDamage(g.damage, { hardStateMissing: false, truncatedTail: { from: g.lastIndex + 1, reason } });
    payloads.push(encodeGroupRecord(GroupRecordKind.Damage, g.id, damageBody(damage)));
    marked.push([g, damage]);
  }
  if (payloads.length === 0) return base;
  const total = payloads.reduce((n, p) => n + RECORD_HEADER_BYTES + p.length, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  payloads.forEach((p, i) => {
    out.set(p, at + RECORD_HEADER_BYTES);
    writeRecordHeader(out, at, RecordType.Group, i === payloads.length - 1 ? RecordFlag.EndOfWrite : 0, write, base + at, p.length);
    at += RECORD_HEADER_BYTES + p.length;
  });
  await writeFully(handle, out, base);
  await handle.datasync();
  for (const [g, damage] of marked) g.savedDamage(damage, segment);
  return base + total;
}

/** Lists `dir`; nothing when it does not exist. */
export async function listDir(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    if (hasErrorCode(e, 'ENOENT') || hasErrorCode(e, 'ENOTDIR')) return [];
    throw e;
  }
}

/** Deletes a directory tree; one already gone is fine. */
export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
