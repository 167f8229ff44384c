import { RaftError } from '../errors';

/**
 * A record in the write-ahead log (or the hard-state file, or a snapshot file) failed its
 * checksum or is malformed somewhere other than the torn tail of the last segment.
 * `FileStorage.open` refuses to start rather than drop data that may have been
 * acknowledged; an operator must restore the node from a replica or a backup. Reading a
 * snapshot's chunks throws it too when a chunk fails its checksum.
 *
 * @example
 * try { await FileStorage.open(dir); }
 * catch (e) { if (e instanceof CorruptLogError) console.error(e.file, e.offset, e.reason); }
 */
export class CorruptLogError extends RaftError {
  constructor(
    /** The damaged file. */
    readonly file: string,
    /** Byte offset in `file` where the first bad record starts. */
    readonly offset: number,
    /** What is wrong, e.g. "checksum mismatch". */
    readonly reason: string,
  ) {
    super(`corrupt storage file: ${file} at byte offset ${offset}: ${reason}`);
  }
}

/**
 * The storage directory is held by another `FileStorage`, in this process or another.
 * `holderPid` is the process named in the lock file.
 *
 * @example
 * try { await FileStorage.open(dir); }
 * catch (e) { if (e instanceof DirectoryLockedError) console.error(`in use by pid ${e.holderPid}`); }
 */
export class DirectoryLockedError extends RaftError {
  constructor(readonly dir: string, readonly holderPid: number | null, detail: string) {
    super(`storage directory ${dir} is locked${holderPid === null ? '' : ` by pid ${holderPid}`}: ${detail}`);
  }
}

/**
 * `append` was called with entries that are not contiguous, or that would leave a gap
 * after the log's last index. Nothing was written; the storage stays usable.
 *
 * @example
 * await storage.append([{ index: 5, term: 1, kind: EntryKind.Command, data }]);
 * // rejects with NonContiguousAppendError when the log ends at index 3
 */
export class NonContiguousAppendError extends RaftError {
  constructor(readonly lastIndex: number, readonly firstIndex: number, detail: string) {
    super(`append rejected: ${detail} (log ends at ${lastIndex}, append starts at ${firstIndex})`);
  }
}

/**
 * A snapshot's chunks could not be read because a newer snapshot replaced it (and its
 * file was deleted) between `readSnapshot()` and the first pull. Start over with a new
 * `readSnapshot()`.
 *
 * @example
 * const { meta, chunks } = storage.readSnapshot()!;
 * try { for await (const c of chunks) send(c); }
 * catch (e) { if (e instanceof SnapshotReplacedError) restartTransfer(); }
 */
export class SnapshotReplacedError extends RaftError {
  constructor(readonly index: number, readonly file: string) {
    super(`snapshot at index ${index} was replaced by a newer one before it was read (${file} is gone)`);
  }
}

/**
 * `createSnapshot` was called while another snapshot writer of the same storage is still
 * open (neither committed nor aborted). At most one snapshot is written at a time.
 *
 * @example
 * const a = storage.createSnapshot(meta);
 * storage.createSnapshot(meta); // throws SnapshotInProgressError
 */
export class SnapshotInProgressError extends RaftError {
  constructor(readonly index: number) {
    super(`a snapshot (at index ${index}) is already being written`);
  }
}

/**
 * A snapshot could not be started: the process has no file descriptor left to create its
 * file (EMFILE/ENFILE). Nothing was written and the storage keeps working (this is not
 * fail-stop: hard state and log writes need no new descriptor); the writer is unusable,
 * abort it and take the snapshot later.
 *
 * @example
 * try { await writer.write(chunk); }
 * catch (e) { if (e instanceof OutOfDescriptorsError) { await writer.abort(); retryLater(); } }
 */
export class OutOfDescriptorsError extends RaftError {
  constructor(readonly file: string, cause: unknown) {
    super(`cannot create ${file}: no file descriptor left (the storage keeps working; try the snapshot again later)`, { cause });
  }
}
