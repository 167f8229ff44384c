/** Where one run of entries lies in the write-ahead log: a record of one segment. */
export interface RecordLocation {
  /** The first entry index the record holds. */
  readonly first: number;
  /** The last entry index of the record still in the log (a later record may have replaced the rest). */
  readonly last: number;
  /** The segment's sequence number. */
  readonly sequence: number;
  /** The record header's byte offset in the segment. */
  readonly offset: number;
  /** The record's payload length (an entries block). */
  readonly length: number;
}

/**
 * Maps log indexes to the records of the write-ahead log that hold them: one row per
 * record (a write of a batch of entries), not per entry, so it stays small next to the
 * entries themselves. Rows are kept in log order in parallel arrays.
 *
 * Invariant: rows `head .. rows - 1` are contiguous in index (`first[i] === last[i - 1] + 1`),
 * their sequences never decrease, and `first[i] <= last[i]`.
 *
 * It follows the log's own rules: a record whose first index lies inside the indexed log
 * replaces the suffix from there on (`add`); one that starts after a gap starts the
 * index anew (the replay of a log whose start was compacted away); compaction drops rows
 * from the front (`compact`).
 *
 * @example
 * const index = new FileLogIndex();
 * index.add(1, 10, 1, 16, 400);  // entries 1..10 in segment 1 at byte 16
 * index.add(8, 12, 1, 436, 200); // a conflict at 8: entries 8..10 of the first record are gone
 * index.locate(9);               // { first: 8, last: 12, sequence: 1, offset: 436, length: 200 }
 */
export class FileLogIndex {
  private first: number[] = [];
  private last: number[] = [];
  private sequence: number[] = [];
  private offset: number[] = [];
  private length: number[] = [];
  /** Rows before `head` were compacted away (dropped lazily, see `compact`). */
  private head = 0;

  /** The first indexed entry, or null when nothing is indexed. */
  get firstIndex(): number | null {
    return this.head < this.first.length ? this.first[this.head] : null;
  }

  /** The last indexed entry, or null when nothing is indexed. */
  get lastIndex(): number | null {
    return this.head < this.last.length ? this.last[this.last.length - 1] : null;
  }

  /** The number of records indexed. */
  get size(): number {
    return this.first.length - this.head;
  }

  /**
   * Indexes a record holding entries `first..last` at `offset` in segment `sequence`,
   * replacing the indexed entries from `first` on (conflict truncation). A record that
   * does not continue or overlap the indexed log starts the index anew.
   */
  add(first: number, last: number, sequence: number, offset: number, length: number): void {
    if (!(first <= last)) throw new RangeError(`record holds no entries (${first}..${last})`);
    const lastIndex = this.lastIndex;
    const firstIndex = this.firstIndex;
    if (lastIndex === null || firstIndex === null || first > lastIndex + 1 || first < firstIndex) {
      this.clear();
    } else {
      // Drop the rows the record replaces wholly, then clip the one it replaces in part.
      let end = this.first.length;
      while (end > this.head && this.first[end - 1] >= first) end--;
      if (end < this.first.length) this.truncateRows(end);
      if (end > this.head) this.last[end - 1] = Math.min(this.last[end - 1], first - 1);
    }
    this.first.push(first);
    this.last.push(last);
    this.sequence.push(sequence);
    this.offset.push(offset);
    this.length.push(length);
  }

  /**
   * Drops the rows wholly at or below `compactedThrough`, and every row of a segment
   * before `firstLiveSegment` (a compaction that discarded the whole log).
   */
  compact(compactedThrough: number, firstLiveSegment: number): void {
    const rows = this.first.length;
    while (this.head < rows && (this.last[this.head] <= compactedThrough || this.sequence[this.head] < firstLiveSegment)) this.head++;
    if (this.head === rows) {
      this.clear();
    } else if (this.head > 1024 && this.head * 2 > rows) {
      // Reclaim the dropped rows once they are the larger part (amortized O(1) per row).
      for (const column of this.columns()) column.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The record that holds entry `index`, or null when it is not indexed. */
  locate(index: number): RecordLocation | null {
    let lo = this.head;
    let hi = this.first.length - 1;
    if (hi < lo || index < this.first[lo] || index > this.last[hi]) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.first[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return { first: this.first[lo], last: this.last[lo], sequence: this.sequence[lo], offset: this.offset[lo], length: this.length[lo] };
  }

  private clear(): void {
    for (const column of this.columns()) column.length = 0;
    this.head = 0;
  }

  private truncateRows(end: number): void {
    for (const column of this.columns()) column.length = end;
  }

  private columns(): number[][] {
    return [this.first, this.last, this.sequence, this.offset, this.length];
  }
}
