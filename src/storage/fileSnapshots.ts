import * as path from 'path';
import { InvalidMessageError, RaftError, StorageFailedError } from '../errors';
import { CorruptLogError, SnapshotReplacedError } from './fileErrors';
import { checkFileHeader, FILE_HEADER_BYTES, RecordType, ScannedRecord } from './fileRecordFraming';
import { FileRecordReader } from './fileRecordReader';
import {
  decodeSnapshotEnd,
  decodeSnapshotMeta,
  LogCompaction,
  parseSnapshotFileName,
  SNAPSHOT_MAGIC,
  snapshotFileName,
  SnapshotEnd,
} from './fileSnapshotFormat';
import { StagedSnapshot } from './fileSnapshotStaging';
import { FileHandleLike, FileSystem, hasErrorCode } from './fileSystem';
import type { SnapshotMeta } from '../messages/persisted';

/** A complete snapshot file under its final name. */
export interface DurableSnapshot {
  readonly sequence: number;
  readonly file: string;
  readonly meta: SnapshotMeta;
  /** The log compaction it committed (cumulative). */
  readonly compaction: LogCompaction;
}

/**
 * The snapshot files of one storage directory (layout in `fileSnapshotFormat.ts`).
 *
 * At `open`: leftover temp files (snapshots never committed) are deleted; the snapshot
 * with the highest sequence is current and is verified whole — every record's checksum,
 * the meta, the end record and the counts it states — so a damaged snapshot refuses to
 * start with `CorruptLogError` instead of being dropped; older complete snapshots (left by
 * a crash before their deletion) are deleted only after that.
 *
 * Reading (`chunks`) is lazy and pull-based: the file is opened on the first pull and one
 * chunk is read per pull, checksum verified. An open read survives the snapshot's
 * replacement (the deleted file stays readable through its handle); a read that had not
 * started yet fails with `SnapshotReplacedError`.
 *
 * @example
 * const { files, current } = await SnapshotFiles.open(nodeFileSystem, dir);
 * if (current) for await (const chunk of files.chunks(current)) restore(chunk);
 */
export class SnapshotFiles {
  /** Handles of reads in progress, closed by `close()`. Made at the first read: a host's groups mostly never send a snapshot. */
  private readers: Set<FileHandleLike> | null = null;
  private closed = false;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    /** The sequence the next staged snapshot gets. Invariant: above every snapshot file's. */
    private nextSequence: number,
    /** Open on `dir` (owned by the caller), for fsyncs of the directory at install. */
    private readonly directory: FileHandleLike | null = null,
  ) {}

  /** Cleans up the directory's snapshot files and returns the verified current snapshot. */
  static async open(fs: FileSystem, dir: string, directory: FileHandleLike | null = null): Promise<{ files: SnapshotFiles; current: DurableSnapshot | null }> {
    const complete: number[] = [];
    let highest = 0;
    for (const name of await fs.readdir(dir)) {
      const parsed = parseSnapshotFileName(name);
      if (!parsed) continue;
      highest = Math.max(highest, parsed.sequence);
      if (parsed.temp) await unlinkIfExists(fs, path.join(dir, name));
      else complete.push(parsed.sequence);
    }
    complete.sort((a, b) => a - b);
    const files = new SnapshotFiles(fs, dir, highest + 1, directory);
    const last = complete.pop();
    if (last === undefined) return { files, current: null };
    const current = await verifySnapshotFile(fs, path.join(dir, snapshotFileName(last)), last);
    for (const older of complete) await unlinkIfExists(fs, path.join(dir, snapshotFileName(older)));
    return { files, current };
  }

  /** Starts writing a new snapshot under the next sequence number. */
  stage(meta: SnapshotMeta): StagedSnapshot {
    return new StagedSnapshot(this.fs, this.dir, this.nextSequence++, meta, this.directory);
  }

  /** The chunks of `snapshot`, read lazily; each iteration reads the file afresh. */
  chunks(snapshot: DurableSnapshot): AsyncIterable<Uint8Array> {
    return { [Symbol.asyncIterator]: () => this.readChunks(snapshot) };
  }

  /** Deletes a snapshot that is no longer current (reads already open finish). */
  async remove(snapshot: DurableSnapshot): Promise<void> {
    await unlinkIfExists(this.fs, snapshot.file);
  }

  /** Ends every read in progress; later reads fail with `StorageFailedError`. */
  async close(): Promise<void> {
    this.closed = true;
    const handles = [...(this.readers ?? [])];
    this.readers?.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }

  private async *readChunks(snapshot: DurableSnapshot): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.closed) throw new StorageFailedError(`cannot read snapshot ${snapshot.file}: storage is closed`);
    let handle: FileHandleLike;
    try {
      handle = await this.fs.open(snapshot.file, 'r');
    } catch (e) {
      if (hasErrorCode(e, 'ENOENT')) throw new SnapshotReplacedError(snapshot.meta.index, snapshot.file);
      throw new StorageFailedError(`cannot open snapshot ${snapshot.file}: ${errorMessage(e)}`, e);
    }
    const readers = (this.readers ??= new Set());
    readers.add(handle);
    try {
      const reader = await SnapshotFileReader.start(handle, snapshot.file, snapshot.sequence);
      for (let chunk = await reader.nextChunk(); chunk; chunk = await reader.nextChunk()) yield chunk;
    } catch (e) {
      if (e instanceof RaftError) throw e;
      const why = this.closed ? 'storage is closed' : errorMessage(e);
      throw new StorageFailedError(`cannot read snapshot ${snapshot.file}: ${why}`, e);
    } finally {
      if (readers.delete(handle)) await handle.close().catch(() => undefined);
    }
  }
}

