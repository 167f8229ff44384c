import { constants as fsConstants } from 'fs';
import * as path from 'path';
import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import { decodeEntries } from '../messages/entryCodec';
import { checkEntryRange } from './entryRange';
import { CorruptLogError } from './fileErrors';
import { FileLogIndex } from './fileLogIndex';
import { readLocatedEntries } from './fileLogReader';
import { RecentRecords } from './recentRecords';
import { SegmentReadHandles } from './segmentReadHandles';
import type { LogCompaction } from './fileSnapshotFormat';
import { createFileWithHeader, FileHandleLike, FileSystem, hasErrorCode, isOutOfDescriptors, writeAllFully, writeFully } from './fileSystem';
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
  writeRecordHeaderFor,
} from './fileRecordFraming';

const SEGMENT_MAGIC = 'RXRAFTWL';
const SEGMENT_NAME = /^(\d{16})\.wal$/;

/** Whether `name` is a segment's file name. */
export function isSegmentName(name: string): boolean {
  return SEGMENT_NAME.test(name);
}

/** The file name of segment `sequence`: 16 decimal digits, so names sort like numbers. */
export function segmentName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.wal`;
}

/**
 * What recovery did at open (`FileStorage.recovery`).
 *
 * @example
 * const storage = await FileStorage.open(dir);
 * if (storage.recovery.tornTail) log.warn(storage.recovery.tornTail, 'cut a torn write at the end of the log');
 */
export interface RecoveryReport {
  /** Segment files read. */
  readonly segments: number;
  /**
   * The torn last write that was cut away (it was never acknowledged), or null when the
   * log ended cleanly. `offset` is where the file now ends; `bytes` how many were removed.
   */
  readonly tornTail: {
    readonly file: string;
    readonly offset: number;
    readonly bytes: number;
    readonly reason: string;
    /**
     * Whether the first cut record was there to its full length and failed its check
     * (checksum, header fields). A record cut short was being written when the process
     * died: its write never completed, so it was never acknowledged. A full-length record
     * that fails its check may be a torn write too (blocks persisted out of order) or
     * damage to an acknowledged record; the two look the same.
     */
    readonly complete: boolean;
    /**
     * The first log index the cut records may have held: entries from here on may be
     * gone (one past the last entry kept, or lower when the cut record still names the
     * index it started at, e.g. a conflict truncation).
     */
    readonly from: number;
  } | null;
}

/** Called by `FileLog.open` before it cuts records from the end of the log (to record the loss durably first). */
export type BeforeCut = (tornTail: NonNullable<RecoveryReport['tornTail']>) => Promise<void>;

/** Largest size a segment may reach when its rollover is put off (record offsets are 32-bit). */
const MAX_SEGMENT_FILE_BYTES = 0xffff_ffff;

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
 * `maxSegmentBytes` (a single write larger than that gets a segment of its own). When
 * the process has no file descriptor left to create it (EMFILE/ENFILE: nothing was
 * created), the write goes into the current segment instead and the rollover is tried
 * again at the next write: appends never need a new descriptor (issue 18, finding 3).
 * The directory is fsynced through a descriptor held by the caller.
 *
 * Each `append` is one write(2) of all its records, made durable by the O_DSYNC the
 * segments are opened with (one thread-pool round trip), or else by an fdatasync after
 * it; `append` is never called while another is in flight, so at any time at most the
 * last write in the last segment can be incomplete on disk. Recovery relies on that.
 *
 * Compaction (`LogCompaction`, committed by a snapshot): entries at or below
 * `compactedThrough` are gone, and segments before `firstLiveSegment` hold only discarded
 * records. `compact` deletes the oldest segments, in order, while each lies wholly in the
 * compacted part (every entry it ever received is at or below `compactedThrough`, or it
 * is before `firstLiveSegment`); the segment being appended to is never deleted. Replay
 * then starts at the first segment left: a record may start anywhere inside the compacted
 * part (what came before it is gone), and the entries it rebuilds at or below
 * `compactedThrough` are dropped, so the log read back holds exactly the entries after
 * the compaction point. A crash while deleting can leave any subset of the doomed
 * segments; at open, segments before a gap in the numbering are accepted as such
 * leftovers (and deleted) only if they too lie wholly in the compacted part.
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
    /** Open on `dir`, for fsyncs of the directory; owned by the caller. */
    private readonly directory: FileHandleLike,
    private readonly maxSegmentBytes: number,
    /** Sequence number of the first segment. */
    private firstSequence: number,
    /** Sequence number of the segment being appended to. */
    private lastSequence: number,
    private handle: FileHandleLike,
    /** Invariant: every byte of the last segment before `writeOffset` is written and synced. */
    private writeOffset: number,
    /** Sequence number of the next write(2), stored in its records. */
    private nextWrite: number,
    /** The compaction in effect (from the current snapshot). */
    private compaction: LogCompaction,
    /**
     * The highest entry index each segment from `firstSequence` on ever received (0 for
     * none): a segment at or below the compaction point holds nothing still needed.
     */
    private readonly maxIndexes: Map<number, number>,
    /** Segments are opened with O_DSYNC: each write(2) is durable when it returns, no fdatasync. */
    private readonly writeThrough: boolean,
    /**
     * Where each durable entry after the compaction point lies (rebuilt at open).
     * Invariant: it indexes exactly the entries written durably and not replaced or compacted.
     */
    private readonly index: FileLogIndex,
  ) {
    this.readHandles = new SegmentReadHandles(fs);
  }

  /** Rollovers put off because no file descriptor was left (for tests and metrics). */
  deferredRolls = 0;

  /** The records `readRange` last stopped inside, decoded: a big record sent to a follower one message at a time is read once. */
  private readonly recent = new RecentRecords();

  /** Segment files kept open for `readRange` (a lagging follower's entries are read back read after read). */
  private readonly readHandles: SegmentReadHandles;

  /**
   * Opens the log in `dir` (creating the first segment if there is none), checks every
   * record, cuts away a torn last write, deletes segments the compaction left behind, and
   * returns the log's entries after the compaction point. `compaction` is null when there
   * is no snapshot. Throws `CorruptLogError` for damage anywhere but in the last write.
   */
  static async open(
    fs: FileSystem,
    dir: string,
    directory: FileHandleLike,
    maxSegmentBytes: number,
    compaction: LogCompaction | null,
    writeThrough = false,
    beforeCut: BeforeCut = async () => undefined,
  ): Promise<OpenedLog> {
    const compacted = compaction ?? { compactedThrough: 0, firstLiveSegment: 1 };
    const { sequences, doomed } = await liveSegments(fs, dir, compacted, compaction !== null);
    if (sequences.length === 0) {
      const handle = await createSegment(fs, dir, directory, 1, writeThrough);
      const log = new FileLog(fs, dir, directory, maxSegmentBytes, 1, 1, handle, FILE_HEADER_BYTES, 1, compacted, new Map([[1, 0]]), writeThrough, new FileLogIndex());
      return { log, entries: [], recovery: { segments: 0, tornTail: null } };
    }
    const replay = new Replay(compacted.compactedThrough);
    const replayed = await replaySegments(fs, dir, sequences, replay);
    const firstSequence = sequences[0];
    const lastSequence = sequences[sequences.length - 1];
    const { handle, goodEnd } = await openLastSegment(fs, dir, lastSequence, writeThrough, replayed, beforeCut);
    const { maxIndexes, tornTail } = replayed;
    replay.index.compact(compacted.compactedThrough, compacted.firstLiveSegment);
    const log = new FileLog(fs, dir, directory, maxSegmentBytes, firstSequence, lastSequence, handle, goodEnd, replay.nextWrite(), compacted, maxIndexes, writeThrough, replay.index);
    try {
      // Finish a deletion a crash interrupted.
      for (const sequence of doomed) await unlinkIfExists(fs, path.join(dir, segmentName(sequence)));
      await log.deleteCompactedSegments();
    } catch (e) {
      await handle.close();
      throw e;
    }
    return { log, entries: replay.liveEntries(), recovery: { segments: sequences.length, tornTail } };
  }

  /**
   * Appends one Entries record per block, all in one durable write (see the class). Resolves
   * once they are durable. `maxIndex` is the highest entry index among the blocks. Must
   * not be called again before it settles; after it rejects the log must not be used
   * (the file may hold a partial write).
   */
  async append(blocks: readonly Buffer[], payloadBytes: number, maxIndex: number): Promise<void> {
    const total = blocks.length * RECORD_HEADER_BYTES + payloadBytes;
    if (this.writeOffset > FILE_HEADER_BYTES && this.writeOffset + total > this.maxSegmentBytes) {
      try {
        await this.roll();
      } catch (e) {
        // Out of descriptors: nothing was created; keep writing here while the format allows.
        if (!isOutOfDescriptors(e) || this.writeOffset + total > MAX_SEGMENT_FILE_BYTES) throw e;
        this.deferredRolls++;
      }
    }
    if (maxIndex > (this.maxIndexes.get(this.lastSequence) ?? 0)) this.maxIndexes.set(this.lastSequence, maxIndex);
    const write = this.nextWrite;
    const base = this.writeOffset;
    const pieces = entriesRecords(blocks, total, write, base, this.handle.writev !== undefined);
    const sequence = this.lastSequence;
    await writeAllFully(this.handle, pieces, base);
    if (!this.writeThrough) await this.handle.datasync();
    this.writeOffset = base + total;
    this.nextWrite = (write + 1) >>> 0;
    // Durable now: index the records.
    let at = base;
    for (const block of blocks) {
      const { first, count } = blockRange(block);
      if (count > 0) this.index.add(first, first + count - 1, sequence, at, block.length);
      at += RECORD_HEADER_BYTES + block.length;
    }
  }

  /**
   * The durable entries `[from, to)`, at most `maxBytes` of payload beyond the first, read
   * from the segments through the index (see `Storage.readEntries`). The records are
   * located when it is called: bytes once durable are never overwritten, so appends and
   * truncations meanwhile do not change the result; a compaction that deletes a segment
   * meanwhile makes it reject with `EntryRangeError`. May overlap any other call.
   */
  readRange(from: number, to: number, maxBytes: number): Promise<Entry[]> {
    const compactedThrough = this.compaction.compactedThrough;
    const first = this.index.firstIndex;
    const last = this.index.lastIndex;
    const available = first === null || last === null || last <= compactedThrough ? null : { first: Math.max(first, compactedThrough + 1), last };
    try {
      checkEntryRange(from, to, maxBytes, available, compactedThrough);
    } catch (e) {
      return Promise.reject(e);
    }
    const rows = this.index.locateRange(from, to);
    return readLocatedEntries(this.readHandles, (sequence) => path.join(this.dir, segmentName(sequence)), rows, { from, to, maxBytes, available }, { recent: this.recent });
  }

  /**
   * Reads the entries after the compaction point back from disk (what a restart would
   * see), checking every record. Must not overlap `append`, `startFreshSegment` or
   * `compact`.
   */
  async readAll(): Promise<Entry[]> {
    const replay = new Replay(this.compaction.compactedThrough);
    const first = Math.max(this.firstSequence, this.compaction.firstLiveSegment);
    for (let sequence = first; sequence <= this.lastSequence; sequence++) {
      const file = path.join(this.dir, segmentName(sequence));
      let buf: Buffer = await this.fs.readFile(file);
      if (sequence === this.lastSequence) buf = buf.subarray(0, this.writeOffset);
      const headerProblem = checkFileHeader(buf, SEGMENT_MAGIC, sequence);
      if (headerProblem) throw new CorruptLogError(file, 0, headerProblem);
      const scan = scanRecords(buf, FILE_HEADER_BYTES);
      for (const record of scan.records) replay.apply(record, file, sequence);
      if (scan.bad) throw new CorruptLogError(file, scan.bad.offset, scan.bad.reason);
    }
    return replay.liveEntries();
  }

  /**
   * Makes sure the next append goes into a segment holding no records yet (starting one
   * if the current segment has any), and returns its sequence: the `firstLiveSegment` of
   * a `discardLog` compaction.
   */
  async startFreshSegment(): Promise<number> {
    if (this.writeOffset > FILE_HEADER_BYTES) await this.roll();
    return this.lastSequence;
  }

  /**
   * Puts `compaction` (already durable in a snapshot) in effect and deletes the segments
   * it made useless, oldest first.
   */
  async compact(compaction: LogCompaction): Promise<void> {
    this.compaction = compaction;
    this.index.compact(compaction.compactedThrough, compaction.firstLiveSegment);
    await this.deleteCompactedSegments();
  }

  /** Deletes the oldest segments while they lie wholly in the compacted part (never the current one). */
  private async deleteCompactedSegments(): Promise<void> {
    const { compactedThrough, firstLiveSegment } = this.compaction;
    while (this.firstSequence < this.lastSequence) {
      const sequence = this.firstSequence;
      if (sequence >= firstLiveSegment && (this.maxIndexes.get(sequence) ?? 0) > compactedThrough) break;
      await this.readHandles.retireBefore(sequence + 1); // before the unlink: a deleted segment is never read through a kept handle
      await unlinkIfExists(this.fs, path.join(this.dir, segmentName(sequence)));
      this.maxIndexes.delete(sequence);
      this.firstSequence = sequence + 1;
      this.recent.dropBefore(this.firstSequence);
    }
  }

  /** Closes the current segment and the segments kept open for reads (those of reads in flight once they end). */
  async close(): Promise<void> {
    try {
      await this.readHandles.close();
    } finally {
      await this.handle.close();
    }
  }

  /** Starts the next segment; it is created, synced and linked durably before use. */
  private async roll(): Promise<void> {
    const sequence = this.lastSequence + 1;
    const handle = await createSegment(this.fs, this.dir, this.directory, sequence, this.writeThrough);
    const previous = this.handle;
    this.handle = handle;
    this.lastSequence = sequence;
    this.maxIndexes.set(sequence, 0);
    this.writeOffset = FILE_HEADER_BYTES;
    await previous.close();
  }
}

/**
 * Rebuilds the log from records in order and remembers what recovery needs about the
 * last valid record: which write(2) stored it and whether it ended that write.
 *
 * A record whose first index lies inside the log replaces the suffix from there on. One
 * that does not may still start anywhere up to `compactedThrough + 1`: what it would
 * follow is compacted away (possibly with the segments that held it), so it starts the
 * log anew. Anything else is a gap: damage.
 */
class Replay {
  /** The log rebuilt so far. Invariant: contiguous. */
  private entries: Entry[] = [];
  private lastWrite: number | null = null;
  private lastEndedWrite = true;
  /** Where the entries rebuilt so far lie. */
  readonly index = new FileLogIndex();

  constructor(private readonly compactedThrough: number) {}

  /** Applies one record of segment `sequence`; returns its last entry's index. */
  apply(record: ScannedRecord, file: string, sequence: number): number {
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
    const start = entries.length > 0 ? entries[0].index : 0;
    const end = start + entries.length;
    if (entries.length > 0 && first >= start && first <= end) {
      entries.length = first - start;
    } else if (first >= 1 && first - 1 <= this.compactedThrough) {
      entries.length = 0;
    } else {
      const ends = entries.length > 0 ? end - 1 : this.compactedThrough;
      throw fail(first < start ? `entries start at ${first}, before the log's first entry ${start}` : `entries start at ${first}, the log ends at ${ends}`);
    }
    for (let i = 0; i < decoded.length; i++) {
      if (decoded[i].index !== first + i) throw fail(`entry ${i} has index ${decoded[i].index}, expected ${first + i}`);
      entries.push(decoded[i]);
    }
    this.lastWrite = record.write;
    this.lastEndedWrite = (record.flags & RecordFlag.EndOfWrite) !== 0;
    this.index.add(first, first + decoded.length - 1, sequence, record.offset, record.payload.length);
    return first + decoded.length - 1;
  }

  /** The entries after the compaction point: starting at `compactedThrough + 1`, or none. */
  liveEntries(): Entry[] {
    const entries = this.entries;
    if (entries.length === 0) return entries;
    return entries.slice(Math.max(0, this.compactedThrough + 1 - entries[0].index));
  }

  /** The last index of the log rebuilt so far (the compaction point when it is empty). */
  lastIndex(): number {
    const entries = this.entries;
    return entries.length > 0 ? entries[entries.length - 1].index : this.compactedThrough;
  }

  /**
   * The first index the bad record at `badOffset` (about to be cut) may have held: one
   * past the log's end, or the first index its payload still names when that lies
   * inside the log (a conflict truncation that replaced a suffix). Best effort: the
   * record is damaged, so a value outside the log is ignored.
   */
  firstIndexCutBy(buf: Buffer, badOffset: number): number {
    const next = this.lastIndex() + 1;
    const at = badOffset + RECORD_HEADER_BYTES + 4; // the block's u32 count, then the first entry's index
    if (buf.length < at + 8 || buf[badOffset + 8] !== RecordType.Entries) return next;
    const named = buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
    return named >= Math.max(1, this.compactedThrough + 1) && named < next ? named : next;
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

/**
 * The segments to replay, in order and contiguous, and the ones compaction left behind
 * (to delete once the rest is known to be intact): those before `firstLiveSegment`, and
 * those before a gap in the numbering when every entry they hold is compacted (a crash
 * interrupted their deletion). Any other gap means a lost segment: `CorruptLogError`.
 * With a snapshot there is always a segment left (the one being appended to is never
 * deleted).
 */
async function liveSegments(
  fs: FileSystem,
  dir: string,
  compaction: LogCompaction,
  hasSnapshot: boolean,
): Promise<{ sequences: number[]; doomed: number[] }> {
  let sequences: number[] = [];
  for (const name of await fs.readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) sequences.push(Number(match[1]));
  }
  sequences.sort((a, b) => a - b);
  const doomed = sequences.filter((s) => s < compaction.firstLiveSegment);
  sequences = sequences.slice(doomed.length);
  let gap = 0; // sequences[gap - 1] + 1 is missing
  for (let i = 1; i < sequences.length; i++) if (sequences[i] !== sequences[i - 1] + 1) gap = i;
  for (const sequence of sequences.slice(0, gap)) {
    const max = await maxIndexOf(fs, path.join(dir, segmentName(sequence)), sequence);
    if (max === null || max > compaction.compactedThrough) {
      throw new CorruptLogError(
        path.join(dir, segmentName(sequences[gap - 1] + 1)),
        0,
        `segment missing (found ${segmentName(sequences[gap - 1])} and ${segmentName(sequences[gap])})`,
      );
    }
    doomed.push(sequence);
  }
  sequences = sequences.slice(gap);
  if (hasSnapshot && sequences.length === 0) {
    throw new CorruptLogError(path.join(dir, segmentName(compaction.firstLiveSegment)), 0, 'segment missing (no segment left after the snapshot)');
  }
  return { sequences, doomed };
}

