import type { Entry } from '../messages/entry';

/**
 * The node's in-memory view of its log: what it has written or is writing, after the
 * latest snapshot's compaction point. Storage holds the durable copy; this mirror
 * answers the protocol's questions synchronously.
 *
 * Invariant: entries[i].index === firstIndex + i; snapshotIndex >= firstIndex - 1 when
 * there are entries (a kept tail may overlap the snapshot); heldBytes is the sum of
 * entries[i].data.length.
 *
 * What it holds is bounded by the snapshot policy, not by history: entries since the
 * last snapshot (`everyEntries` / `everyBytes` applied, plus what is not applied yet,
 * itself bounded by `maxUncommittedBytes` on the leader) and a tail behind the snapshot
 * (`keepEntries`, `catchUpEntries`, at most `keepBytes`: see `compactionPoint`).
 */
export class RaftLog {
  private entries: Entry[];
  /** The last index and term the snapshot covers (0, 0 without a snapshot). */
  private snapshot: { index: number; term: number };
  private first: number;
  private held = 0;

  constructor(entries: readonly Entry[] = [], snapshot: { index: number; term: number } = { index: 0, term: 0 }) {
    this.snapshot = snapshot;
    // Entries wholly covered by the snapshot are useful only as a tail; ones that leave a gap are not.
    this.first = entries[0]?.index ?? snapshot.index + 1;
    this.entries = entries.slice();
    this.entries.forEach((e, i) => {
      if (e.index !== this.first + i) throw new Error(`log not contiguous at position ${i}: index ${e.index}`);
      this.held += e.data.length;
    });
    if (this.first > snapshot.index + 1) throw new Error(`log starts at ${this.first}, after the snapshot at ${snapshot.index}`);
  }

  /** The first index still held as an entry. */
  get firstIndex(): number {
    return this.first;
  }

  /** The entries held in memory (compacted ones are not). */
  get heldEntries(): number {
    return this.entries.length;
  }

  /** The payload bytes of the entries held in memory. */
  get heldBytes(): number {
    return this.held;
  }

  get lastIndex(): number {
    return Math.max(this.first + this.entries.length - 1, this.snapshot.index);
  }

  get lastTerm(): number {
    return this.termAt(this.lastIndex) ?? 0;
  }

  get snapshotIndex(): number {
    return this.snapshot.index;
  }

  get snapshotTerm(): number {
    return this.snapshot.term;
  }

  /** The term at `index`: 0 for index 0, the snapshot's term at its index; undefined when unknown (compacted, or beyond the end). */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    const e = this.entries[index - this.first];
    if (e) return e.term;
    return index === this.snapshot.index ? this.snapshot.term : undefined;
  }

  entry(index: number): Entry | undefined {
    return index >= this.first ? this.entries[index - this.first] : undefined;
  }

  /**
   * Entries from `from` to `to` inclusive, at most `maxCount` of them and, beyond the
   * first, at most `maxBytes` of data. Empty when `from` is compacted away.
   */
  slice(from: number, to: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    if (from < this.first) return [];
    const end = Math.min(to, this.lastIndex, from + maxCount - 1);
    if (end < from) return [];
    if (maxBytes === Infinity) return this.entries.slice(from - this.first, end - this.first + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i <= end; i++) {
      const e = this.entries[i - this.first];
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Appends entries that start right after the last index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    if (entries[0].index !== this.lastIndex + 1) {
      throw new Error(`append at ${entries[0].index} does not follow ${this.lastIndex}`);
    }
    if (this.entries.length === 0) this.first = entries[0].index;
    for (const e of entries) {
      this.entries.push(e);
      this.held += e.data.length;
    }
  }

  /** Removes the entry at `index` and everything after it. */
  truncateFrom(index: number): void {
    if (index <= this.snapshot.index) throw new Error(`cannot truncate at ${index}: covered by the snapshot at ${this.snapshot.index}`);
    const keep = Math.max(0, index - this.first);
    if (keep >= this.entries.length) return;
    for (let i = keep; i < this.entries.length; i++) this.held -= this.entries[i].data.length;
    this.entries.length = keep;
  }

  /** A snapshot now covers everything up to (index, term); entries up to `compactUpTo` are dropped. */
  compact(snapshot: { index: number; term: number }, compactUpTo: number): void {
    if (snapshot.index < this.snapshot.index) return;
    this.snapshot = snapshot;
    const drop = Math.min(Math.max(0, compactUpTo - this.first + 1), this.entries.length);
    for (let i = 0; i < drop; i++) this.held -= this.entries[i].data.length;
    this.entries.splice(0, drop);
    this.first += drop;
    if (this.entries.length === 0) this.first = snapshot.index + 1;
  }

  /** The log is replaced by a snapshot it did not contain: every entry goes. */
  reset(snapshot: { index: number; term: number }): void {
    this.snapshot = snapshot;
    this.entries = [];
    this.held = 0;
    this.first = snapshot.index + 1;
  }

  /** The first index of the run of entries sharing the term of the entry at `index` (not below the log's start). */
  firstIndexOfTerm(index: number): number {
    const term = this.termAt(index);
    let i = index;
    while (i > this.first && this.termAt(i - 1) === term) i--;
    return i;
  }

  /** The last index holding an entry of `term`, or 0 when there is none. */
  lastIndexOfTerm(term: number): number {
    for (let i = this.lastIndex; i >= this.first; i--) {
      const t = this.termAt(i)!;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return this.snapshot.term === term ? this.snapshot.index : 0;
  }

  /**
   * Whether a log ending at (lastTerm, lastIndex) is at least as up-to-date as this one
   * (Raft §5.4.1): a later last term wins; with equal terms, the longer log wins.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm;
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex);
  }
}
