import * as path from 'path';
import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import { decodeEntries } from '../messages/entryCodec';
import { CorruptLogError } from './fileErrors';
import { FileHandleLike, FileSystem, syncDirectory, writeFully } from './fileSystem';
import {
  checkFileHeader,
  FILE_HEADER_BYTES,
  findRecordsAfter,
  RECORD_HEADER_BYTES,
  RecordFlag,
  RecordType,
  ScannedRecord,
  scanRecords,
  writeFileHeader,
  writeRecordHeader,
} from './fileRecordFraming';

const SEGMENT_MAGIC = 'RXRAFTWL';
const SEGMENT_NAME = /^(\d{16})\.wal$/;

/** The file name of segment `sequence`: 16 decimal digits, so names sort like numbers. */
export function segmentName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.wal`;
}

/** What recovery did at open. */
export interface RecoveryReport {
  /** Segment files read. */
  readonly segments: number;
  /**
   * The torn last write that was cut away (it was never acknowledged), or null when the
   * log ended cleanly. `offset` is where the file now ends; `bytes` how many were removed.
   */
  readonly tornTail: { readonly file: string; readonly offset: number; readonly bytes: number; readonly reason: string } | null;
}

/** A `FileLog` ready for appends, with the entries and report recovery produced. */
export interface OpenedLog {
  readonly log: FileLog;
  readonly entries: Entry[];
  readonly recovery: RecoveryReport;
}

/**
 * The segmented, append-only write-ahead log of one storage directory.
 *
 * Segments are files `<16-digit sequence>.wal`, each a file header then records (see
 * `fileRecordFraming.ts`); every record is an entries block from `encodeEntries`. A
 * record whose first index is at or below the log's last index replaces the suffix from
 * there on, so a conflict truncation and the append that caused it are one atomic record.
 * A new segment is started when a write would push the current one past
 * `maxSegmentBytes` (a single write larger than that gets a segment of its own).
 *
 * Each `append` is one write(2) of all its records followed by one fdatasync, and
 * `append` is never called while another is in flight, so at any time at most the last
 * write in the last segment can be incomplete on disk. Recovery relies on that.
 *
 * @example
 * const { log, entries } = await FileLog.open(nodeFileSystem, dir, 64 << 20);
 * const block = encodeEntries([{ index: entries.length + 1, term: 1, kind: EntryKind.Noop, data: EMPTY_DATA }]);
 * await log.append([block], block.length); // durable when it resolves
 */
export class FileLog {
  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly maxSegmentBytes: number,
    /** Sequence number of the first segment. */
    private readonly firstSequence: number,
    /** Sequence number of the segment being appended to. */
    private lastSequence: number,
    private handle: FileHandleLike,
    /** Invariant: every byte of the last segment before `writeOffset` is written and synced. */
    private writeOffset: number,
    /** Sequence number of the next write(2), stored in its records. */
    private nextWrite: number,
  ) {}

  /**
   * Opens the log in `dir` (creating the first segment if there is none), checks every
   * record, cuts away a torn last write, and returns the log's entries.
   * Throws `CorruptLogError` for damage anywhere but in the last write.
   */
  static async open(fs: FileSystem, dir: string, maxSegmentBytes: number): Promise<OpenedLog> {
    const sequences = await listSegments(fs, dir);
    if (sequences.length === 0) {
      const handle = await createSegment(fs, dir, 1);
      const log = new FileLog(fs, dir, maxSegmentBytes, 1, 1, handle, FILE_HEADER_BYTES, 1);
      return { log, entries: [], recovery: { segments: 0, tornTail: null } };
    }
    const replay = new Replay();
    let tornTail: RecoveryReport['tornTail'] = null;
    let lastBuf: Buffer = Buffer.alloc(0);
    let goodEnd = FILE_HEADER_BYTES;
    for (let i = 0; i < sequences.length; i++) {
      const isLast = i === sequences.length - 1;
      const file = path.join(dir, segmentName(sequences[i]));
      const buf = await fs.readFile(file);
      const headerProblem = checkFileHeader(buf, SEGMENT_MAGIC, sequences[i]);
      if (headerProblem) {
        // A segment is created and synced before any write goes into it, so a bad
        // header can only be a torn creation: last segment, nothing valid after it.
        if (!isLast || findRecordsAfter(buf, FILE_HEADER_BYTES - 1).length > 0) {
          throw new CorruptLogError(file, 0, headerProblem);
        }
        tornTail = { file, offset: 0, bytes: buf.length, reason: headerProblem };
        goodEnd = 0;
        break;
      }
      const scan = scanRecords(buf, FILE_HEADER_BYTES);
      for (const record of scan.records) replay.apply(record, file);
      if (scan.bad) {
        if (!isLast || !replay.badRecordIsInLastWrite(buf, scan.bad.offset)) {
          throw new CorruptLogError(file, scan.bad.offset, scan.bad.reason);
        }
        tornTail = { file, offset: scan.goodEnd, bytes: buf.length - scan.goodEnd, reason: scan.bad.reason };
      }
      lastBuf = buf;
      goodEnd = scan.goodEnd;
    }
    const firstSequence = sequences[0];
    const lastSequence = sequences[sequences.length - 1];
    const handle = await fs.open(path.join(dir, segmentName(lastSequence)), 'r+');
    try {
      if (goodEnd === 0) {
        // Torn creation: write the header again.
        await handle.truncate(0);
        await writeFully(handle, segmentHeader(lastSequence), 0);
        await handle.datasync();
        goodEnd = FILE_HEADER_BYTES;
      } else if (goodEnd < lastBuf.length) {
        await handle.truncate(goodEnd);
        await handle.datasync();
      }
    } catch (e) {
      await handle.close();
      throw e;
    }
    const log = new FileLog(fs, dir, maxSegmentBytes, firstSequence, lastSequence, handle, goodEnd, replay.nextWrite());
    return { log, entries: replay.entries, recovery: { segments: sequences.length, tornTail } };
  }

  /**
   * Appends one Entries record per block, all in one write(2), then fdatasyncs. Resolves
   * once they are durable. Must not be called again before it settles; after it rejects
   * the log must not be used (the file may hold a partial write).
   */
  async append(blocks: readonly Buffer[], payloadBytes: number): Promise<void> {
    const total = blocks.length * RECORD_HEADER_BYTES + payloadBytes;
    if (this.writeOffset > FILE_HEADER_BYTES && this.writeOffset + total > this.maxSegmentBytes) await this.roll();
    const out = Buffer.allocUnsafe(total);
    const write = this.nextWrite;
    const base = this.writeOffset;
    const last = blocks.length - 1;
    let at = 0;
    for (let i = 0; i <= last; i++) {
      const block = blocks[i];
      out.set(block, at + RECORD_HEADER_BYTES);
      writeRecordHeader(out, at, RecordType.Entries, i === last ? RecordFlag.EndOfWrite : 0, write, base + at, block.length);
      at += RECORD_HEADER_BYTES + block.length;
    }
    await writeFully(this.handle, out, base);
    await this.handle.datasync();
    this.writeOffset = base + total;
    this.nextWrite = (write + 1) >>> 0;
  }

  /**
   * Reads every entry written so far back from disk (what a restart would see), checking
   * every record. Safe while appends continue: it reads only bytes already synced.
   */
  async readEntries(): Promise<Entry[]> {
    const lastSequence = this.lastSequence;
    const end = this.writeOffset;
    const replay = new Replay();
    for (let sequence = this.firstSequence; sequence <= lastSequence; sequence++) {
      const file = path.join(this.dir, segmentName(sequence));
      let buf: Buffer = await this.fs.readFile(file);
      if (sequence === lastSequence) buf = buf.subarray(0, end);
      const headerProblem = checkFileHeader(buf, SEGMENT_MAGIC, sequence);
      if (headerProblem) throw new CorruptLogError(file, 0, headerProblem);
      const scan = scanRecords(buf, FILE_HEADER_BYTES);
      for (const record of scan.records) replay.apply(record, file);
      if (scan.bad) throw new CorruptLogError(file, scan.bad.offset, scan.bad.reason);
    }
    return replay.entries;
  }

  /** Closes the current segment. */
  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Starts the next segment; it is created, synced and linked durably before use. */
  private async roll(): Promise<void> {
    const sequence = this.lastSequence + 1;
    const handle = await createSegment(this.fs, this.dir, sequence);
    const previous = this.handle;
    this.handle = handle;
    this.lastSequence = sequence;
    this.writeOffset = FILE_HEADER_BYTES;
    await previous.close();
  }
}

/**
 * Rebuilds the log from records in order and remembers what recovery needs about the
 * last valid record: which write(2) stored it and whether it ended that write.
 */
class Replay {
  readonly entries: Entry[] = [];
  private lastWrite: number | null = null;
  private lastEndedWrite = true;

  apply(record: ScannedRecord, file: string): void {
    const fail = (reason: string) => new CorruptLogError(file, record.offset, reason);
    if (record.type !== RecordType.Entries) throw fail(`unexpected record type ${record.type}`);
    let decoded: Entry[];
    try {
      decoded = decodeEntries(record.payload);
    } catch (e) {
      if (e instanceof InvalidMessageError) throw fail(e.reason);
      throw e;
    }
    if (decoded.length === 0) throw fail('empty entries record');
    const first = decoded[0].index;
    const entries = this.entries;
    if (first < 1 || first > entries.length + 1) throw fail(`entries start at ${first}, the log ends at ${entries.length}`);
    entries.length = first - 1;
    for (let i = 0; i < decoded.length; i++) {
      if (decoded[i].index !== first + i) throw fail(`entry ${i} has index ${decoded[i].index}, expected ${first + i}`);
      entries.push(decoded[i]);
    }
    this.lastWrite = record.write;
    this.lastEndedWrite = (record.flags & RecordFlag.EndOfWrite) !== 0;
  }

  /** The sequence number for the next write(2). */
  nextWrite(): number {
    return this.lastWrite === null ? 1 : (this.lastWrite + 1) >>> 0;
  }

  /**
   * Whether the bad record at `badOffset` in the last segment belongs to the last write
   * (so it was never acknowledged and may be cut away), given the records before it
   * have been applied. Only the last write can be incomplete: each write is synced
   * before the next starts. The bad record belongs to the write after the last valid
   * record's (or to the same write, if that record did not end it); it is the last write
   * iff every valid record found after it belongs to that same write. Nothing valid after
   * it (a prefix of a write, zeros, garbage) is the common torn tail; valid records of
   * the same write after it come from a write that reached the disk out of order.
   */
  badRecordIsInLastWrite(buf: Buffer, badOffset: number): boolean {
    const write = this.lastEndedWrite ? this.nextWrite() : (this.lastWrite as number);
    return findRecordsAfter(buf, badOffset).every((r) => r.write === write);
  }
}

async function listSegments(fs: FileSystem, dir: string): Promise<number[]> {
  const sequences: number[] = [];
  for (const name of await fs.readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) sequences.push(Number(match[1]));
  }
  sequences.sort((a, b) => a - b);
  for (let i = 1; i < sequences.length; i++) {
    if (sequences[i] !== sequences[i - 1] + 1) {
      throw new CorruptLogError(
        path.join(dir, segmentName(sequences[i - 1] + 1)),
        0,
        `segment missing (found ${segmentName(sequences[i - 1])} and ${segmentName(sequences[i])})`,
      );
    }
  }
  return sequences;
}

function segmentHeader(sequence: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  writeFileHeader(header, SEGMENT_MAGIC, sequence);
  return header;
}

/** Creates segment `sequence` with its header, syncs it and the directory entry. */
async function createSegment(fs: FileSystem, dir: string, sequence: number): Promise<FileHandleLike> {
  const handle = await fs.open(path.join(dir, segmentName(sequence)), 'wx', 0o644);
  try {
    await writeFully(handle, segmentHeader(sequence), 0);
    await handle.datasync();
    await syncDirectory(fs, dir);
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}
