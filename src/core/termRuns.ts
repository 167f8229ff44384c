/**
 * The terms of a log as runs: (first index, term) for each stretch of entries sharing a
 * term. Raft logs change term rarely (once per leadership), so this answers `termAt` for
 * every index of the log without holding its entries: the in-memory log keeps only recent
 * entries, the rest are on disk.
 *
 * Invariant: starts[head..] strictly increase; neighbouring runs differ in term; run k covers starts[k] .. starts[k + 1] - 1, the last run up to
 * the log's last index (the owner knows it). Rows before `head` are dropped.
 *
 * @example
 * const runs = new TermRuns();
 * runs.push(1, 1); runs.push(2, 1); runs.push(3, 4);
 * runs.termAt(2);     // 1
 * runs.runStart(3);   // 3
 */
export class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];
  private head = 0;

  /** The number of runs held. */
  get size(): number {
    return this.starts.length - this.head;
  }

  /** Records that the entry at `index` (the log's new last) has `term`. */
  push(index: number, term: number): void {
    const last = this.starts.length - 1;
    if (last >= this.head && this.terms[last] === term) return;
    if (last >= this.head && index <= this.starts[last]) {
      throw new Error(`term run (${index}, ${term}) does not follow (${this.starts[last]}, ${this.terms[last]})`);
    }
    this.starts.push(index);
    this.terms.push(term);
  }

  /** The term at `index`, which the owner knows lies inside the log; undefined before the first run. */
  termAt(index: number): number | undefined {
    const k = this.runOf(index);
    return k === -1 ? undefined : this.terms[k];
  }

  /** The first index of the run holding `index` (the run's start, or the log's start after compaction). */
  runStart(index: number): number {
    const k = this.runOf(index);
    return k === -1 ? index : this.starts[k];
  }

  /**
   * The last index of a run of `term`, in a log ending at `lastIndex`; 0 when no entry has
   * that term.
   */
  lastIndexOfTerm(term: number, lastIndex: number): number {
    for (let k = this.starts.length - 1; k >= this.head; k--) {
      if (this.terms[k] === term) return k === this.starts.length - 1 ? lastIndex : this.starts[k + 1] - 1;
      if (this.terms[k] < term) return 0; // terms only grow along a log: none of `term` before
    }
    return 0;
  }

  /** Forgets the entries from `index` on (conflict truncation). */
  truncateFrom(index: number): void {
    let end = this.starts.length;
    while (end > this.head && this.starts[end - 1] >= index) end--;
    this.starts.length = end;
    this.terms.length = end;
    if (end === this.head) this.clear();
  }

  /** The log now starts at `first` (compaction): runs wholly before it go. */
  compact(first: number): void {
    const rows = this.starts.length;
    while (this.head + 1 < rows && this.starts[this.head + 1] <= first) this.head++;
    if (this.head < rows && this.starts[this.head] < first) this.starts[this.head] = first;
    if (this.head > 64 && this.head * 2 > rows) {
      this.starts.splice(0, this.head);
      this.terms.splice(0, this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.starts.length = 0;
    this.terms.length = 0;
    this.head = 0;
  }

  /** The run holding `index`: the last whose start is at or before it; -1 when none. */
  private runOf(index: number): number {
    let lo = this.head;
    let hi = this.starts.length - 1;
    if (hi < lo || index < this.starts[lo]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
