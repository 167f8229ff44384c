import { FileHandleLike, FileSystem, nodeFileSystem } from '../../src/storage/fileSystem';

/** The operations a `FaultyFileSystem` can fail. `close` never fails, so cleanup always works. */
export type FaultyOp = 'open' | 'write' | 'datasync' | 'sync' | 'truncate' | 'rename' | 'unlink' | 'link' | 'readFile' | 'readdir';

/**
 * A `FileSystem` over the real one that fails chosen operations on cue and counts calls.
 *
 * @example
 * const fs = new FaultyFileSystem();
 * const storage = await FileStorage.open(dir, { fs });
 * fs.fail(['datasync']);   // every later datasync rejects with EIO
 * fs.counts.datasync;      // how many datasyncs were attempted
 */
export class FaultyFileSystem implements FileSystem {
  readonly counts: Record<FaultyOp, number> = {
    open: 0, write: 0, datasync: 0, sync: 0, truncate: 0, rename: 0, unlink: 0, link: 0, readFile: 0, readdir: 0,
  };
  private failing = new Set<FaultyOp>();
  /**
   * Fails the calls for which it returns true (besides those `fail` chose). `path` is the
   * file the call is about (for handle operations, the path the handle was opened with).
   */
  failIf: ((op: FaultyOp, path: string) => boolean) | null = null;
  /** Called before each datasync; a test may return a promise to hold the sync in flight. */
  beforeDatasync: (() => Promise<void> | void) | null = null;
  /** Short writes: each write call stores at most this many bytes (tests partial-write loops). */
  maxWriteBytes = Infinity;
  /** Whether handles offer `writev` (large WAL blocks then go uncopied); false tests the one-buffer path. */
  vectored = true;

  constructor(private readonly base: FileSystem = nodeFileSystem) {}

  /** Every later call of these operations rejects with an EIO error. */
  fail(ops: readonly FaultyOp[] = ['write', 'datasync', 'sync', 'rename', 'open', 'truncate']): void {
    for (const op of ops) this.failing.add(op);
  }

  heal(): void {
    this.failing.clear();
    this.failIf = null;
  }

  private check(op: FaultyOp, path: string): void {
    this.counts[op]++;
    if (this.failing.has(op) || (this.failIf && this.failIf(op, path))) {
      throw Object.assign(new Error(`EIO: injected ${op} failure`), { code: 'EIO' });
    }
  }

  async open(path: string, flags: string | number, mode?: number): Promise<FileHandleLike> {
    this.check('open', path);
    const handle = await this.base.open(path, flags, mode);
    const fs = this;
    return {
      async write(buffer, offset, length, position) {
        fs.check('write', path);
        return handle.write(buffer, offset, Math.min(length, fs.maxWriteBytes), position);
      },
      ...(fs.vectored
        ? {
            async writev(buffers: Uint8Array[], position: number) {
              fs.check('write', path);
              const total = buffers.reduce((n, b) => n + b.byteLength, 0);
              if (total <= fs.maxWriteBytes) return handle.writev!(buffers, position);
              const prefix = Buffer.concat(buffers).subarray(0, fs.maxWriteBytes);
              return handle.write(prefix, 0, prefix.length, position);
            },
          }
        : {}),
      read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      async datasync() {
        fs.check('datasync', path);
        if (fs.beforeDatasync) await fs.beforeDatasync();
        return handle.datasync();
      },
      async sync() {
        fs.check('sync', path);
        return handle.sync();
      },
      async truncate(length) {
        fs.check('truncate', path);
        return handle.truncate(length);
      },
      stat: () => handle.stat(),
      close: () => handle.close(),
    };
  }

  async readdir(path: string): Promise<string[]> {
    this.check('readdir', path);
    return this.base.readdir(path);
  }
  async mkdir(path: string, options: { recursive: true }): Promise<unknown> {
    return this.base.mkdir(path, options);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', from);
    return this.base.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    return this.base.unlink(path);
  }
  async link(existing: string, newPath: string): Promise<void> {
    this.check('link', existing);
    return this.base.link(existing, newPath);
  }
  async readFile(path: string): Promise<Buffer> {
    this.check('readFile', path);
    return this.base.readFile(path);
  }
}
