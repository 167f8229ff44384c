import { constants as fsConstants, writeSync, writevSync } from 'fs';
import { FileHandleLike, FileSystem, nodeFileSystem } from './fileSystem';

/**
 * A `FileSystem` whose files opened with O_DSYNC (`FileStorage`'s log segments with
 * `logSync: 'dsync'`) are written on the calling thread: each `write`/`writev` is one
 * synchronous `write(2)`/`writev(2)` through the file's descriptor, durable when it
 * returns, instead of a round trip through libuv's thread pool. Everything else (reads,
 * syncs, other files) goes to `base` unchanged.
 *
 * What it saves, per log write: waking a pool thread, its completion signal and waking
 * the event loop again — measured at one writer on the 2-core benchmark machine, about
 * three context switches and 60-110 µs of CPU per write on each node
 * (docs/notes/one-proposer.md). What it costs: the event loop waits while the write is
 * in the disk. Nothing else runs in the process meanwhile: a leader sends no heartbeat
 * and takes no proposal, a follower answers no vote, for as long as the write takes, and
 * a disk that stalls stalls the whole node. Suited to a fast disk and one writer at a
 * time; the default (the thread pool) keeps the node responsive while the disk works.
 * `onLoop`, asked at each write, chooses per write: e.g. only while the node follows, so
 * a leader keeps sending heartbeats and taking proposals while its own write is in the
 * disk (the KV server's `--log-writes followers`).
 *
 * @example
 * const storage = await FileStorage.open(dir, { fs: eventLoopWrites(), logSync: 'dsync' });
 * // Or only while this node is not the leader:
 * const fs = eventLoopWrites(undefined, () => role !== 'leader');
 */
export function eventLoopWrites(base: FileSystem = nodeFileSystem, onLoop: () => boolean = () => true): FileSystem {
  return {
    open: async (path, flags, mode) => {
      const handle = await base.open(path, flags, mode);
      const writeThrough = typeof flags === 'number' && (flags & fsConstants.O_DSYNC) !== 0;
      return writeThrough && typeof handle.fd === 'number' ? writingOnLoop(handle, handle.fd, onLoop) : handle;
    },
    readdir: (path) => base.readdir(path),
    mkdir: (path, options) => base.mkdir(path, options),
    rename: (from, to) => base.rename(from, to),
    unlink: (path) => base.unlink(path),
    link: (existing, newPath) => base.link(existing, newPath),
    readFile: (path) => base.readFile(path),
  };
}

/** `handle` with its writes made synchronously through `fd` when `onLoop()` says so; a failed write rejects, as the handle's own would. */
function writingOnLoop(handle: FileHandleLike, fd: number, onLoop: () => boolean): FileHandleLike {
  const settle = (write: () => number): Promise<{ bytesWritten: number }> => {
    try {
      return Promise.resolve({ bytesWritten: write() });
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return {
    fd,
    write: (buffer, offset, length, position) =>
      onLoop() ? settle(() => writeSync(fd, buffer, offset, length, position)) : handle.write(buffer, offset, length, position),
    writev: (buffers, position) => (onLoop() ? settle(() => writevSync(fd, buffers, position)) : writevOf(handle, buffers, position)),
    read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    stat: () => handle.stat(),
    close: () => handle.close(),
  };
}

/** The handle's own `writev`, or one `write` of the buffers joined when it has none. */
function writevOf(handle: FileHandleLike, buffers: Uint8Array[], position: number): Promise<{ bytesWritten: number }> {
  if (handle.writev) return handle.writev(buffers, position);
  const joined = Buffer.concat(buffers);
  return handle.write(joined, 0, joined.byteLength, position);
}
