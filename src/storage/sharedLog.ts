import { constants as fsConstants } from 'fs';
import * as path from 'path';
import { RaftError, StorageFailedError } from '../errors';
import { entriesBlock } from '../messages/entryBlocks';
import type { Entry } from '../messages/entry';
import { DirectoryLock } from './fileDirectoryLock';
import { segmentName } from './fileLog';
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES, RecordFlag, RecordType, writeRecordHeader } from './fileRecordFraming';
import { FileHandleLike, FileSystem, nodeFileSystem, syncDirectory, unlinkIfExists, writeFully } from './fileSystem';
import { GroupLog } from './sharedLogGroups';
import { damageBody, decodeGroupRecord, GroupRecordKind, GroupRecordParts, groupRecordBytes, hardStateBody, writeGroupRecord } from './sharedLogRecords';
import type { RecordLocation } from './fileLogIndex';
import { LocatedRange, readLocatedEntries } from './fileLogReader';
import { RecentRecords } from './recentRecords';
import { ReadHandleStats, SegmentReadHandles } from './segmentReadHandles';
import { CorruptLogError } from './fileErrors';
import { InvalidMessageError } from '../errors';
import { createSharedSegment, SharedTornTail } from './sharedLogSegments';
import { recoverSharedLog, removeTree, SnapshotsAtOpen } from './sharedLogRecovery';
import { BatchedWrites } from './batchedWrites';

/**
 * Options of a host's shared write-ahead log (`groupStorage({ dataDir, sharedLog })`).
 *
 * @example
 * const storage = groupStorage({ dataDir: '/var/lib/shards', sharedLog: { maxSegmentBytes: 16 << 20 } });
 */
export interface SharedLogOptions {
  /** A segment is closed and the next one started when a write would take it past this size (default 64 MiB). */
  readonly maxSegmentBytes?: number;
  /**
   * The oldest segment, when only a few groups' records still pin it, is freed by
   * rewriting those records into the current segment, if they total at most this many
   * bytes (default: a quarter of `maxSegmentBytes`). Past it the segment stays.
   */
  readonly rewriteBudgetBytes?: number;
  /** File-system operations (default: `fs/promises`); tests pass a facade that fails or counts. */
  readonly fs?: FileSystem;
  /**
   * How a flush is made durable: `'fdatasync'` writes, then fdatasyncs; `'dsync'` opens
   * segments O_DSYNC so the write itself is durable (one thread-pool round trip instead
   * of two). Default: `'dsync'` with the real file system (where the platform has
   * O_DSYNC), `'fdatasync'` with a custom `fs`.
   */
  readonly logSync?: 'dsync' | 'fdatasync';
}

/** Counters of a `SharedLog` (for tests, benchmarks and metrics). */
export interface SharedLogStats {
  /** write(2) calls of log records: one per flush, however many groups wrote in it. */
  readonly writes: number;
  /** Syncs of the log: one per flush (its fdatasync, or its O_DSYNC write), plus two per segment created and one per segment freed. */
  readonly fsyncs: number;
  /** Segment files now. */
  readonly segments: number;
  /** Segments deleted because no live group needed them. */
  readonly freedSegments: number;
  /** Rewrites of a few groups' live records out of the oldest segment, so it could be freed. */
  readonly rewrites: number;
  /** Groups the log knows of (with live records, or open). */
  readonly groups: number;
}

/** What recovery did at open. */
export interface SharedLogRecovery {
  readonly segments: number;
  /** A torn last write cut away, or null. A complete cut record is reported as damage to every group (`StorageDamage`). */
  readonly tornTail: SharedTornTail | null;
}

