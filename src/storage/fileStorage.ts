import * as path from 'path';
import { RaftError, StorageFailedError } from '../errors';
import type { Entry } from '../messages/entry';
import { encodeEntries } from '../messages/entryCodec';
import { DirectoryLock } from './fileDirectoryLock';
import { NonContiguousAppendError } from './fileErrors';
import { HardStateFile } from './fileHardState';
import { FileLog, RecoveryReport } from './fileLog';
import { FileSystem, nodeFileSystem, syncDirectory } from './fileSystem';
import { HardState, PersistedState, Storage } from './storage';

export { CorruptLogError, DirectoryLockedError, NonContiguousAppendError } from './fileErrors';
export type { RecoveryReport } from './fileLog';
export type { FileSystem, FileHandleLike } from './fileSystem';

export interface FileStorageOptions {
  /**
   * A segment file is closed and the next one started when a write would take it past
   * this size (default 64 MiB). A single larger write gets a segment of its own.
   */
  readonly maxSegmentBytes?: number;
  /** File-system operations (default: `fs/promises`); tests pass a facade that fails on cue. */
  readonly fs?: FileSystem;
}

export const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

const APPEND = 0;
const HARD_STATE = 1;
/** Writes nothing; settles in order (empty appends, `load` and `close` barriers, rejected appends). */
const BARRIER = 2;

