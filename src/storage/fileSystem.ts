import { constants as fsConstants } from 'fs';
import * as fsp from 'fs/promises';

/**
 * The part of a `fs/promises` `FileHandle` that `FileStorage` uses. Node's own
 * `FileHandle` satisfies it, so production code calls the real handle directly (no
 * wrapper on the hot path); tests substitute a facade to inject failures.
 */
export interface FileHandleLike {
  /** The file descriptor, when there is one (Node's `FileHandle` has it; `eventLoopWrites` writes through it). */
  readonly fd?: number;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** Writes `buffers` back to back at `position` in one call (`writev(2)`); optional: without it, `writeAllFully` writes them one by one. */
  writev?(buffers: Uint8Array[], position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

/**
 * The file-system operations `FileStorage` performs, shaped like `fs/promises`.
 *
 * @example
 * // A facade whose every datasync fails, for fail-stop tests:
 * const failing: FileSystem = {
 *   ...nodeFileSystem,
 *   async open(path, flags, mode) {
 *     const handle = await nodeFileSystem.open(path, flags, mode);
 *     return Object.assign(Object.create(handle), { datasync: () => Promise.reject(new Error('EIO')) });
 *   },
 * };
 * await FileStorage.open(dir, { fs: failing });
 */
export interface FileSystem {
  open(path: string, flags: string | number, mode?: number): Promise<FileHandleLike>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
}

/** The real file system (`fs/promises`). */
export const nodeFileSystem: FileSystem = {
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  readdir: (path) => fsp.readdir(path),
  mkdir: (path, options) => fsp.mkdir(path, options),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  link: (existing, newPath) => fsp.link(existing, newPath),
  readFile: (path) => fsp.readFile(path),
};

/**
 * Creates the file at `file` (refusing one that exists) holding `header`, syncs it and its
 * directory entry (through `directory`), and returns it open for writing; with
 * `writeThrough` it is opened O_DSYNC (each write durable when it returns).
 *
 * @example
 * const handle = await createFileWithHeader(fs, path.join(dir, '0000000000000001.wal'), dirHandle, header, true);
 */
export async function createFileWithHeader(fs: FileSystem, file: string, directory: FileHandleLike, header: Uint8Array, writeThrough: boolean): Promise<FileHandleLike> {
  const flags = writeThrough ? fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_DSYNC : 'wx';
  const handle = await fs.open(file, flags, 0o644);
  try {
    await writeFully(handle, header, 0);
    await handle.datasync();
    await directory.sync();
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Writes all of `buffer` at `position`, looping over short writes. */
export async function writeFully(handle: FileHandleLike, buffer: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.byteLength) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.byteLength - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at position ${position + done}`);
    done += bytesWritten;
  }
}

/**
 * Writes `buffers` back to back at `position`, as one `writev` when the handle has it
 * (looping over short writes), else one `writeFully` after another.
 *
 * @example
 * await writeAllFully(handle, [header, block], offset); // header, then block, no copy
 */
export async function writeAllFully(handle: FileHandleLike, buffers: readonly Uint8Array[], position: number): Promise<void> {
  if (buffers.length === 1) return writeFully(handle, buffers[0], position); // one buffer: a plain write
  if (!handle.writev) {
    for (const buffer of buffers) {
      await writeFully(handle, buffer, position);
      position += buffer.byteLength;
    }
    return;
  }
  let rest = buffers.filter((b) => b.byteLength > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, position);
    if (bytesWritten <= 0) throw new Error(`write made no progress at position ${position}`);
    position += bytesWritten;
    rest = afterBytes(rest, bytesWritten);
  }
}

/** What is left of `buffers` once their first `bytes` are written. */
function afterBytes(buffers: readonly Uint8Array[], bytes: number): Uint8Array[] {
  let i = 0;
  while (i < buffers.length && bytes >= buffers[i].byteLength) bytes -= buffers[i++].byteLength;
  const rest = buffers.slice(i);
  if (rest.length > 0 && bytes > 0) rest[0] = rest[0].subarray(bytes);
  return rest;
}

/** Reads the whole file behind `handle` (its size at the time of the call). */
export async function readFully(handle: FileHandleLike): Promise<Buffer> {
  const { size } = await handle.stat();
  const buffer = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0) break; // shrank under us; return what is there
    done += bytesRead;
  }
  return done === size ? buffer : buffer.subarray(0, done);
}

/** Makes renames, creations and removals of entries in `dir` durable (fsync of the directory). */
export async function syncDirectory(fs: FileSystem, dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** True when `error` is a Node system error with this `code` (e.g. `ENOENT`). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/**
 * True when `error` says the process (EMFILE) or the system (ENFILE) has no file
 * descriptor left: the open failed before it created or changed anything.
 */
export function isOutOfDescriptors(error: unknown): boolean {
  return hasErrorCode(error, 'EMFILE') || hasErrorCode(error, 'ENFILE');
}

/** Removes `file`; one that is already gone is fine. */
export async function unlinkIfExists(fs: FileSystem, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if (!hasErrorCode(e, 'ENOENT')) throw e;
  }
}