/** One call waiting for the log, settled in call order. */
interface LogOp {
  /** A group record to write, or null (a barrier, or a task). */
  readonly record: GroupRecordParts | null;
  /** Called once the record is durable in segment `segment`, its header at byte `offset`. */
  readonly applied: ((segment: number, offset: number) => void) | null;
  /** Runs alone, in order; a throw rejects this op only (unless the log failed meanwhile). */
  readonly task: (() => Promise<void>) | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export const DEFAULT_SHARED_SEGMENT_BYTES = 64 * 1024 * 1024;

/**
 * One write-ahead log shared by every Raft group of a host, in `<dataDir>/wal/`: segment
 * files `<16-digit sequence>.wal` holding group-tagged records (`sharedLogRecords.ts`),
 * CRC-framed like `FileStorage`'s (`fileRecordFraming.ts`). Each group reads and writes
 * it through its own `SharedLogStorage` view.
 *
 * - **One write, one sync per flush for every group.** Calls of all groups made in one
 *   event-loop turn (and those arriving while a write is in flight) are written by one
 *   write(2) made durable by one fdatasync (or by O_DSYNC: `logSync`); then their
 *   promises resolve, in call order. `stats()` counts both.
 * - **Order.** Operations take effect in call order across all groups; a task (a
 *   snapshot commit, reading a group's log back) runs alone between writes. A snapshot
 *   commit enters the queue only once its chunks are durable (`SharedLogStorage` holds
 *   that group's later calls meanwhile), so the queue waits for its end record, rename
 *   and directory sync only, never for a large snapshot's data.
 * - **Fail-stop for the host.** A failed write or sync fails that call and every later
 *   one of every group: one log, one fate.
 * - **Freeing segments.** A segment is deleted (oldest first, each deletion made durable
 *   before the next) once no group needs a record in it: every group's records there are
 *   compacted by its snapshot, superseded by later records, or its group was removed.
 *   What pins a segment: a group's live (uncompacted) entries, its latest hard state,
 *   damage not yet cleared, a Removed record while older segments exist. An idle group
 *   pins the segment holding its latest hard state and uncompacted tail; when the oldest
 *   segment is pinned only by records totalling at most `rewriteBudgetBytes`, those
 *   groups' live records (whole tail, hard state, damage) are rewritten into the current
 *   segment and the segment is freed. A group whose uncompacted tail is larger pins its
 *   segments until it compacts (as with `FileStorage`, a log that never compacts grows).
 * - **Recovery.** `open` scans the log once for every group (the compaction of each
 *   group comes from its snapshot in `<dataDir>/groups/<id>/snapshots`), cuts a torn
 *   last write, and refuses other damage with `CorruptLogError`.
 * - **Crash model.** A crash keeps a prefix of the calls of all groups, in call order.
 *   The simulator (`rxraft/testing`) keeps one `MemoryStorage` per group, each losing
 *   its own unsynced writes on a crash: every crash state of the shared log is one of
 *   those (a prefix of the whole order is a prefix of each group's), so what the
 *   simulator checks covers it (a host crash there is modelled by crashing the storage
 *   of every group of the host at once).
 *
 * @example
 * const log = await SharedLog.open('/var/lib/shards');
 * const g1 = await SharedLogStorage.open(log, 'g1');
 * const g2 = await SharedLogStorage.open(log, 'g2');
 * await Promise.all([g1.append(entriesOf1), g2.append(entriesOf2)]);
 * log.stats().fsyncs; // one more than before, for both
 * await Promise.all([g1.close(), g2.close()]);
 * await log.close();
 */
export class SharedLog {
  private readonly writes = new BatchedWrites<LogOp>({
    runBatch: (batch) => this.runBatch(batch),
    afterBatch: async () => {
      if (this.mayFree) await this.guard(() => this.freeSegments());
    },
    failure: () => this.failure,
  });
  private failure: StorageFailedError | null = null;
  private closed: Promise<void> | null = null;
  /** A segment may have become free (a roll, a compaction, a removal). */
  private mayFree = false;
  private readonly counters = { writes: 0, fsyncs: 0, freedSegments: 0, rewrites: 0 };
  /** Records a read stopped inside, for the next read (a lagging follower is sent one message at a time). */
  private readonly recent = new RecentRecords();
  /** Segment files kept open for `readRange` (set in the constructor: it needs `fs`). */
  private readonly readHandles: SegmentReadHandles;