/** The highest entry index in a segment, or null if it is not an intact segment. */
async function maxIndexOf(fs: FileSystem, file: string, sequence: number): Promise<number | null> {
  const buf = await fs.readFile(file);
  if (checkFileHeader(buf, SEGMENT_MAGIC, sequence)) return null;
  const scan = scanRecords(buf, FILE_HEADER_BYTES);
  if (scan.bad) return null;
  let max = 0;
  for (const record of scan.records) {
    if (record.type !== RecordType.Entries) return null;
    try {
      const decoded = decodeEntries(record.payload);
      if (decoded.length > 0) max = Math.max(max, decoded[decoded.length - 1].index);
    } catch {
      return null;
    }
  }
  return max;
}

/** The first index and the count of an entries block (see `encodeEntries`), read from its header. */
function blockRange(block: Buffer): { first: number; count: number } {
  const count = block.readUInt32BE(0);
  const first = count > 0 ? block.readUInt32BE(4) * 0x1_0000_0000 + block.readUInt32BE(8) : 0;
  return { first, count };
}

async function unlinkIfExists(fs: FileSystem, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if (!hasErrorCode(e, 'ENOENT')) throw e;
  }
}

function segmentHeader(sequence: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  writeFileHeader(header, SEGMENT_MAGIC, sequence);
  return header;
}

