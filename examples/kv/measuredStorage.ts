import type { Entry, HardState, PersistedState, SnapshotMeta, SnapshotWriter, Storage } from '../../src';

/** What `measuredStorage` reports. */
export interface StorageObserver {
  /** A write became durable after `seconds` (`append`: log entries; `hard_state`: term and vote). */
  written(op: 'append' | 'hard_state', seconds: number): void;
  /** A write failed: the node stops (fail-stop). */
  failed(op: string, error: unknown): void;
  /** A snapshot was committed (or failed) after `seconds` from its start. */
  snapshot(meta: SnapshotMeta, seconds: number, error?: unknown): void;
}

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/**
 * Wraps a `Storage` to time each write until it is durable, and to see snapshots and
 * failures: the measurements live at the storage boundary the application owns, so the
 * storage itself needs no hooks. Every call goes through unchanged.
 *
 * @example
 * const storage = await FileStorage.open(dir);
 * createRaftNode({ ..., storage: measuredStorage(storage, { written: (op, s) => hist.observe({ op }, s), failed, snapshot }) });
 */
export function measuredStorage(storage: Storage, observer: StorageObserver): Storage {
  return new MeasuredStorage(storage, observer);
}

/**
 * `measuredStorage`'s wrapper: the calls are methods, shared by every instance, not
 * closures made per wrapper (a sharded server wraps one storage per group).
 */
class MeasuredStorage implements Storage {
  readonly clearDamage?: () => Promise<void>;

  constructor(
    private readonly storage: Storage,
    private readonly observer: StorageObserver,
  ) {
    if (storage.clearDamage) this.clearDamage = () => storage.clearDamage!();
  }

  load(): Promise<PersistedState> {
    return this.storage.load();
  }

  saveHardState(state: HardState): Promise<void> {
    const started = process.hrtime.bigint();
    return this.timed('hard_state', started, this.storage.saveHardState(state));
  }

  append(entries: readonly Entry[]): Promise<void> {
    const started = process.hrtime.bigint();
    return this.timed('append', started, this.storage.append(entries));
  }

  createSnapshot(meta: SnapshotMeta): SnapshotWriter {
    const started = process.hrtime.bigint();
    const writer = this.storage.createSnapshot(meta);
    const observer = this.observer;
    return {
      write: (chunk) => writer.write(chunk),
      abort: () => writer.abort(),
      commit: (options) =>
        writer.commit(options).then(
          () => observer.snapshot(meta, seconds(started)),
          (e: unknown) => {
            observer.snapshot(meta, seconds(started), e);
            throw e;
          },
        ),
    };
  }

  readEntries(from: number, to: number, maxBytes: number): Promise<Entry[]> {
    return this.storage.readEntries(from, to, maxBytes);
  }

  readSnapshot(): ReturnType<Storage['readSnapshot']> {
    return this.storage.readSnapshot();
  }

  close(): Promise<void> {
    return this.storage.close();
  }

  /** Reports when `write`, issued at `started`, became durable, or that it failed. */
  private timed<T>(op: 'append' | 'hard_state', started: bigint, write: Promise<T>): Promise<T> {
    return write.then(
      (v) => {
        this.observer.written(op, seconds(started));
        return v;
      },
      (e: unknown) => {
        this.observer.failed(op, e);
        throw e;
      },
    );
  }
}