  private constructor(
    /** The host's data directory. */
    readonly dataDir: string,
    /** `<dataDir>/wal`. */
    readonly walDir: string,
    readonly fs: FileSystem,
    private readonly lock: DirectoryLock,
    private readonly directory: FileHandleLike,
    private readonly maxSegmentBytes: number,
    private readonly rewriteBudget: number,
    /** Segments are opened O_DSYNC: a write is durable when it returns, no fdatasync. */
    private readonly writeThrough: boolean,
    /** Every group the log knows of. */
    readonly groups: Map<string, GroupLog>,
    private first: number,
    private current: number,
    private handle: FileHandleLike,
    /** Invariant: every byte of the current segment before it is written and synced. */
    private writeOffset: number,
    private nextWrite: number,
    readonly recovery: SharedLogRecovery,
    /** The groups' snapshot files as recovery opened them, until each group's view takes its own. */
    private readonly snapshotsAtOpen: Map<string, SnapshotsAtOpen>,
  ) {
    this.readHandles = new SegmentReadHandles(fs);
  }

  /**
   * Opens (creating if needed) the shared log of `dataDir`: locks `<dataDir>/wal`
   * (`DirectoryLockedError` if held), reads every group's snapshot, scans the log once,
   * cuts a torn last write. Throws `CorruptLogError` for damage elsewhere,
   * `StorageFailedError` on I/O errors.
   *
   * @example
   * const log = await SharedLog.open(dataDir, { maxSegmentBytes: 16 << 20 });
   * if (log.recovery.tornTail) console.warn('cut a torn write', log.recovery.tornTail);
   */
  static async open(dataDir: string, options: SharedLogOptions = {}): Promise<SharedLog> {
    const fs = options.fs ?? nodeFileSystem;
    const maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_SHARED_SEGMENT_BYTES;
    if (!Number.isSafeInteger(maxSegmentBytes) || maxSegmentBytes < 64 || maxSegmentBytes > 0xffff_ffff) {
      throw new RangeError(`maxSegmentBytes must be an integer from 64 to 2^32 - 1, got ${maxSegmentBytes}`);
    }
    const rewriteBudget = options.rewriteBudgetBytes ?? Math.floor(maxSegmentBytes / 4);
    if (!Number.isSafeInteger(rewriteBudget) || rewriteBudget < 0) throw new RangeError(`rewriteBudgetBytes must be a non-negative integer, got ${rewriteBudget}`);
    const walDir = path.join(dataDir, 'wal');
    let lock: DirectoryLock | null = null;
    let directory: FileHandleLike | null = null;
    try {
      const created = await fs.mkdir(walDir, { recursive: true });
      if (created !== undefined) await syncDirectory(fs, path.dirname(path.resolve(walDir)));
      lock = await DirectoryLock.acquire(fs, walDir);
      directory = await fs.open(walDir, 'r');
      const writeThrough = (options.logSync ?? (options.fs ? 'fdatasync' : 'dsync')) === 'dsync' && typeof fsConstants.O_DSYNC === 'number';
      const r = await recoverSharedLog(fs, dataDir, walDir, directory, writeThrough);
      const log = new SharedLog(dataDir, walDir, fs, lock, directory, maxSegmentBytes, rewriteBudget, writeThrough, r.groups, r.first, r.current, r.handle, r.writeOffset, r.nextWrite, r.recovery, r.snapshots);
      await log.finishRemovals(r.removing);
      return log;
    } catch (e) {
      await directory?.close().catch(() => undefined);
      if (lock) await lock.release().catch(() => undefined);
      if (e instanceof RaftError) throw e;
      throw new StorageFailedError(`cannot open the shared log in ${walDir}: ${errorMessage(e)}`, e);
    }
  }

  /** The counters (see `SharedLogStats`). */
  stats(): SharedLogStats {
    return { ...this.counters, segments: this.current - this.first + 1, groups: this.groups.size };
  }