/** Creates segment `sequence` with its header, syncs it and the directory entry (through `directory`). */
async function createSegment(fs: FileSystem, dir: string, directory: FileHandleLike, sequence: number, writeThrough: boolean): Promise<FileHandleLike> {
  return createFileWithHeader(fs, path.join(dir, segmentName(sequence)), directory, segmentHeader(sequence), writeThrough);
}

/** What replaying the live segments found about the last one. */
interface ReplayedSegments {
  /** The highest entry index each segment ever received (0 for none). */
  readonly maxIndexes: Map<number, number>;
  /** A torn last write or segment creation, if recovery found one. */
  readonly tornTail: RecoveryReport['tornTail'];
  /** The bytes of the last segment whose header was good. */
  readonly lastBuf: Buffer;
  /** Where the last segment's good records end; 0 when its header was torn. */
  readonly goodEnd: number;
}

/**
 * Reads the segments `sequences` in order and feeds their records to `replay`. Damage is
 * tolerated only in the last write of the last segment (reported as `tornTail`);
 * anywhere else it throws `CorruptLogError`.
 */
async function replaySegments(fs: FileSystem, dir: string, sequences: readonly number[], replay: Replay): Promise<ReplayedSegments> {
  const maxIndexes = new Map<number, number>();
  let tornTail: RecoveryReport['tornTail'] = null;
  let lastBuf: Buffer = Buffer.alloc(0);
  let goodEnd = FILE_HEADER_BYTES;
  for (let i = 0; i < sequences.length; i++) {
    const isLast = i === sequences.length - 1;
    const file = path.join(dir, segmentName(sequences[i]));
    const buf = await fs.readFile(file);
    maxIndexes.set(sequences[i], 0);
    const headerProblem = checkFileHeader(buf, SEGMENT_MAGIC, sequences[i]);
    if (headerProblem) {
      // A segment is created and synced before any write goes into it, so a bad
      // header can only be a torn creation: last segment, nothing valid after it.
      if (!isLast || findRecordsAfter(buf, FILE_HEADER_BYTES - 1).length > 0) {
        throw new CorruptLogError(file, 0, headerProblem);
      }
      // No record was ever in it: nothing is lost.
      tornTail = { file, offset: 0, bytes: buf.length, reason: headerProblem, complete: false, from: replay.lastIndex() + 1 };
      goodEnd = 0;
      break;
    }
    const scan = scanRecords(buf, FILE_HEADER_BYTES);
    for (const record of scan.records) {
      const last = replay.apply(record, file, sequences[i]);
      if (last > (maxIndexes.get(sequences[i]) as number)) maxIndexes.set(sequences[i], last);
    }
    if (scan.bad) {
      if (!isLast || !replay.badRecordIsInLastWrite(buf, scan.bad.offset)) {
        throw new CorruptLogError(file, scan.bad.offset, scan.bad.reason);
      }
      const from = replay.firstIndexCutBy(buf, scan.bad.offset);
      const at = scan.bad.offset;
      const complete = buf.length - at >= RECORD_HEADER_BYTES && at + RECORD_HEADER_BYTES + buf.readUInt32BE(at + 4) <= buf.length;
      tornTail = { file, offset: scan.goodEnd, bytes: buf.length - scan.goodEnd, reason: scan.bad.reason, complete, from };
    }
    lastBuf = buf;
    goodEnd = scan.goodEnd;
  }
  return { maxIndexes, tornTail, lastBuf, goodEnd };
}

