import { RaftError } from '../errors';

/**
 * A record in the write-ahead log (or the hard-state file) failed its checksum or is
 * malformed somewhere other than the torn tail of the last segment. `FileStorage.open`
 * refuses to start rather than drop data that may have been acknowledged; an operator
 * must restore the node from a replica or a backup.
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
    super(`corrupt write-ahead log: ${file} at byte offset ${offset}: ${reason}`);
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