  /** What the segment handles kept for `readRange` did (for tests and metrics). */
  readHandleStats(): ReadHandleStats {
    return this.readHandles.stats();
  }

  /** The durable state of `group` (created empty if the log has none). */
  group(group: string): GroupLog {
    let state = this.groups.get(group);
    if (!state) {
      state = new GroupLog(group);
      state.entries = [];
      this.groups.set(group, state);
    }
    return state;
  }

  /** The snapshot files recovery opened for `group` (handed out once), or null. */
  takeSnapshots(group: string): SnapshotsAtOpen | null {
    const opened = this.snapshotsAtOpen.get(group) ?? null;
    this.snapshotsAtOpen.delete(group);
    return opened;
  }

  /** The reason the log stopped (fail-stop), or null. */
  get failed(): StorageFailedError | null {
    return this.failure;
  }

  /**
   * Writes one group record in the next flush; `applied` runs once it is durable (with the
   * segment and the byte offset of its record header), before the promise resolves. The
   * record's body is copied once, into the flush's write, when the flush starts: the
   * caller does not change it until the promise settles.
   *
   * @example
   * await log.write({ kind: GroupRecordKind.Entries, group: 'g1', body: block }, (segment, offset) => index(segment, offset));
   */
  write(record: GroupRecordParts, applied: (segment: number, offset: number) => void): Promise<void> {
    return this.enqueue(record, applied, null);
  }

  /** Settles in order after every call made before it, writing nothing. */
  barrier(): Promise<void> {
    return this.enqueue(null, null, null);
  }

  /** Runs `task` alone, in order with the writes. */
  task(task: () => Promise<void>): Promise<void> {
    return this.enqueue(null, null, task);
  }

  /** Within a task: makes the next write go into a segment holding no records yet, and returns its sequence. */
  async startFreshSegment(): Promise<number> {
    if (this.writeOffset > FILE_HEADER_BYTES) await this.roll();
    return this.current;
  }

  /** Within a task: a group's records may have died (compaction); segments may be freed after this flush. */
  noteMayFree(): void {
    this.mayFree = true;
  }

  /**
   * Within a task: the live entries of `group` (after its compaction point), each record
   * holding them read alone through the group's record index (as `readRange`). Throws
   * `CorruptLogError` if a record is damaged or does not hold what the index says.
   */
  async readLive(group: GroupLog): Promise<Entry[]> {
    const live = group.liveSpan();
    return live === null ? [] : this.readRange(group, { from: live.first, to: live.last + 1, maxBytes: Infinity, available: live });
  }

  /**
   * The durable entries `range.from .. range.to - 1` of `group` as of this call, at most
   * `range.maxBytes` of payload but at least one entry: each record holding part of the
   * range is read alone (one pread, through the group's record index) and checked, not
   * queued behind writes (what is written after the call is not seen). The caller checked
   * the range (`checkEntryRange`). A segment freed while reading (its entries compacted,
   * or rewritten forward) rejects with `EntryRangeError` marked compacted; a damaged
   * record with `CorruptLogError`.
   */
  async readRange(group: GroupLog, range: LocatedRange): Promise<Entry[]> {
    const rows = group.recordsHolding(range.from, range.to);
    const blockOf = (payload: Buffer, file: string, row: RecordLocation): Buffer => {
      let record;
      try {
        record = decodeGroupRecord(payload);
      } catch (e) {
        throw e instanceof InvalidMessageError ? new CorruptLogError(file, row.offset, `on reading entries back: ${e.reason}`) : e;
      }
      if (record.group !== group.id || record.kind !== GroupRecordKind.Entries) {
        throw new CorruptLogError(file, row.offset, `on reading entries back: the record is not an entries record of group ${group.id}`);
      }
      return record.body;
    };
    return readLocatedEntries(this.readHandles, (sequence) => path.join(this.walDir, segmentName(sequence)), rows, range, { blockOf, recent: this.recent });
  }

