import { constants as fsConstants } from 'fs';
import * as path from 'path';
import { RaftError, StorageFailedError } from '../errors';
import type { Entry } from '../messages/entry';
import type { EntryRun } from '../messages/entryRun';
import { entriesBlock } from '../messages/entryBlocks';
import { DamageRecord, mergeDamage } from './fileDamage';
import { DirectoryLock } from './fileDirectoryLock';
import { NonContiguousAppendError } from './fileErrors';
import { HardStateFile } from './fileHardState';
import { FileLog, isSegmentName, RecoveryReport } from './fileLog';
import { DurableSnapshot, SnapshotFiles } from './fileSnapshots';
import { FileHandleLike, FileSystem, nodeFileSystem, syncDirectory } from './fileSystem';
import { HardState, SnapshotMeta } from '../messages/persisted';
import { INITIAL_HARD_STATE, PersistedState, SnapshotWriter, Storage, StorageDamage } from './storage';
import { BatchedWrites } from './batchedWrites';
import { OpenWriter, SnapshotSlot, viewAfterSnapshot } from './snapshotSlot';

export {
  CorruptLogError,
  DirectoryLockedError,
  NonContiguousAppendError,
  OutOfDescriptorsError,
  SnapshotInProgressError,
  SnapshotReplacedError,
} from './fileErrors';
export type { RecoveryReport } from './fileLog';
export type { FileSystem, FileHandleLike } from './fileSystem';
export type { StorageDamage } from './storage';

/**
 * Options of `FileStorage.open`.
 *
 * @example
 * const storage = await FileStorage.open('./data/n1', { maxSegmentBytes: 16 << 20, logSync: 'fdatasync' });
 */
export interface FileStorageOptions {
  /**
   * A segment file is closed and the next one started when a write would take it past
   * this size (default 64 MiB). A single larger write gets a segment of its own.
   */
  readonly maxSegmentBytes?: number;
  /** File-system operations (default: `fs/promises`); tests pass a facade that fails on cue. */
  readonly fs?: FileSystem;
  /**
   * How a log write is made durable: `'dsync'` opens segments with O_DSYNC so the write(2)
   * itself is durable (one thread-pool round trip per group commit instead of two);
   * `'fdatasync'` writes, then fdatasyncs. Default: `'dsync'` with the real file system,
   * `'fdatasync'` with a custom `fs`.
   */
  readonly logSync?: 'dsync' | 'fdatasync';
}

export const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

const APPEND = 0;
const HARD_STATE = 1;
/** Writes nothing; settles in order (empty appends, `close` barriers, rejected appends). */
const BARRIER = 2;
/** Runs `task` alone, in order (snapshot commits, reading the log back). */
const TASK = 3;

