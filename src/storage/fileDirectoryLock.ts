import * as path from 'path';
import { DirectoryLockedError } from './fileErrors';
import { FileSystem, hasErrorCode, writeFully } from './fileSystem';

/** The lock file's name inside the storage directory. */
export const LOCK_FILE = 'LOCK';
const BREAKER_FILE = 'LOCK.break';
const MAX_ATTEMPTS = 5;
/** A temp file `acquire` links to `LOCK`: `LOCK.<pid>.<n>.tmp`. */
const TEMP_NAME = /^LOCK\.(\d+)\.\d+\.tmp$/;

/** Distinguishes the temp files of several acquisitions in one process. */
let tempCounter = 0;

/**
 * An exclusive lock on a storage directory, held by one `FileStorage` at a time.
 *
 * The scheme: the lock is a file `LOCK` holding the owner's pid. It is created
 * atomically with its content by writing a private temp file and `link(2)`ing it to
 * `LOCK` (link fails with EEXIST when `LOCK` exists), so no reader ever sees an empty
 * lock. A `LOCK` whose pid is alive (this process included: a second `FileStorage` in
 * the same process is refused too) makes `acquire` fail with `DirectoryLockedError`. A
 * `LOCK` whose pid is dead (the owner crashed or was killed) is stale and is broken:
 * to keep two openers from both breaking it and both winning, breaking is serialized by
 * a second lock file `LOCK.break` created with O_EXCL; under it the opener re-reads
 * `LOCK`, removes it only if it still names the same dead pid, and retries the link.
 *
 * Limits: if a dead owner's pid has been reused by an unrelated live process the lock
 * looks held and `acquire` fails (safe; the message says to remove `LOCK` by hand). A
 * process that dies inside the few syscalls of breaking leaves a stale `LOCK.break`,
 * which is removed the same way; one that dies while taking the lock leaves its temp
 * file, which the next `acquire` removes once it holds the lock. Not for network file systems whose processes live on
 * other hosts (the pid check is local).
 *
 * @example
 * const lock = await DirectoryLock.acquire(nodeFileSystem, dir); // throws DirectoryLockedError if held
 * try { ... } finally { await lock.release(); }
 */
export class DirectoryLock {
  private released = false;

  private constructor(private readonly fs: FileSystem, private readonly file: string) {}

  /** Takes the lock on `dir` or throws `DirectoryLockedError`. */
  static async acquire(fs: FileSystem, dir: string): Promise<DirectoryLock> {
    const file = path.join(dir, LOCK_FILE);
    const temp = path.join(dir, `${LOCK_FILE}.${process.pid}.${++tempCounter}.tmp`);
    const handle = await fs.open(temp, 'wx', 0o644);
    try {
      await writeFully(handle, Buffer.from(`${process.pid}\n`), 0);
    } finally {
      await handle.close();
    }
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        try {
          await fs.link(temp, file);
          await removeDeadTemps(fs, dir);
          return new DirectoryLock(fs, file);
        } catch (e) {
          if (!hasErrorCode(e, 'EEXIST')) throw e;
        }
        const holder = await readPid(fs, file);
        if (holder === undefined) continue; // released meanwhile: try again
        if (holder !== null && isAlive(holder)) {
          const who = holder === process.pid ? 'this process' : 'a live process';
          throw new DirectoryLockedError(dir, holder, `held by ${who}; if no rxraft process uses it, remove ${file}`);
        }
        await breakStaleLock(fs, dir, file, holder);
      }
      throw new DirectoryLockedError(dir, null, `could not take the lock after ${MAX_ATTEMPTS} attempts (contended)`);
    } finally {
      await unlinkIfExists(fs, temp);
    }
  }

  /** Releases the lock (idempotent). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if ((await readPid(this.fs, this.file)) === process.pid) await unlinkIfExists(this.fs, this.file);
  }
}

/**
 * Removes `file` if it still names the dead pid `stale`, holding `LOCK.break` meanwhile
 * so that only one opener breaks a given stale lock.
 */
async function breakStaleLock(fs: FileSystem, dir: string, file: string, stale: number | null): Promise<void> {
  const breaker = path.join(dir, BREAKER_FILE);
  let handle;
  try {
    handle = await fs.open(breaker, 'wx', 0o644);
  } catch (e) {
    if (!hasErrorCode(e, 'EEXIST')) throw e;
    const breakerPid = await readPid(fs, breaker);
    if (breakerPid !== undefined && breakerPid !== null && isAlive(breakerPid)) {
      throw new DirectoryLockedError(dir, breakerPid, 'another process is breaking a stale lock');
    }
    await unlinkIfExists(fs, breaker); // its owner died while breaking; the caller retries
    return;
  }
  try {
    await writeFully(handle, Buffer.from(`${process.pid}\n`), 0);
    await handle.close();
    handle = undefined;
    if ((await readPid(fs, file)) === stale) await unlinkIfExists(fs, file);
  } finally {
    if (handle) await handle.close();
    await unlinkIfExists(fs, breaker);
  }
}

/**
 * Removes the temp files (`LOCK.<pid>.<n>.tmp`) of processes that died while taking the
 * lock (killed between creating the file and removing it); a live process's are left.
 */
async function removeDeadTemps(fs: FileSystem, dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const match = TEMP_NAME.exec(name);
    if (match && !isAlive(Number(match[1]))) await unlinkIfExists(fs, path.join(dir, name));
  }
}

/** The pid in a lock file; null if unreadable as a pid; undefined if the file is gone. */
async function readPid(fs: FileSystem, file: string): Promise<number | null | undefined> {
  let text: string;
  try {
    text = (await fs.readFile(file)).toString('utf8');
  } catch (e) {
    if (hasErrorCode(e, 'ENOENT')) return undefined;
    throw e;
  }
  return /^\d+\n$/.test(text) ? Number(text.trim()) : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return hasErrorCode(e, 'EPERM'); // exists, owned by someone else
  }
}

async function unlinkIfExists(fs: FileSystem, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if (!hasErrorCode(e, 'ENOENT')) throw e;
  }
}