/**
 * Reads a whole snapshot file, checking everything; returns what it describes. Throws
 * `CorruptLogError` naming the file and offset of the first problem.
 */
export async function verifySnapshotFile(fs: FileSystem, file: string, sequence: number): Promise<DurableSnapshot> {
  const handle = await fs.open(file, 'r');
  try {
    const reader = await SnapshotFileReader.start(handle, file, sequence);
    while (await reader.nextChunk());
    return { sequence, file, meta: reader.meta, compaction: reader.end as SnapshotEnd };
  } finally {
    await handle.close();
  }
}

/**
 * Walks one snapshot file: the header and meta record at `start`, then one chunk per
 * `nextChunk`, then the end record, which must agree with what was read and be last.
 */
class SnapshotFileReader {
  /** Set once `nextChunk` has returned null. */
  end: SnapshotEnd | null = null;
  private chunks = 0;
  private bytes = 0;

  private constructor(
    private readonly records: FileRecordReader,
    readonly meta: SnapshotMeta,
  ) {}

  /** Opens the walk: checks the file header (magic, version, sequence) and reads the meta. */
  static async start(handle: FileHandleLike, file: string, sequence: number): Promise<SnapshotFileReader> {
    const { size } = await handle.stat();
    const header = Buffer.alloc(Math.min(size, FILE_HEADER_BYTES));
    if (header.length > 0) await handle.read(header, 0, header.length, 0);
    const problem = checkFileHeader(header, SNAPSHOT_MAGIC, sequence);
    if (problem) throw new CorruptLogError(file, 0, problem);
    const records = new FileRecordReader(handle, file, FILE_HEADER_BYTES, size);
    const first = await records.next();
    if (!first || first.type !== RecordType.SnapshotMeta) {
      throw records.corrupt(FILE_HEADER_BYTES, first ? `expected the snapshot meta, found record type ${first.type}` : 'no snapshot meta');
    }
    return new SnapshotFileReader(records, decodeOrCorrupt(records, first, decodeSnapshotMeta));
  }

  /** The next chunk, or null after the end record (verified). */
  async nextChunk(): Promise<Uint8Array | null> {
    if (this.end) return null;
    const records = this.records;
    const at = records.offset;
    const record = await records.next();
    if (!record) throw records.corrupt(at, 'the snapshot ends without its end record (incomplete)');
    if (record.type === RecordType.SnapshotChunk) {
      this.chunks++;
      this.bytes += record.payload.length;
      return record.payload;
    }
    if (record.type !== RecordType.SnapshotEnd) throw records.corrupt(at, `unexpected record type ${record.type} in a snapshot`);
    const end = decodeOrCorrupt(records, record, decodeSnapshotEnd);
    if (end.chunks !== this.chunks || end.bytes !== this.bytes) {
      throw records.corrupt(at, `end record says ${end.chunks} chunks of ${end.bytes} bytes, found ${this.chunks} of ${this.bytes}`);
    }
    if (records.offset !== records.size) throw records.corrupt(records.offset, 'bytes after the end record');
    this.end = end;
    return null;
  }
}

function decodeOrCorrupt<T>(records: FileRecordReader, record: ScannedRecord, decode: (payload: Buffer) => T): T {
  try {
    return decode(record.payload);
  } catch (e) {
    if (e instanceof InvalidMessageError) throw records.corrupt(record.offset, e.reason);
    throw e;
  }
}

async function unlinkIfExists(fs: FileSystem, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if (!hasErrorCode(e, 'ENOENT')) throw e;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
