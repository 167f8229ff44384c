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

/** Numbers per row in `FileLogIndex.rows`: first, last, sequence, offset, length. */
const STRIDE = 5;
const FIRST = 0;
const LAST = 1;
const SEQUENCE = 2;

/**
 * Maps log indexes to the records of the write-ahead log that hold them: one row per
 * record (a write of a batch of entries), not per entry, so it stays small next to the
 * entries themselves. Rows are kept in log order in one flat array of numbers (one
 * array per index, however many rows: a shared log keeps one index per group).
 *
 * Invariant: rows `head .. size - 1` are contiguous in index (`first[i] === last[i - 1] + 1`),
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
  /** `STRIDE` numbers per row: first, last, sequence, offset, length. */
  private rows: number[] = [];
  /** Rows before `head` were compacted away (dropped lazily, see `compact`). */
  private head = 0;

  /** The first indexed entry, or null when nothing is indexed. */
  get firstIndex(): number | null {
    return this.size > 0 ? this.at(this.head, FIRST) : null;
  }

  /** The last indexed entry, or null when nothing is indexed. */
  get lastIndex(): number | null {
    return this.size > 0 ? this.rows[this.rows.length - STRIDE + LAST] : null;
  }

  /** The number of records indexed. */
  get size(): number {
    return this.rows.length / STRIDE - this.head;
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
      let end = this.rows.length / STRIDE;
      while (end > this.head && this.at(end - 1, FIRST) >= first) end--;
      this.rows.length = end * STRIDE;
      if (end > this.head) this.rows[(end - 1) * STRIDE + LAST] = Math.min(this.at(end - 1, LAST), first - 1);
    }
    this.rows.push(first, last, sequence, offset, length);
  }

  /**
   * Drops the rows wholly at or below `compactedThrough`, and every row of a segment
   * before `firstLiveSegment` (a compaction that discarded the whole log).
   */
  compact(compactedThrough: number, firstLiveSegment: number): void {
    const rows = this.rows.length / STRIDE;
    while (this.head < rows && (this.at(this.head, LAST) <= compactedThrough || this.at(this.head, SEQUENCE) < firstLiveSegment)) this.head++;
    if (this.head === rows) {
      this.clear();
    } else if (this.head > 1024 && this.head * 2 > rows) {
      // Reclaim the dropped rows once they are the larger part (amortized O(1) per row).
      this.rows.splice(0, this.head * STRIDE);
      this.head = 0;
    }
  }

  /** The record that holds entry `index`, or null when it is not indexed. */
  locate(index: number): RecordLocation | null {
    let lo = this.head;
    let hi = this.rows.length / STRIDE - 1;
    if (hi < lo || index < this.at(lo, FIRST) || index > this.at(hi, LAST)) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.at(mid, FIRST) <= index) lo = mid;
      else hi = mid - 1;
    }
    const r = lo * STRIDE;
    const rows = this.rows;
    return { first: rows[r], last: rows[r + 1], sequence: rows[r + 2], offset: rows[r + 3], length: rows[r + 4] };
  }

  /**
   * The records holding entries `from..to - 1`, in log order. Throws `RangeError` if an
   * entry of the range is not indexed (check the range against the log first).
   */
  locateRange(from: number, to: number): RecordLocation[] {
    const out: RecordLocation[] = [];
    for (let next = from; next < to; ) {
      const row = this.locate(next);
      if (row === null) throw new RangeError(`entry ${next} is not indexed`);
      out.push(row);
      next = row.last + 1;
    }
    return out;
  }

  /** Forgets every row. */
  clear(): void {
    this.rows.length = 0;
    this.head = 0;
  }

  private at(row: number, column: number): number {
    return this.rows[row * STRIDE + column];
  }
}