  /**
   * Makes `group`'s records dead durably (a Removed record), for a group no view has open.
   * Its snapshots are the caller's to delete.
   */
  removeGroup(group: string): Promise<void> {
    const state = this.groups.get(group);
    if (state?.open) return Promise.reject(new StorageFailedError(`group ${group} is open; close it before removing it`));
    this.snapshotsAtOpen.delete(group); // its snapshot files are about to go
    return this.write({ kind: GroupRecordKind.Removed, group, body: new Uint8Array(0) }, (segment) => {
      const g = this.group(group);
      g.removed(segment);
      g.compact({ compactedThrough: 0, firstLiveSegment: 1 });
      this.mayFree = true;
    });
  }

  /**
   * Lets calls already made complete, then closes the segment and releases the lock.
   * Later calls reject with `StorageFailedError`. Idempotent. Close the views first.
   */
  close(): Promise<void> {
    if (!this.closed) {
      const drained = this.barrier().catch(() => undefined);
      this.closed = drained.then(async () => {
        await this.writes.drained();
        try {
          await this.readHandles.close();
          await this.handle.close();
        } finally {
          await this.directory.close().catch(() => undefined);
          await this.lock.release();
        }
      });
    }
    return this.closed;
  }

  /**
   * Queues one call. The op is one object literal with all its fields, not a spread of
   * the caller's fields plus `resolve`/`reject`: on Node 20 (V8 11.3) adding a property
   * to a spread copy leaves the fast path, about 900 ns per op against 90 here (one op
   * per group record, about one per write with many groups; docs/notes/groups-throughput.md).
   */
  private enqueue(record: GroupRecordParts | null, applied: LogOp['applied'], task: LogOp['task']): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageFailedError(`the shared log in ${this.walDir} is closed`));
    return new Promise<void>((resolve, reject) => this.writes.push({ record, applied, task, resolve, reject }));
  }

  /** Runs one batch in order: each run of writes is one write(2) and one fdatasync; each task runs alone. */
  private async runBatch(batch: LogOp[]): Promise<void> {
    let i = 0;
    while (i < batch.length && !this.failure) {
      const op = batch[i];
      if (op.task) {
        const error = await op.task().then(() => null, (e: unknown) => (e instanceof Error ? e : new Error(String(e))));
        if (this.failure) break;
        if (error) op.reject(error);
        else op.resolve();
        i++;
        continue;
      }
      let j = i;
      const records: GroupRecordParts[] = [];
      for (; j < batch.length && !batch[j].task; j++) if (batch[j].record) records.push(batch[j].record as GroupRecordParts);
      const written = records.length > 0 ? await this.guard(() => this.writeRecords(records)) : null;
      if (this.failure) break;
      for (let k = 0; i < j; i++) {
        const op = batch[i];
        if (op.record && written) op.applied?.(written.segment, written.offsets[k++]);
        op.resolve();
      }
    }
    if (this.failure) for (const op of batch.slice(i)) op.reject(this.failure);
  }

  /** Runs `io`; a throw enters fail-stop (the returned value is then meaningless). */
  private async guard<T>(io: () => Promise<T>): Promise<T> {
    try {
      return await io();
    } catch (e) {
      this.failure ??= new StorageFailedError(`write to the shared log in ${this.walDir} failed, storage stopped: ${errorMessage(e)}`, e);
      return undefined as T;
    }
  }

  /**
   * One write(2) of these records, durable (O_DSYNC, or an fdatasync after it); returns
   * the segment they went to and each record header's offset in it. Each record is laid
   * out straight into the write's buffer (its body copied once).
   */
  private async writeRecords(records: readonly GroupRecordParts[]): Promise<{ segment: number; offsets: number[] }> {
    let total = 0;
    for (const r of records) total += RECORD_HEADER_BYTES + groupRecordBytes(r);
    if (this.writeOffset > FILE_HEADER_BYTES && this.writeOffset + total > this.maxSegmentBytes) await this.roll();
    const out = Buffer.allocUnsafe(total);
    const base = this.writeOffset;
    const write = this.nextWrite;
    const offsets: number[] = [];
    let at = 0;
    for (let i = 0; i < records.length; i++) {
      const length = groupRecordBytes(records[i]);
      offsets.push(base + at);
      writeGroupRecord(out, at + RECORD_HEADER_BYTES, records[i]);
      writeRecordHeader(out, at, RecordType.Group, i === records.length - 1 ? RecordFlag.EndOfWrite : 0, write, base + at, length);
      at += RECORD_HEADER_BYTES + length;
    }
    await writeFully(this.handle, out, base);
    this.counters.writes++;
    if (!this.writeThrough) await this.handle.datasync();
    this.counters.fsyncs++;
    this.writeOffset = base + total;
    this.nextWrite = (write + 1) >>> 0;
    return { segment: this.current, offsets };
  }

  /** Starts the next segment (created, synced and linked durably before use). */
  private async roll(): Promise<void> {
    const sequence = this.current + 1;
    const handle = await createSharedSegment(this.fs, this.walDir, this.directory, sequence, this.writeThrough);
    this.counters.fsyncs += 2;
    const previous = this.handle;
    this.handle = handle;
    this.current = sequence;
    this.writeOffset = FILE_HEADER_BYTES;
    this.mayFree = true;
    await previous.close();
  }

  /**
   * Deletes the oldest segments while no group needs them, rewriting a few groups' small
   * live records out of the way when that frees one (see the class).
   */
  private async freeSegments(): Promise<void> {
    this.mayFree = false;
    while (this.first < this.current) {
      const first = this.first;
      const pinners = [...this.groups.values()].filter((g) => g.pins(first, first));
      if (pinners.length > 0) {
        if (pinners.reduce((n, g) => n + g.liveBytes(), 0) > this.rewriteBudget) return;
        await this.rewrite(pinners);
        if (this.first !== first) continue;
      }
      await this.readHandles.retireBefore(first + 1); // before the unlink: a deleted segment is never read through a kept handle
      await unlinkIfExists(this.fs, path.join(this.walDir, segmentName(first)));
      await this.directory.sync();
      this.counters.fsyncs++;
      this.counters.freedSegments++;
      this.first = first + 1;
      this.recent.dropBefore(this.first);
      for (const [id, g] of this.groups) if (g.forgettable(this.first)) this.groups.delete(id);
    }
  }

  /** Rewrites the live records of `groups` (entries, hard state, damage) into the current segment. */
  private async rewrite(groups: readonly GroupLog[]): Promise<void> {
    const records: GroupRecordParts[] = [];
    const moved = new Map<string, { bytes: number; record: number }>();
    for (const g of groups) {
      const entries = await this.readLive(g);
      if (entries.length > 0) {
        const block = entriesBlock(entries);
        moved.set(g.id, { bytes: block.length, record: records.length });
        records.push({ kind: GroupRecordKind.Entries, group: g.id, body: block });
      }
      if (g.hardStateSegment !== null) records.push({ kind: GroupRecordKind.HardState, group: g.id, body: hardStateBody(g.hardState) });
      if (g.damage !== null) records.push({ kind: GroupRecordKind.Damage, group: g.id, body: damageBody(g.damage) });
    }
    const written = records.length > 0 ? await this.writeRecords(records) : { segment: this.current, offsets: [] };
    for (const g of groups) {
      const entries = moved.get(g.id);
      g.movedTo(written.segment, entries ? { bytes: entries.bytes, offset: written.offsets[entries.record] } : null);
    }
    this.counters.rewrites++;
  }

  /** Finishes removals a crash interrupted: `<dataDir>/removing/<id>` left behind. */
  private async finishRemovals(removing: readonly string[]): Promise<void> {
    for (const group of removing) {
      await this.removeGroup(group);
      await removeTree(path.join(this.dataDir, 'removing', group));
    }
    if (removing.length > 0) await syncDirectory(this.fs, path.join(this.dataDir, 'removing'));
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

