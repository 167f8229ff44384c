import { StorageFailedError } from '../errors';
import type { SnapshotMeta } from '../messages/persisted';
import type { LogCompaction } from './fileSnapshotFormat';
import { DurableSnapshot, SnapshotFiles } from './fileSnapshots';
import type { StagedSnapshot } from './fileSnapshotStaging';
import { isOutOfDescriptors } from './fileSystem';
import { OutOfDescriptorsError, SnapshotInProgressError } from './fileErrors';
import type { SnapshotWriter } from './storage';

/** A snapshot writer handed out by `SnapshotSlot.create`, until it commits or aborts. */
export interface OpenWriter {
  readonly meta: SnapshotMeta;
  readonly staged: StagedSnapshot;
  open: boolean;
}

/** How a storage carries out the writes and the commit of the writers its slot hands out. */
export interface SnapshotCalls {
  readonly write: (writer: OpenWriter, chunk: Uint8Array) => Promise<void>;
  readonly commit: (writer: OpenWriter, compactUpTo: number, discardLog: boolean) => Promise<void>;
}

/**
 * The snapshot side of a file-backed storage (`FileStorage`, and each group's view of a
 * `SharedLog`): the current durable snapshot, the one writer that may be open, and the
 * steps both storages take the same way — the checks of `createSnapshot`, reading the
 * current snapshot, writing a chunk, checking a commit, the install (the commit point)
 * and aborting. The storage keeps what differs: when a commit runs in its write order
 * and what it compacts.
 *
 * @example
 * const slot = new SnapshotSlot(files, current);
 * const writer = slot.create(meta, { write: (w, chunk) => slot.writeChunk(w, chunk, stopped(), fail), commit });
 * slot.read()?.meta; // the current snapshot's meta
 */
export class SnapshotSlot {
  private writer: OpenWriter | null = null;

  constructor(
    readonly files: SnapshotFiles,
    /** The current durable snapshot, if any. */
    public current: DurableSnapshot | null,
  ) {}

  /**
   * Opens the one writer of a snapshot at `meta`: throws `SnapshotInProgressError` while
   * another is open, `RangeError` for an index or term that is not a non-negative integer.
   */
  create(meta: SnapshotMeta, calls: SnapshotCalls): SnapshotWriter {
    if (this.writer) throw new SnapshotInProgressError(this.writer.meta.index);
    for (const [name, value] of [['index', meta.index], ['term', meta.term]] as const) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`snapshot ${name} must be a non-negative integer, got ${value}`);
    }
    const writer: OpenWriter = { meta, staged: this.files.stage(meta), open: true };
    this.writer = writer;
    return {
      write: (chunk) => calls.write(writer, chunk),
      commit: (options) => calls.commit(writer, options.compactUpTo, options.discardLog),
      abort: () => this.abort(writer),
    };
  }

  /** The current snapshot: its meta now, its chunks read lazily from its file. */
  read(): { readonly meta: SnapshotMeta; readonly chunks: AsyncIterable<Uint8Array> } | null {
    const snapshot = this.current;
    return snapshot ? { meta: snapshot.meta, chunks: this.files.chunks(snapshot) } : null;
  }

  /**
   * Writes a chunk of `writer`, unless it is closed or the storage has `stopped` (failed
   * or closed: the error to reject with). A failed write is a storage failure (`fail`),
   * except a file that could not be created for want of descriptors: nothing was written.
   */
  writeChunk(writer: OpenWriter, chunk: Uint8Array, stopped: Error | null, fail: (what: string, cause: unknown) => Error): Promise<void> {
    if (!writer.open) return Promise.reject(new StorageFailedError('snapshot writer is closed (committed or aborted)'));
    if (stopped) return Promise.reject(stopped);
    return writer.staged.write(chunk).catch((e: unknown) => {
      if (isOutOfDescriptors(e)) throw new OutOfDescriptorsError(writer.staged.temp, e);
      throw fail(`snapshot write to ${writer.staged.temp} failed`, e);
    });
  }

  /**
   * Closes `writer` for its commit and checks `compactUpTo`: the error to reject the
   * commit with (its staged file then discarded), or null when the commit may go on.
   */
  takeForCommit(writer: OpenWriter, compactUpTo: number): Error | null {
    if (!writer.open) return new StorageFailedError('snapshot writer is closed (committed or aborted)');
    this.close(writer);
    const { meta, staged } = writer;
    if (Number.isSafeInteger(compactUpTo) && compactUpTo >= 0 && compactUpTo <= meta.index) return null;
    staged.discard().catch(() => undefined);
    return new RangeError(`compactUpTo must be an integer from 0 to the snapshot's index ${meta.index}, got ${compactUpTo}`);
  }

  /**
   * Makes `writer`'s staged snapshot current once its chunks are `synced`: completes it
   * with its compaction (from a fresh segment when `freshSegment` is given) and renames it
   * into place — the commit point; the staged file is discarded if anything before that
   * fails. Returns the compaction and the snapshot it replaced (for the storage to remove).
   */
  async install(
    writer: OpenWriter,
    synced: Promise<void>,
    compactedThrough: number,
    freshSegment: (() => Promise<number>) | null,
  ): Promise<{ readonly compaction: LogCompaction; readonly previous: DurableSnapshot | null }> {
    const { meta, staged } = writer;
    let file: string;
    let compaction: LogCompaction;
    try {
      await synced;
      const firstLiveSegment = freshSegment ? await freshSegment() : (this.current?.compaction.firstLiveSegment ?? 1);
      compaction = { compactedThrough, firstLiveSegment };
      await staged.complete(compaction);
      file = await staged.install(); // the commit point
    } catch (e) {
      await staged.discard().catch(() => undefined);
      throw e;
    }
    const previous = this.current;
    this.current = { sequence: staged.sequence, file, meta, compaction };
    return { compaction, previous };
  }

  /** Aborts `writer` (nothing if already closed): its temp file is deleted; it was never durable state. */
  abort(writer: OpenWriter): Promise<void> {
    if (!writer.open) return Promise.resolve();
    this.close(writer);
    return writer.staged.discard().catch((e: unknown) => {
      throw new StorageFailedError(`cannot delete the aborted snapshot ${writer.staged.temp}: ${e instanceof Error ? e.message : String(e)}`, e);
    });
  }

  /** Aborts the open writer, if any, and ends snapshot reads in progress (the storage closes). */
  async shut(): Promise<void> {
    if (this.writer) await this.abort(this.writer).catch(() => undefined);
    await this.files.close();
  }

  private close(writer: OpenWriter): void {
    writer.open = false;
    if (this.writer === writer) this.writer = null;
  }
}

/** A storage's call-time view of its log: what appends called from now on are checked against. */
export interface LogView {
  readonly compactedThrough: number;
  readonly lastIndex: number;
}

/**
 * The call-time view once a snapshot at `index` is committed: compacted through
 * `compactUpTo` (through `index` with `discardLog`, which also drops every later entry).
 *
 * @example
 * viewAfterSnapshot({ compactedThrough: 0, lastIndex: 40 }, 30, 20, false); // { compactedThrough: 20, lastIndex: 40 }
 */
export function viewAfterSnapshot(view: LogView, index: number, compactUpTo: number, discardLog: boolean): LogView {
  const compactedThrough = Math.max(view.compactedThrough, discardLog ? index : compactUpTo);
  return { compactedThrough, lastIndex: discardLog ? compactedThrough : Math.max(view.lastIndex, compactedThrough) };
}