/**
 * Opens the last segment for appending and repairs its torn tail: a torn creation gets
 * its header written again, a torn last write is cut away (after `beforeCut`). Returns
 * the handle and the offset the next write goes to.
 */
async function openLastSegment(
  fs: FileSystem,
  dir: string,
  lastSequence: number,
  writeThrough: boolean,
  replayed: ReplayedSegments,
  beforeCut: BeforeCut,
): Promise<{ readonly handle: FileHandleLike; readonly goodEnd: number }> {
  const { tornTail, lastBuf } = replayed;
  let goodEnd = replayed.goodEnd;
  const handle = await fs.open(path.join(dir, segmentName(lastSequence)), writeThrough ? fsConstants.O_RDWR | fsConstants.O_DSYNC : 'r+');
  try {
    if (goodEnd === 0) {
      // Torn creation: write the header again.
      await handle.truncate(0);
      await writeFully(handle, segmentHeader(lastSequence), 0);
      await handle.datasync();
      goodEnd = FILE_HEADER_BYTES;
    } else if (goodEnd < lastBuf.length) {
      await beforeCut(tornTail as NonNullable<RecoveryReport['tornTail']>);
      await handle.truncate(goodEnd);
      await handle.datasync();
    }
  } catch (e) {
    await handle.close();
    throw e;
  }
  return { handle, goodEnd };
}

