import { constants as fsConstants } from 'fs';
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
import { damageBody, encodeGroupRecord, GroupRecordKind, hardStateBody } from './sharedLogRecords';
import type { HardState } from '../messages/persisted';
import type { StorageDamage } from './storage';
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
 * in the log, then the file is removed; a crash in between repeats the marking. A group
 * with a snapshot but no hard state in the log lost its hard state (`hardStateMissing`).
 *
 * @example
 * const recovered = await recoverSharedLog(nodeFileSystem, dataDir, path.join(dataDir, 'wal'), walHandle, false);
 * recovered.groups.get('g1')?.entries; // g1's live log
 */
export async function recoverSharedLog(fs: FileSystem, dataDir: string, walDir: string, directory: FileHandleLike, writeThrough: boolean): Promise<RecoveredLog> {
  const groups = new Map<string, GroupLog>();
  const groupOf = (id: string) => groups.get(id) ?? groups.set(id, new GroupLog(id)).get(id)!;
  const snapshots = await openSnapshots(fs, dataDir, groupOf);
  const removing = (await listDir(fs, path.join(dataDir, 'removing'))).filter((id) => groupIdProblem(id) === null);
  const sequences = await listSegments(fs, walDir);
  let scan: ScanOutcome = { tornTail: null, goodEnd: FILE_HEADER_BYTES, nextWrite: 1 };
  if (sequences.length > 0) scan = await scanSegments(fs, walDir, sequences, (record, segment, file, offset) => groupOf(record.group).replay(record, segment, file, offset));
  const current = sequences.length > 0 ? sequences[sequences.length - 1] : 1;
  const lastFile = path.join(walDir, segmentName(current));
  for (const g of groups.values()) g.finishReplay(lastFile);
  const previous = await DamageRecord.read(fs, walDir);
  const cut = scan.tornTail?.complete ? { from: 0, reason: `torn tail of the shared log: ${scan.tornTail.reason}` } : null;
  const damaged = cut ?? previous?.truncatedTail ?? null;
  if (cut) await DamageRecord.write(fs, walDir, directory, mergeDamage(previous, { hardStateMissing: false, truncatedTail: cut }));
  const handle = sequences.length > 0 ? await repairLastSegment(fs, lastFile, current, scan, writeThrough) : await createSharedSegment(fs, walDir, directory, 1, writeThrough);
  let writeOffset = scan.goodEnd === 0 ? FILE_HEADER_BYTES : scan.goodEnd;
  let nextWrite = scan.nextWrite;
  try {
    const marks = damageMarks(groups, snapshots, damaged?.reason ?? null);
    if (marks.length > 0) {
      writeOffset = await recordDamage(handle, marks, current, writeOffset, nextWrite);
      nextWrite = (nextWrite + 1) >>> 0;
    }
    if (damaged) await DamageRecord.clear(fs, walDir, directory);
  } catch (e) {
    await handle.close();
    throw e;
  }
  return { groups, snapshots, first: sequences[0] ?? 1, current, handle, writeOffset, nextWrite, recovery: { segments: sequences.length, tornTail: scan.tornTail }, removing };
}

/** Damage to record for one group at open, and the hard state to recreate when it was missing. */
interface DamageMark {
  readonly group: GroupLog;
  readonly damage: StorageDamage;
  readonly hardState: HardState | null;
}

/**
 * The damage each group suffered: every group with state, when a complete record was cut
 * (`cutReason`); a group with a snapshot but no hard state in the log (its hard state was
 * lost, e.g. with the log: a snapshot is only ever taken after a term was saved), whose
 * term is then at least its snapshot's or last entry's and whose vote is unknown.
 */
function damageMarks(groups: Map<string, GroupLog>, snapshots: Map<string, SnapshotsAtOpen>, cutReason: string | null): DamageMark[] {
  const marks: DamageMark[] = [];
  for (const g of groups.values()) {
    const snapshot = snapshots.get(g.id)?.current ?? null;
    const lost = snapshot !== null && g.hardStateSegment === null;
    if (!lost && !(cutReason !== null && g.hasState())) continue;
    const tail = cutReason === null ? null : { from: g.lastIndex + 1, reason: cutReason };
    const damage = mergeDamage(g.damage, { hardStateMissing: lost, truncatedTail: tail });
    const lastTerm = g.entries && g.entries.length > 0 ? g.entries[g.entries.length - 1].term : 0;
    marks.push({ group: g, damage, hardState: lost ? { term: Math.max(snapshot.meta.term, lastTerm), votedFor: null } : null });
  }
  return marks;
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
async function repairLastSegment(fs: FileSystem, file: string, sequence: number, scan: ScanOutcome, writeThrough: boolean): Promise<FileHandleLike> {
  const handle = await fs.open(file, writeThrough ? fsConstants.O_RDWR | fsConstants.O_DSYNC : 'r+');
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

/** Writes the marks' Damage (and recreated HardState) records in one write, synced; returns the new end of the segment. */
async function recordDamage(handle: FileHandleLike, marks: readonly DamageMark[], segment: number, base: number, write: number): Promise<number> {
  const payloads: Buffer[] = [];
  for (const { group, damage, hardState } of marks) {
    if (hardState) payloads.push(encodeGroupRecord(GroupRecordKind.HardState, group.id, hardStateBody(hardState)));
    payloads.push(encodeGroupRecord(GroupRecordKind.Damage, group.id, damageBody(damage)));
  }
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
  for (const { group, damage, hardState } of marks) {
    if (hardState) group.savedHardState(hardState, segment);
    group.savedDamage(damage, segment);
  }
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
