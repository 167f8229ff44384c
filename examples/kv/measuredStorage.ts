import type { HardState, SnapshotMeta, SnapshotWriter, Storage } from '../../src';

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
  const timed = <T>(op: 'append' | 'hard_state', run: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    return run().then(
      (v) => {
        observer.written(op, seconds(started));
        return v;
      },
      (e: unknown) => {
        observer.failed(op, e);
        throw e;
      },
    );
  };
  return {
    load: () => storage.load(),
    saveHardState: (state: HardState) => timed('hard_state', () => storage.saveHardState(state)),
    append: (entries) => timed('append', () => storage.append(entries)),
    createSnapshot(meta: SnapshotMeta): SnapshotWriter {
      const started = process.hrtime.bigint();
      const writer = storage.createSnapshot(meta);
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
    },
    readEntries: (from, to, maxBytes) => storage.readEntries(from, to, maxBytes),
    readSnapshot: () => storage.readSnapshot(),
    ...(storage.clearDamage ? { clearDamage: () => storage.clearDamage!() } : {}),
    close: () => storage.close(),
  };
}