/**
 * Blocks at least this large are written as they are, after their record header, rather
 * than copied into the write's buffer (with a handle that has `writev`).
 */
export const UNCOPIED_BLOCK_BYTES = 16 * 1024;

/**
 * One write's Entries records — `total` bytes at file offset `base`, the last flagged
 * `EndOfWrite` — as the buffers to write back to back: headers and small blocks copied
 * into one buffer, large blocks (`UNCOPIED_BLOCK_BYTES`, when `uncopied` is allowed)
 * passed as they are between its slices.
 */
function entriesRecords(blocks: readonly Buffer[], total: number, write: number, base: number, uncopied: boolean): Uint8Array[] {
  const large = (block: Buffer) => uncopied && block.length >= UNCOPIED_BLOCK_BYTES;
  let copied = total;
  for (const block of blocks) if (large(block)) copied -= block.length;
  const out = Buffer.allocUnsafe(copied);
  const pieces: Uint8Array[] = [];
  let o = 0;
  let runStart = 0;
  let at = 0;
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    const flags = i === blocks.length - 1 ? RecordFlag.EndOfWrite : 0;
    if (large(block)) {
      writeRecordHeaderFor(out, o, RecordType.Entries, flags, write, base + at, block);
      o += RECORD_HEADER_BYTES;
      pieces.push(out.subarray(runStart, o), block);
      runStart = o;
    } else {
      out.set(block, o + RECORD_HEADER_BYTES);
      writeRecordHeader(out, o, RecordType.Entries, flags, write, base + at, block.length);
      o += RECORD_HEADER_BYTES + block.length;
    }
    at += RECORD_HEADER_BYTES + block.length;
  }
  if (o > runStart) pieces.push(out.subarray(runStart, o));
  return pieces;
}
