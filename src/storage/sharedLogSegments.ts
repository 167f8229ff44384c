import * as path from 'path';
import { InvalidMessageError } from '../errors';
import { CorruptLogError } from './fileErrors';
import { isSegmentName, segmentName } from './fileLog';
import {
  checkFileHeader,
  FILE_HEADER_BYTES,
  findRecordsAfter,
  RECORD_HEADER_BYTES,
  RecordFlag,
  RecordType,
  scanRecords,
  writeFileHeader,
} from './fileRecordFraming';
import { createFileWithHeader, FileHandleLike, FileSystem } from './fileSystem';
import { decodeGroupRecord, GroupRecord } from './sharedLogRecords';

/** The magic of a shared write-ahead log segment (`<16-digit sequence>.wal` in `<dataDir>/wal/`). */
export const SHARED_SEGMENT_MAGIC = 'RXRAFTSW';

/** A torn last write cut away at open (never acknowledged; see `RecoveryReport`). */
export interface SharedTornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
  /** Whether the first cut record was there to its full length (it may then have been acknowledged: damage). */
  readonly complete: boolean;
}

/** What `scanSegments` found about the end of the log. */
export interface ScanOutcome {
  readonly tornTail: SharedTornTail | null;
  /** Where the last segment's good records end; 0 when its header was torn. */
  readonly goodEnd: number;
  /** The sequence number for the next write(2). */
  readonly nextWrite: number;
}

/** Called for every valid group record, in log order. */
export type VisitRecord = (record: GroupRecord, segment: number, file: string, offset: number) => void;

/**
 * The segment sequences in `dir`, sorted. They must be contiguous: segments are deleted
 * oldest first, each deletion made durable before the next, so a gap is a lost segment
 * (`CorruptLogError`).
 *
 * @example
 * await listSegments(nodeFileSystem, '/data/wal'); // [7, 8, 9]
 */
export async function listSegments(fs: FileSystem, dir: string): Promise<number[]> {
  const sequences = (await fs.readdir(dir)).filter(isSegmentName).map((name) => Number(name.slice(0, 16)));
  sequences.sort((a, b) => a - b);
  for (let i = 1; i < sequences.length; i++) {
    if (sequences[i] !== sequences[i - 1] + 1) {
      throw new CorruptLogError(path.join(dir, segmentName(sequences[i - 1] + 1)), 0, `segment missing (found ${segmentName(sequences[i - 1])} and ${segmentName(sequences[i])})`);
    }
  }
  return sequences;
}

/**
 * Creates segment `sequence` with its header, syncs it and the directory entry (through
 * `directory`); with `writeThrough` it is opened O_DSYNC (each write durable when it returns).
 */
export async function createSharedSegment(fs: FileSystem, dir: string, directory: FileHandleLike, sequence: number, writeThrough: boolean): Promise<FileHandleLike> {
  return createFileWithHeader(fs, path.join(dir, segmentName(sequence)), directory, segmentHeader(sequence), writeThrough);
}

/** The 16-byte header of segment `sequence`. */
export function segmentHeader(sequence: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  writeFileHeader(header, SHARED_SEGMENT_MAGIC, sequence);
  return header;
}

/**
 * Reads segments `sequences` of `dir` in order (at open) and hands every group record to
 * `visit`. Damage is tolerated only in the last write of the last segment (the torn
 * tail, reported; one write is synced before the next starts, so only the last can be
 * incomplete); anywhere else it throws `CorruptLogError`.
 */
export async function scanSegments(fs: FileSystem, dir: string, sequences: readonly number[], visit: VisitRecord): Promise<ScanOutcome> {
  const writes = new WriteTracker();
  for (let i = 0; i < sequences.length; i++) {
    const isLast = i === sequences.length - 1;
    const file = path.join(dir, segmentName(sequences[i]));
    const buf = await fs.readFile(file);
    const headerProblem = checkFileHeader(buf, SHARED_SEGMENT_MAGIC, sequences[i]);
    if (headerProblem) {
      // Created and synced before any write goes in: a bad header is a torn creation, empty.
      if (!isLast || findRecordsAfter(buf, FILE_HEADER_BYTES - 1).length > 0) throw new CorruptLogError(file, 0, headerProblem);
      return { tornTail: { file, offset: 0, bytes: buf.length, reason: headerProblem, complete: false }, goodEnd: 0, nextWrite: writes.nextWrite() };
    }
    const scan = scanRecords(buf, FILE_HEADER_BYTES);
    for (const record of scan.records) {
      const fail = (reason: string) => new CorruptLogError(file, record.offset, reason);
      if (record.type !== RecordType.Group) throw fail(`unexpected record type ${record.type}`);
      let decoded: GroupRecord;
      try {
        decoded = decodeGroupRecord(record.payload);
      } catch (e) {
        throw e instanceof InvalidMessageError ? fail(e.reason) : e;
      }
      visit(decoded, sequences[i], file, record.offset);
      writes.saw(record.write, (record.flags & RecordFlag.EndOfWrite) !== 0);
    }
    if (scan.bad) {
      if (!isLast || !writes.isLastWrite(buf, scan.bad.offset)) throw new CorruptLogError(file, scan.bad.offset, scan.bad.reason);
      const at = scan.bad.offset;
      const complete = buf.length - at >= RECORD_HEADER_BYTES && at + RECORD_HEADER_BYTES + buf.readUInt32BE(at + 4) <= buf.length;
      return { tornTail: { file, offset: at, bytes: buf.length - at, reason: scan.bad.reason, complete }, goodEnd: at, nextWrite: writes.nextWrite() };
    }
    if (isLast) return { tornTail: null, goodEnd: scan.goodEnd, nextWrite: writes.nextWrite() };
  }
  return { tornTail: null, goodEnd: FILE_HEADER_BYTES, nextWrite: writes.nextWrite() };
}

/** Which write(2) the records seen so far came from (as in `FileLog`'s replay). */
class WriteTracker {
  private lastWrite: number | null = null;
  private lastEndedWrite = true;

  saw(write: number, endedWrite: boolean): void {
    this.lastWrite = write;
    this.lastEndedWrite = endedWrite;
  }

  nextWrite(): number {
    return this.lastWrite === null ? 1 : (this.lastWrite + 1) >>> 0;
  }

  /**
   * Whether the bad record at `badOffset` belongs to the last write: every valid record
   * found after it belongs to the write it belongs to.
   */
  isLastWrite(buf: Buffer, badOffset: number): boolean {
    const write = this.lastEndedWrite ? this.nextWrite() : (this.lastWrite as number);
    return findRecordsAfter(buf, badOffset).every((r) => r.write === write);
  }
}
