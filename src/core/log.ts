import type { Entry } from '../messages/entry';

/**
 * The node's in-memory view of its log: what it has written or is writing. Storage
 * holds the durable copy; this mirror answers the protocol's questions synchronously.
 *
 * Invariant: entries[i].index === i + 1 (contiguous from 1; compaction comes later).
 */
export class RaftLog {
  private readonly entries: Entry[];

  constructor(entries: readonly Entry[] = []) {
    this.entries = entries.slice();
    this.entries.forEach((e, i) => {
      if (e.index !== i + 1) throw new Error(`log not contiguous at position ${i}: index ${e.index}`);
    });
  }

  get lastIndex(): number {
    return this.entries.length;
  }

  get lastTerm(): number {
    return this.termAt(this.lastIndex) ?? 0;
  }

  /** The term of the entry at `index`; 0 for index 0; undefined beyond the end. */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    return this.entries[index - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - 1];
  }

  /** Entries from `from` to `to` inclusive, at most `maxCount` of them and, beyond the first, at most `maxBytes` of data. */
  slice(from: number, to: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    const end = Math.min(to, this.lastIndex, from + maxCount - 1);
    if (end < from) return [];
    if (maxBytes === Infinity) return this.entries.slice(from - 1, end);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i <= end; i++) {
      const e = this.entries[i - 1];
      bytes += e.data.byteLength;
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
    for (const e of entries) this.entries.push(e);
  }

  /** Removes the entry at `index` and everything after it. */
  truncateFrom(index: number): void {
    if (index <= this.lastIndex) this.entries.length = index - 1;
  }

  /** The first index of the run of entries sharing the term of the entry at `index`. */
  firstIndexOfTerm(index: number): number {
    const term = this.termAt(index);
    let i = index;
    while (i > 1 && this.termAt(i - 1) === term) i--;
    return i;
  }

  /** The last index holding an entry of `term`, or 0 when there is none. */
  lastIndexOfTerm(term: number): number {
    for (let i = this.lastIndex; i >= 1; i--) {
      const t = this.entries[i - 1].term;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return 0;
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