/** One call waiting for the disk. Settled in call order. */
interface Op {
  readonly kind: typeof APPEND | typeof HARD_STATE | typeof BARRIER | typeof TASK;
  /** APPEND: the entries block. */
  readonly block: Buffer | null;
  /** APPEND: the block's last index. */
  readonly lastIndex: number;
  /** HARD_STATE: the state to save. */
  readonly state: HardState | null;
  /** TASK: the work; it throwing is a storage failure. */
  readonly task: (() => Promise<void>) | null;
  /** BARRIER: an error to reject with when its turn comes (an invalid append). */
  readonly error: Error | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Durable `Storage` in a directory: a segmented write-ahead log of entries, a hard-state
 * file and snapshot files, locked against a second user.
 *
 * - `append` writes its entries as one log record: their block from `entriesBlock`, the
 *   one the transport sends (or received), not a second encoding. Calls that arrive while
 *   a write is in flight are grouped into the next one (group commit): one durable write
 *   (O_DSYNC, or write then fdatasync: `logSync`) for everything queued, then their
 *   promises resolve in call order. A call made during a turn is written at the end of
 *   that turn (microtask), so appends of one turn share a write even when the disk is idle.
 * - `saveHardState` replaces the hard state atomically (temp file, fsync, rename,
 *   fsync of the directory). It is ordered with appends: log writes called before it are
 *   durable before it takes effect, and those called after it are written after.
 * - Snapshots: `createSnapshot(meta).write(chunk)` streams framed chunks into a temp
 *   file as they come (outside the write queue; `commit` starts syncing them at once).
 *   `commit` takes its turn in the write queue like an append: it writes the end record
 *   (which carries the compaction), syncs, renames the file to its final name and syncs
 *   the directory — that rename is the one atomic step making the snapshot current and
 *   the log compacted. Then the previous snapshot file and the log segments wholly at or
 *   below the compaction point are deleted. `discardLog` first starts a fresh segment,
 *   so that "every record before it" is what gets discarded. After a commit, `append`
 *   accepts `snapshot.index + 1` (with `discardLog`, only from there on).
 * - `load()` returns the current snapshot's meta and exactly the entries after the
 *   compaction point (`compactUpTo`, or the snapshot's index with `discardLog`).
 * - Fail-stop: once a write or sync fails (snapshot chunk writes included), that call
 *   and every later one reject with `StorageFailedError`; nothing is acknowledged after
 *   a failure (a failed fsync leaves the file's state unknown, so it is never retried).
 *   One exception: a snapshot whose file cannot be created for lack of descriptors
 *   rejects its `write` with `OutOfDescriptorsError` and the storage keeps working.
 *   `close()` still releases the files and the lock.
 * - `open` takes the directory lock (`DirectoryLockedError` if held), removes a torn
 *   last write (reported in `recovery`), removes what a crash left behind (temp files,
 *   replaced snapshots, compacted segments), and refuses damaged data before the tail —
 *   a damaged current snapshot included — with `CorruptLogError` naming the file and
 *   byte offset.
 * - Damage that may have cost acknowledged state is reported by `load()` as `damage`
 *   (see `StorageDamage`) until `clearDamage()`: records cut from the end of the log, and
 *   a hard state missing beside a log or snapshot (a new directory gets its hard state
 *   before its first segment, so only a lost file looks like that). The damage is
 *   recorded durably in `DAMAGE` before it is acted on.
 * - Out of file descriptors: the paths Raft's safety depends on open nothing after
 *   `open`. The hard state is replaced through two files held open (see
 *   `fileHardState.ts`), the directory is fsynced through a descriptor held open, log
 *   appends write the open segment, and a segment rollover that finds no descriptor
 *   (EMFILE/ENFILE) is put off to a later append (see `fileLog.ts`). A snapshot commit
 *   needs no new descriptor either, but starting a snapshot creates its file
 *   (`OutOfDescriptorsError` when it cannot), and so do reading a snapshot and reading
 *   the log back (`load()` after writes, `readEntries`: one segment open at a time). Four descriptors are held: the segment, the
 *   two hard-state files and the directory.
 *
 * Layout of `dir`: `LOCK`, `hardstate` and its spare `hardstate.next`, `DAMAGE` (only
 * after damage), segments `0000000000000001.wal`, ..., and the current snapshot
 * `snapshot-<sequence>.snap` (see `fileSnapshotFormat.ts`).
 *
 * Memory: besides what the caller hands it, `readEntries` holds at most the two records it
 * last stopped inside, up to 32 MiB in all (`RecentRecords`), so a big record sent to a follower
 * one message at a time is read from disk once, not once per message.
 *
 * Limits: the compaction point only grows (a commit with a lower `compactUpTo` than an
 * earlier one compacts nothing more). Without `discardLog`, a log that ends between
 * `compactUpTo` and the snapshot's index keeps its tail and continues after it.
 *
 * @example
 * const storage = await FileStorage.open('/var/lib/app/raft');
 * const { hardState, snapshot, entries } = await storage.load();
 * const last = entries.length ? entries[entries.length - 1].index : (snapshot?.index ?? 0);
 * await storage.saveHardState({ term: hardState.term + 1, votedFor: 'n1' });
 * await storage.append([{ index: last + 1, term: hardState.term + 1, kind: EntryKind.Noop, data: EMPTY_DATA }]);
 * await storage.close();
 */
export class FileStorage implements Storage {
  /** Calls in order, written in batches, one batch at a time. */
  private readonly writes = new BatchedWrites<Op>({ runBatch: (batch) => this.runBatch(batch), failure: () => this.failure });
  private failure: StorageFailedError | null = null;
  private closed: Promise<void> | null = null;
  /**
   * As of every call made so far taking effect (validates appends): the log's last
   * index, or the compaction point if that is higher. Invariant: lastIndex >= compactedThrough.
   */
  private lastIndex: number;
  /** As of every call made so far: entries at or below this are compacted away. */
  private compactedThrough: number;
  /** The hard state as last made durable. */
  private durableHardState: HardState;
  /** The current snapshot, as last made durable, and the writer not yet committed or aborted. */
  private readonly slot: SnapshotSlot;
  /** What open recovered, handed out by the first `load()` if nothing was written since. */
  private recovered: Entry[] | null;

  /** Durable writes completed so far: log write, hard-state replacement, or snapshot commit (for tests and benchmarks). */
  syncs = 0;
  /** Damage reported by `load()` until `clearDamage()`. */
  private damage: StorageDamage | null;

  private constructor(
    /** The storage directory. */
    readonly dir: string,
    /** What recovery did at open (e.g. a torn last write that was cut away). */
    readonly recovery: RecoveryReport,
    private readonly log: FileLog,
    private readonly hardStateFile: HardStateFile,
    snapshots: SnapshotFiles,
    private readonly lock: DirectoryLock,
    /** Open on `dir` for fsyncs of the directory. */
    private readonly directory: FileHandleLike,
    private readonly fs: FileSystem,
    hardState: HardState,
    snapshot: DurableSnapshot | null,
    entries: Entry[],
    damage: StorageDamage | null,
  ) {
    this.damage = damage;
    this.compactedThrough = snapshot?.compaction.compactedThrough ?? 0;
    this.lastIndex = entries.length > 0 ? entries[entries.length - 1].index : this.compactedThrough;
    this.durableHardState = hardState;
    this.slot = new SnapshotSlot(snapshots, snapshot);
    this.recovered = entries;
  }

  /**
   * Opens (creating if needed) the storage in `dir`: locks it, recovers the log, hard
   * state and snapshot. Throws `DirectoryLockedError` if another `FileStorage` holds
   * `dir`, `CorruptLogError` if committed data is damaged, `StorageFailedError` on I/O errors.
   *
   * @example
   * const storage = await FileStorage.open(dir, { maxSegmentBytes: 16 << 20 });
   * if (storage.recovery.tornTail) log.warn('cut a torn write', storage.recovery.tornTail);
   */
  static async open(dir: string, options: FileStorageOptions = {}): Promise<FileStorage> {
    const fs = options.fs ?? nodeFileSystem;
    const maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    if (!Number.isSafeInteger(maxSegmentBytes) || maxSegmentBytes < 64 || maxSegmentBytes > 0xffff_ffff) {
      throw new RangeError(`maxSegmentBytes must be an integer from 64 to 2^32 - 1, got ${maxSegmentBytes}`);
    }
    let lock: DirectoryLock | null = null;
    let directory: FileHandleLike | null = null;
    let hardStateFile: HardStateFile | null = null;
    let log: FileLog | null = null;
    try {
      const created = await fs.mkdir(dir, { recursive: true });
      if (created !== undefined) await syncDirectory(fs, path.dirname(path.resolve(dir)));
      lock = await DirectoryLock.acquire(fs, dir);
      const dirHandle = await fs.open(dir, 'r');
      directory = dirHandle;
      let damage = await DamageRecord.read(fs, dir);
      const recordDamage = async (found: StorageDamage) => {
        damage = mergeDamage(damage, found);
        await DamageRecord.write(fs, dir, dirHandle, damage);
      };
      let hardState = await HardStateFile.read(fs, dir);
      const { files, current } = await SnapshotFiles.open(fs, dir, dirHandle);
      const hadSegments = (await fs.readdir(dir)).some(isSegmentName);
      if (hardState === null && (hadSegments || current)) {
        await recordDamage({ hardStateMissing: true, truncatedTail: null }); // before the hard state is made up
      } else if (hardState === null) {
        // A new directory: its hard state exists before its first segment does.
        hardState = INITIAL_HARD_STATE;
        hardStateFile = await HardStateFile.create(fs, dir, dirHandle, hardState);
      }
      // O_DSYNC where the platform has it (not Windows); fdatasync otherwise.
      const writeThrough = (options.logSync ?? (options.fs ? 'fdatasync' : 'dsync')) === 'dsync' && typeof fsConstants.O_DSYNC === 'number';
      // A record cut short was never acknowledged: the normal torn write of a crash, not damage.
      const opened = await FileLog.open(fs, dir, dirHandle, maxSegmentBytes, current?.compaction ?? null, writeThrough, (cut) =>
        cut.complete ? recordDamage({ hardStateMissing: false, truncatedTail: { from: cut.from, reason: cut.reason } }) : Promise.resolve(),
      );
      log = opened.log;
      if (hardState === null) {
        // Lost: the highest term the log or snapshot shows is a lower bound of the node's term; the vote is unknown.
        const entries = opened.entries;
        const term = Math.max(current?.meta.term ?? 0, entries.length > 0 ? entries[entries.length - 1].term : 0);
        hardState = { term, votedFor: null };
        hardStateFile = await HardStateFile.create(fs, dir, dirHandle, hardState);
      }
      hardStateFile ??= await HardStateFile.open(fs, dir, dirHandle);
      return new FileStorage(dir, opened.recovery, opened.log, hardStateFile, files, lock, dirHandle, fs, hardState, current, opened.entries, damage);
    } catch (e) {
      await log?.close().catch(() => undefined);
      await hardStateFile?.close().catch(() => undefined);
      await directory?.close().catch(() => undefined);
      if (lock) await lock.release().catch(() => undefined);
      if (e instanceof RaftError) throw e;
      throw new StorageFailedError(`cannot open storage in ${dir}: ${errorMessage(e)}`, e);
    }
  }

  /**
   * The durable state: hard state, snapshot and the log after it. Called right after
   * `open` it returns what recovery read; later it waits for earlier calls and reads the
   * log back from disk.
   */
  async load(): Promise<PersistedState> {
    const recovered = this.recovered;
    if (recovered && this.writes.idle && !this.failure && !this.closed) {
      this.recovered = null;
      return { hardState: this.durableHardState, snapshot: this.slot.current?.meta ?? null, entries: recovered, damage: this.damage };
    }
    this.recovered = null;
    const read: { state?: PersistedState; error?: unknown } = {};
    await this.enqueue(TASK, {
      task: async () => {
        // A read error fails this call only, not the storage.
        try {
          const entries = await this.log.readAll();
          read.state = { hardState: this.durableHardState, snapshot: this.slot.current?.meta ?? null, entries, damage: this.damage };
        } catch (e) {
          read.error = e;
        }
      },
    });
    if (read.state) return read.state;
    if (read.error instanceof RaftError) throw read.error;
    throw new StorageFailedError(`cannot read the log back: ${errorMessage(read.error)}`, read.error);
  }

  /**
   * Forgets the damage `load()` reports (see `StorageDamage`): removes the `DAMAGE`
   * record durably, in order with the other writes. Call it once the node was repaired.
   */
  clearDamage(): Promise<void> {
    return this.enqueue(TASK, {
      task: async () => {
        if (this.damage === null) return;
        await DamageRecord.clear(this.fs, this.dir, this.directory);
        this.damage = null;
      },
    });
  }

  /** Rollovers of the log put off because no file descriptor was left (see the class; for tests and metrics). */
  get deferredRolls(): number {
    return this.log.deferredRolls;
  }

  saveHardState(state: HardState): Promise<void> {
    return this.enqueue(HARD_STATE, { state: { term: state.term, votedFor: state.votedFor } });
  }

  /** See `Storage.appendRun`: the run's block is written as it came. */
  appendRun(run: EntryRun): Promise<void> {
    if (this.failure || this.closed || run.length === 0) return this.enqueue(BARRIER, {});
    const problem = checkStart(run.firstIndex, this.lastIndex, this.compactedThrough);
    if (problem) return this.enqueue(BARRIER, { error: new NonContiguousAppendError(this.lastIndex, run.firstIndex, problem) });
    this.lastIndex = run.lastIndex;
    this.recovered = null;
    return this.enqueue(APPEND, { block: run.block, lastIndex: this.lastIndex });
  }

  append(entries: readonly Entry[]): Promise<void> {
    if (this.failure || this.closed || entries.length === 0) return this.enqueue(BARRIER, {});
    const first = entries[0].index;
    const problem = checkContiguous(entries, this.lastIndex, this.compactedThrough);
    if (problem) return this.enqueue(BARRIER, { error: new NonContiguousAppendError(this.lastIndex, first, problem) });
    this.lastIndex = entries[entries.length - 1].index;
    this.recovered = null;
    return this.enqueue(APPEND, { block: entriesBlock(entries), lastIndex: this.lastIndex });
  }

  /**
   * The durable entries `[from, to)` up to `maxBytes` of payload (at least one), read
   * from the segments through an index of their records (see `Storage.readEntries`).
   * Not queued behind writes: it serves what is durable when called. A record failing
   * its checksum rejects with `CorruptLogError` (and leaves the storage working).
   */
  readEntries(from: number, to: number, maxBytes: number): Promise<Entry[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageFailedError(`storage in ${this.dir} is closed`));
    return this.log.readRange(from, to, maxBytes);
  }

  /**
   * Starts writing a snapshot (see the class comment). Throws `SnapshotInProgressError`
   * while another writer is open, `RangeError` for an index or term that is not a
   * non-negative integer.
   */
  createSnapshot(meta: SnapshotMeta): SnapshotWriter {
    return this.slot.create(meta, {
      write: (writer, chunk) => this.slot.writeChunk(writer, chunk, this.failure ?? (this.closed ? new StorageFailedError(`storage in ${this.dir} is closed`) : null), (what, e) => this.fail(what, e)),
      commit: (writer, compactUpTo, discardLog) => this.commitSnapshot(writer, compactUpTo, discardLog),
    });
  }

  /**
   * The current durable snapshot: its meta now, its chunks read lazily from its file
   * (opened on the first pull; each iteration reads afresh). A chunk failing its
   * checksum throws `CorruptLogError`; a snapshot replaced before the first pull throws
   * `SnapshotReplacedError`.
   */
  readSnapshot(): { readonly meta: SnapshotMeta; readonly chunks: AsyncIterable<Uint8Array> } | null {
    return this.slot.read();
  }

  /**
   * Lets calls already made complete, aborts a snapshot writer still open, ends snapshot
   * reads in progress, then closes the files and releases the lock. Later calls reject
   * with `StorageFailedError`. Idempotent; never rejects for a storage that failed earlier.
   */
  close(): Promise<void> {
    if (!this.closed) {
      const drained = this.enqueue(BARRIER, {}).catch(() => undefined);
      this.closed = drained.then(async () => {
        await this.writes.drained();
        this.recovered = null;
        try {
          await this.slot.shut();
          await this.log.close();
        } finally {
          await this.hardStateFile.close();
          await this.directory.close().catch(() => undefined);
          await this.lock.release();
        }
      });
    }
    return this.closed;
  }

  private commitSnapshot(writer: OpenWriter, compactUpTo: number, discardLog: boolean): Promise<void> {
    const refused = this.slot.takeForCommit(writer, compactUpTo);
    if (refused) return Promise.reject(refused);
    const { meta, staged } = writer;
    if (this.failure || this.closed) {
      staged.discard().catch(() => undefined);
      return this.enqueue(BARRIER, {});
    }
    // The call-time view: appends called from now on see the compacted log.
    ({ compactedThrough: this.compactedThrough, lastIndex: this.lastIndex } = viewAfterSnapshot({ compactedThrough: this.compactedThrough, lastIndex: this.lastIndex }, meta.index, compactUpTo, discardLog));
    const compactedThrough = this.compactedThrough;
    this.recovered = null;
    // The chunks' fdatasync starts now, overlapping the writes queued before the commit.
    const synced = staged.sync();
    synced.catch(() => undefined);
    return this.enqueue(TASK, {
      task: async () => {
        const { compaction, previous } = await this.slot.install(writer, synced, compactedThrough, discardLog ? () => this.log.startFreshSegment() : null);
        this.syncs++;
        if (previous) await this.slot.files.remove(previous);
        await this.log.compact(compaction);
      },
    });
  }

  /** Enters fail-stop (if not already) and returns the failure to reject with. */
  private fail(what: string, cause: unknown): StorageFailedError {
    this.failure ??= new StorageFailedError(`${what}, storage stopped: ${errorMessage(cause)}`, cause);
    return this.failure;
  }

  private enqueue(kind: Op['kind'], fields: Partial<Pick<Op, 'block' | 'lastIndex' | 'state' | 'task' | 'error'>>): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageFailedError(`storage in ${this.dir} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.writes.push({
        kind,
        block: fields.block ?? null,
        lastIndex: fields.lastIndex ?? 0,
        state: fields.state ?? null,
        task: fields.task ?? null,
        error: fields.error ?? null,
        resolve,
        reject,
      });
    });
  }

  /**
   * Executes one batch in call order: each run of appends is one durable log write;
   * each run of hard states saves only the last; each task runs alone. Settles each run's
   * calls once it is durable; on failure (or a failure entered meanwhile, e.g. by a
   * snapshot chunk write) rejects the rest and enters fail-stop.
   */
  private async runBatch(batch: Op[]): Promise<void> {
    let i = 0;
    try {
      while (i < batch.length) {
        if (this.failure) throw this.failure;
        let j = i;
        const kind = batch[i].kind;
        if (kind === HARD_STATE) {
          while (j + 1 < batch.length && batch[j + 1].kind === HARD_STATE) j++;
          const state = batch[j].state as HardState;
          await this.hardStateFile.save(state);
          this.durableHardState = state;
          this.syncs++;
          j++;
        } else if (kind === TASK) {
          await (batch[i].task as () => Promise<void>)();
          j++;
        } else {
          const blocks: Buffer[] = [];
          let bytes = 0;
          let lastIndex = 0;
          for (; j < batch.length && (batch[j].kind === APPEND || batch[j].kind === BARRIER); j++) {
            const block = batch[j].block;
            if (block) {
              blocks.push(block);
              bytes += block.length;
              lastIndex = Math.max(lastIndex, batch[j].lastIndex);
            }
          }
          if (blocks.length > 0) {
            await this.log.append(blocks, bytes, lastIndex);
            this.syncs++;
          }
        }
        for (; i < j; i++) {
          const op = batch[i];
          if (op.error) op.reject(op.error);
          else op.resolve();
        }
      }
    } catch (e) {
      const failure = this.fail(`write to ${this.dir} failed`, e);
      for (; i < batch.length; i++) batch[i].reject(failure);
      this.writes.rejectQueued(failure);
    }
  }
}

/**
 * Why `entries` cannot be appended to a log ending at `lastIndex` whose entries up to
 * `compactedThrough` are compacted away, or null.
 */
export function checkContiguous(entries: readonly Entry[], lastIndex: number, compactedThrough: number): string | null {
  const first = entries[0].index;
  const problem = checkStart(first, lastIndex, compactedThrough);
  if (problem !== null) return problem;
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].index !== first + i) return `entry ${i} has index ${entries[i].index}, expected ${first + i}`;
  }
  return null;
}

/** Why an append starting at `first` cannot follow a log ending at `lastIndex` and compacted through `compactedThrough` (null when it can). */
export function checkStart(first: number, lastIndex: number, compactedThrough: number): string | null {
  if (!Number.isSafeInteger(first) || first < 1) return `first index ${first} is not a positive integer`;
  if (first > lastIndex + 1) return 'it would leave a gap';
  if (first <= compactedThrough) return `it starts inside the compacted part of the log (up to ${compactedThrough})`;
  return null;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
