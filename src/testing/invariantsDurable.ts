import type { Entry } from '../messages/entry';
import type { MemoryStorage } from '../storage/memoryStorage';

/** A snapshot's position, as far as the simulator's checks need it. */
interface SnapshotPosition {
  readonly index: number;
  readonly term: number;
}

/**
 * What a node has made durable, by log index: its log and, once log compaction exists,
 * the snapshot that replaced the log's prefix. Read-only; built on
 * `MemoryStorage.durableEntries()` (and `durableSnapshot()` when the storage has it).
 *
 * @example
 * const d = durableLog(cluster.storage('n1'));
 * d.termAt(7);   // 3, or 'snapshot' if index 7 is compacted into the snapshot, or undefined
 * d.lastIndex;   // the last durable index
 */
export function durableLog(storage: MemoryStorage): DurableLog {
  const entries = storage.durableEntries();
  const snapshot = (storage as { durableSnapshot?: () => SnapshotPosition | null }).durableSnapshot?.() ?? null;
  return new DurableLog(entries, snapshot);
}

export class DurableLog {
  /** Index of `entries[0]`. */
  readonly base: number;

  constructor(
    readonly entries: readonly Entry[],
    readonly snapshot: SnapshotPosition | null,
  ) {
    this.base = entries[0]?.index ?? (snapshot ? snapshot.index + 1 : 1);
  }

  /** The last durable index (0: nothing). */
  get lastIndex(): number {
    return Math.max(this.base - 1 + this.entries.length, this.snapshot?.index ?? 0);
  }

  /**
   * The durable term at `index`; `'snapshot'` when the index is compacted into the
   * snapshot (committed, term no longer known); undefined beyond the log. Index 0 has term 0.
   */
  termAt(index: number): number | 'snapshot' | undefined {
    if (index === 0) return 0;
    if (index >= this.base && index < this.base + this.entries.length) return this.entries[index - this.base].term;
    if (this.snapshot && index <= this.snapshot.index) return index === this.snapshot.index ? this.snapshot.term : 'snapshot';
    return undefined;
  }

  /** Whether the durable state holds (index, term): in the log, or covered by the snapshot. */
  holds(index: number, term: number): boolean {
    const t = this.termAt(index);
    return t === term || t === 'snapshot';
  }
}
