import * as path from 'path';
import type { SnapshotMeta } from '../messages/persisted';
import { FileHandleLike, FileSystem, hasErrorCode, syncDirectory, writeAllFully, writeFully } from './fileSystem';
import {
  encodeSnapshotEnd,
  encodeSnapshotStart,
  LogCompaction,
  snapshotChunkHeader,
  snapshotFileName,
  snapshotTempName,
} from './fileSnapshotFormat';

/**
 * One snapshot being written to its temp file (`fileSnapshotFormat.ts` describes the
 * layout). Every file operation runs on one private chain, in call order: the file is
 * created (with its header and meta record) by the first operation, each `write` appends
 * one framed chunk, `sync` makes the chunks durable, `complete` appends the end record,
 * syncs and closes, `install` renames the file to its final name and syncs the directory.
 * Once an operation fails, every later one fails with the same error (except `discard`).
 *
 * A chunk is written as it is, after its record header (its checksum is taken when `write`
 * is called): it must not change until its `write` settles. At most the chunks of
 * unsettled `write` calls are held in memory.
 *
 * @example
 * const staged = new StagedSnapshot(fs, dir, 7, meta);
 * await staged.write(chunk);
 * await staged.complete({ compactedThrough: 100, firstLiveSegment: 1 });
 * const file = await staged.install(); // .../snapshot-0000000000000007.snap, durable
 */
export class StagedSnapshot {
  /** The temp file's path. */
  readonly temp: string;
  private chain: Promise<void> = Promise.resolve();
  private handle: FileHandleLike | null = null;
  /** The file header and meta record, written when the file is created. */
  private readonly start: Buffer;
  /**
   * Where the next record called for goes. Writes run in call order, so every record's
   * offset (which its checksum covers) is known when it is called for.
   */
  private offset: number;
  private chunks = 0;
  private bytes = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    /** The snapshot's sequence number (its file names derive from it). */
    readonly sequence: number,
    meta: SnapshotMeta,
    /** Open on `dir`: the directory is fsynced through it (no descriptor needed at install); else opened then. */
    private readonly directory: FileHandleLike | null = null,
  ) {
    this.temp = path.join(dir, snapshotTempName(sequence));
    this.start = encodeSnapshotStart(sequence, meta);
    this.offset = this.start.length;
  }

  /** Appends one chunk record (not yet synced). */
  write(chunk: Uint8Array): Promise<void> {
    const header = snapshotChunkHeader(chunk, this.offset);
    const at = this.offset;
    this.offset += header.length + chunk.byteLength;
    this.chunks++;
    this.bytes += chunk.byteLength;
    return this.afterEarlier((handle) => writeAllFully(handle, [header, chunk], at));
  }

  /** Makes every chunk written so far durable (fdatasync). */
  sync(): Promise<void> {
    return this.afterEarlier((handle) => handle.datasync());
  }

  /** Appends the end record carrying `compaction`, syncs and closes the temp file. */
  complete(compaction: LogCompaction): Promise<void> {
    const at = this.offset;
    const end = encodeSnapshotEnd({ chunks: this.chunks, bytes: this.bytes, ...compaction }, at);
    this.offset += end.length;
    return this.afterEarlier(async (handle) => {
      await writeFully(handle, end, at);
      await handle.datasync();
      this.handle = null;
      await handle.close();
    });
  }

  /** Renames the completed temp file to its final name and syncs the directory; returns the final path. */
  async install(): Promise<string> {
    await this.chain;
    const file = path.join(this.dir, snapshotFileName(this.sequence));
    await this.fs.rename(this.temp, file);
    if (this.directory) await this.directory.sync();
    else await syncDirectory(this.fs, this.dir);
    return file;
  }

  /**
   * Closes and deletes the temp file (if it was created), after the operations already
   * called; later operations fail.
   */
  discard(): Promise<void> {
    const run = this.chain
      .catch(() => undefined)
      .then(async () => {
        await this.closeQuietly();
        try {
          await this.fs.unlink(this.temp);
        } catch (e) {
          if (!hasErrorCode(e, 'ENOENT')) throw e;
        }
      });
    const discarded = run.then(() => Promise.reject(new Error('the snapshot was discarded')));
    discarded.catch(() => undefined);
    this.chain = discarded;
    return run;
  }

  /** Runs `op` with the open temp file after every earlier operation (creating the file first). */
  private afterEarlier(op: (handle: FileHandleLike) => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => op(this.handle ?? (await this.create())));
    this.chain = run;
    run.catch(() => void this.closeQuietly());
    return run;
  }

  private async create(): Promise<FileHandleLike> {
    const handle = await this.fs.open(this.temp, 'wx', 0o644);
    this.handle = handle;
    await writeFully(handle, this.start, 0);
    return handle;
  }

  /** Closes the temp file if it is open, ignoring errors (after a failure, or to discard it). */
  private async closeQuietly(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    if (handle) await handle.close().catch(() => undefined);
  }
}