/** One call waiting for the disk. Settled in call order. */
interface Op {
  readonly kind: typeof APPEND | typeof HARD_STATE | typeof BARRIER;
  /** APPEND: the entries block. */
  readonly block: Buffer | null;
  /** HARD_STATE: the state to save. */
  readonly state: HardState | null;
  /** BARRIER: an error to reject with when its turn comes (an invalid append). */
  readonly error: Error | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Durable `Storage` in a directory: a segmented write-ahead log of entries plus a
 * hard-state file, locked against a second user.
 *
 * - `append` encodes its entries once (`encodeEntries`) into one log record. Calls
 *   that arrive while a write is in flight are grouped into the next one (group
 *   commit): one write(2) and one fdatasync for everything queued, then their promises
 *   resolve in call order. A call made during a turn is written at the end of that turn
 *   (microtask), so appends of one turn share a write even when the disk is idle.
 * - `saveHardState` replaces the hard state atomically (temp file, fsync, rename,
 *   fsync of the directory). It is ordered with appends: log writes called before it are
 *   durable before it takes effect, and those called after it are written after.
 * - Fail-stop: once a write or sync fails, that call and every later one reject with
 *   `StorageFailedError`; nothing is acknowledged after a failure (a failed fsync
 *   leaves the file's state unknown, so it is never retried). `close()` still releases
 *   the files and the lock.
 * - `open` takes the directory lock (`DirectoryLockedError` if held), removes a torn
 *   last write (reported in `recovery`), and refuses damaged data before the tail with
 *   `CorruptLogError` naming the file and byte offset.
 *
 * Layout of `dir`: `LOCK`, `hardstate`, and segments `0000000000000001.wal`, ...
 *
 * @example
 * const storage = await FileStorage.open('/var/lib/app/raft');
 * const { hardState, entries } = await storage.load();
 * await storage.saveHardState({ term: hardState.term + 1, votedFor: 'n1' });
 * await storage.append([{ index: entries.length + 1, term: hardState.term + 1, kind: EntryKind.Noop, data: EMPTY_DATA }]);
 * await storage.close();
 */
export class FileStorage implements Storage {
  private queue: Op[] = [];
  private flushScheduled = false;
  /** The running flush loop, if any. Invariant: at most one write is in flight. */
  private flushing: Promise<void> | null = null;
  private failure: StorageFailedError | null = null;
  private closed: Promise<void> | null = null;
  /** The last index once every call made so far takes effect (validates appends). */
  private lastIndex: number;
  /** The hard state as last made durable. */
  private durableHardState: HardState;
  /** What open recovered, handed out by the first `load()` if nothing was written since. */
  private recovered: Entry[] | null;
  private readonly flushNow = () => this.startFlush();

  /** Durable writes completed so far: log write + fdatasync, or hard-state replacement (for tests and benchmarks). */
  syncs = 0;

  private constructor(
    /** The storage directory. */
    readonly dir: string,
    /** What recovery did at open (e.g. a torn last write that was cut away). */
    readonly recovery: RecoveryReport,
    private readonly log: FileLog,
    private readonly hardStateFile: HardStateFile,
    private readonly lock: DirectoryLock,
    hardState: HardState,
    entries: Entry[],
  ) {
    this.lastIndex = entries.length;
    this.durableHardState = hardState;
    this.recovered = entries;
  }

  /**
   * Opens (creating if needed) the storage in `dir`: locks it, recovers the log and
   * hard state. Throws `DirectoryLockedError` if another `FileStorage` holds `dir`,
   * `CorruptLogError` if committed data is damaged, `StorageFailedError` on I/O errors.
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
    try {
      const created = await fs.mkdir(dir, { recursive: true });
      if (created !== undefined) await syncDirectory(fs, path.dirname(path.resolve(dir)));
      lock = await DirectoryLock.acquire(fs, dir);
      const hardStateFile = new HardStateFile(fs, dir);
      const hardState = await hardStateFile.load();
      const { log, entries, recovery } = await FileLog.open(fs, dir, maxSegmentBytes);
      return new FileStorage(dir, recovery, log, hardStateFile, lock, hardState, entries);
    } catch (e) {
      if (lock) await lock.release().catch(() => undefined);
      if (e instanceof RaftError) throw e;
      throw new StorageFailedError(`cannot open storage in ${dir}: ${errorMessage(e)}`, e);
    }
  }

  /**
   * The durable state: hard state and log. Called right after `open` it returns what
   * recovery read; later it waits for earlier calls and reads the log back from disk.
   */
  async load(): Promise<PersistedState> {
    const recovered = this.recovered;
    if (recovered && this.queue.length === 0 && !this.flushing && !this.failure && !this.closed) {
      this.recovered = null;
      return { hardState: this.durableHardState, entries: recovered };
    }
    this.recovered = null;
    await this.enqueue(BARRIER, null, null, null);
    try {
      const entries = await this.log.readEntries();
      return { hardState: this.durableHardState, entries };
    } catch (e) {
      if (e instanceof RaftError) throw e;
      throw new StorageFailedError(`cannot read the log back: ${errorMessage(e)}`, e);
    }
  }

  saveHardState(state: HardState): Promise<void> {
    return this.enqueue(HARD_STATE, null, { term: state.term, votedFor: state.votedFor }, null);
  }

  append(entries: readonly Entry[]): Promise<void> {
    if (this.failure || this.closed || entries.length === 0) return this.enqueue(BARRIER, null, null, null);
    const first = entries[0].index;
    const problem = checkContiguous(entries, this.lastIndex);
    if (problem) return this.enqueue(BARRIER, null, null, new NonContiguousAppendError(this.lastIndex, first, problem));
    this.lastIndex = entries[entries.length - 1].index;
    this.recovered = null;
    return this.enqueue(APPEND, encodeEntries(entries), null, null);
  }

  /**
   * Lets calls already made complete, then closes the files and releases the lock.
   * Later calls reject with `StorageFailedError`. Idempotent; never rejects for a
   * storage that failed earlier.
   */
  close(): Promise<void> {
    if (!this.closed) {
      const drained = this.enqueue(BARRIER, null, null, null).catch(() => undefined);
      this.closed = drained.then(async () => {
        while (this.flushing) await this.flushing;
        this.recovered = null;
        try {
          await this.log.close();
        } finally {
          await this.lock.release();
        }
      });
    }
    return this.closed;
  }

  private enqueue(kind: Op['kind'], block: Buffer | null, state: HardState | null, error: Error | null): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageFailedError(`storage in ${this.dir} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind, block, state, error, resolve, reject });
      if (!this.flushScheduled && !this.flushing) {
        this.flushScheduled = true;
        queueMicrotask(this.flushNow);
      }
    });
  }

  private startFlush(): void {
    this.flushScheduled = false;
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = this.flush();
  }

  /** Writes queued batches one after another until the queue is empty or a write fails. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue;
      this.queue = [];
      await this.runBatch(batch);
      // Callers resumed by this batch have queued their next calls by now (awaiting
      // runBatch took a turn after it settled them); one more turn catches a second await.
      if (this.queue.length > 0) await Promise.resolve();
    }
    this.flushing = null;
    if (this.failure) this.rejectAll(this.queue, 0, this.failure);
  }

  /**
   * Executes one batch in call order: each run of appends is one log write + fdatasync;
   * each run of hard states saves only the last. Settles each run's calls once it is
   * durable; on failure rejects the rest and enters fail-stop.
   */
  private async runBatch(batch: Op[]): Promise<void> {
    let i = 0;
    try {
      while (i < batch.length) {
        let j = i;
        if (batch[i].kind === HARD_STATE) {
          while (j + 1 < batch.length && batch[j + 1].kind === HARD_STATE) j++;
          const state = batch[j].state as HardState;
          await this.hardStateFile.save(state);
          this.durableHardState = state;
          this.syncs++;
          j++;
        } else {
          const blocks: Buffer[] = [];
          let bytes = 0;
          for (; j < batch.length && batch[j].kind !== HARD_STATE; j++) {
            const block = batch[j].block;
            if (block) {
              blocks.push(block);
              bytes += block.length;
            }
          }
          if (blocks.length > 0) {
            await this.log.append(blocks, bytes);
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
      this.failure = new StorageFailedError(`write to ${this.dir} failed, storage stopped: ${errorMessage(e)}`, e);
      this.rejectAll(batch, i, this.failure);
      this.rejectAll(this.queue, 0, this.failure);
      this.queue = [];
    }
  }

  private rejectAll(ops: Op[], from: number, error: Error): void {
    for (let i = from; i < ops.length; i++) ops[i].reject(error);
  }
}

/** Why `entries` cannot be appended to a log ending at `lastIndex`, or null. */
function checkContiguous(entries: readonly Entry[], lastIndex: number): string | null {
  const first = entries[0].index;
  if (!Number.isSafeInteger(first) || first < 1) return `first index ${first} is not a positive integer`;
  if (first > lastIndex + 1) return 'it would leave a gap';
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].index !== first + i) return `entry ${i} has index ${entries[i].index}, expected ${first + i}`;
  }
  return null;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
