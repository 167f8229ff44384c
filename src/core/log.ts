import { BlockEntry, entrySize } from '../messages/blockEntry';
import { slabAllocator } from '../messages/byteSlab';
import { blockFor, rememberBlock } from '../messages/entryBlocks';
import { ENTRY_HEADER_BYTES, writeEntries } from '../messages/entryCodec';
import type { Entry, EntryKind } from '../messages/entry';
import type { EntryRun } from '../messages/entryRun';
import { BlockSlots } from './blockSlots';
import { TermRuns } from './termRuns';

/**
 * The node's in-memory view of its log: what it has written or is writing, after the
 * latest snapshot's compaction point. Storage holds the durable copy; this mirror
 * answers the protocol's questions synchronously.
 *
 * It holds the terms of the whole log (as runs, `TermRuns`) but entries only from
 * `cachedFrom` on: older ones may be evicted (`evictThrough`) once they are durable and
 * applied, and are then read back from storage when a lagging follower needs them. The
 * rule the caller keeps: an entry is never evicted before it is durable and applied here,
 * so applying, counting uncommitted bytes and answering from the log need only what is
 * held; sending to a follower that is behind `cachedFrom` reads storage.
 *
 * Held entries are kept as the encoded blocks they came in (`BlockSlots`: a received
 * AppendEntries' block on a follower, the block of its batch on a leader, which is also
 * the one its write-ahead log and its followers get), not as objects: `entry` and `slice`
 * make `BlockEntry` views when asked, so a held entry costs the garbage collector nothing.
 * An entry read back is equal to the one appended, not the same object.
 *
 * Invariant: firstIndex <= cachedFrom <= lastEntry + 1, where lastEntry is the last index
 * holding an entry (cachedFrom + entries.length - 1); the entry in slot i has index
 * cachedFrom + i; the term runs cover firstIndex..lastEntry; snapshotIndex >= firstIndex - 1
 * when there are entries (a kept tail may overlap the snapshot); heldBytes is the sum of
 * the held entries' payload lengths.
 */
export class RaftLog {
  private readonly entries = new BlockSlots();
  /** The last index and term the snapshot covers (0, 0 without a snapshot). */
  private snapshot: { index: number; term: number };
  /** The first index of the log (entries before it are compacted away). */
  private first: number;
  /** The index of entries[0] (entries before it, down to `first`, are only on disk). */
  private cached: number;
  private held = 0;
  private readonly terms = new TermRuns();

  constructor(entries: readonly Entry[] = [], snapshot: { index: number; term: number } = { index: 0, term: 0 }) {
    this.snapshot = snapshot;
    // Entries wholly covered by the snapshot are useful only as a tail; ones that leave a gap are not.
    this.first = entries[0]?.index ?? snapshot.index + 1;
    this.cached = this.first;
    entries.forEach((e, i) => {
      if (e.index !== this.first + i) throw new Error(`log not contiguous at position ${i}: index ${e.index}`);
    });
    // The log read at start, in blocks of about LOADED_BLOCK_BYTES: one block would stay in memory until its last entry is evicted.
    for (let from = 0, to = 0, bytes = 0; to < entries.length; ) {
      bytes += ENTRY_HEADER_BYTES + entrySize(entries[to++]);
      if (bytes < LOADED_BLOCK_BYTES && to < entries.length) continue;
      this.hold(from === 0 && to === entries.length ? entries : entries.slice(from, to));
      from = to;
      bytes = 0;
    }
    if (this.first > snapshot.index + 1) throw new Error(`log starts at ${this.first}, after the snapshot at ${snapshot.index}`);
  }

  /** The first index of the log: the entries before it are compacted away (a snapshot covers them). */
  get firstIndex(): number {
    return this.first;
  }

  /** The first index whose entry is held in memory; entries from `firstIndex` to here are on disk only. */
  get cachedFrom(): number {
    return this.cached;
  }

  /** The entries held in memory (compacted and evicted ones are not). */
  get heldEntries(): number {
    return this.entries.length;
  }

  /** The payload bytes of the entries held in memory. */
  get heldBytes(): number {
    return this.held;
  }

  /** The number of term runs held (one per change of term along the log). */
  get termRuns(): number {
    return this.terms.size;
  }

  get lastIndex(): number {
    return Math.max(this.lastEntry(), this.snapshot.index);
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

  /**
   * The term at `index`: 0 for index 0, the snapshot's term at its index; undefined when
   * unknown (compacted, or beyond the end). Evicted entries still have their term.
   */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    const i = index - this.cached;
    if (i >= 0 && i < this.entries.length) return this.entries.termAt(i);
    if (index >= this.first && index < this.cached) return this.terms.termAt(index);
    return index === this.snapshot.index ? this.snapshot.term : undefined;
  }

  /** The entry at `index` if it is held in memory (a view made now: see the class comment). */
  entry(index: number): Entry | undefined {
    const i = index - this.cached;
    return i >= 0 && i < this.entries.length ? this.view(i) : undefined;
  }

  /** The payload size of the entry at `index` if it is held in memory, without making a view. */
  sizeAt(index: number): number | undefined {
    const i = index - this.cached;
    return i >= 0 && i < this.entries.length ? this.entries.sizeAt(i) : undefined;
  }

  /**
   * Entries from `from` to `to` inclusive, at most `maxCount` of them and, beyond the
   * first, at most `maxBytes` of data. Empty when `from` is not held in memory
   * (compacted, or evicted: see `cachedFrom`). Views made now; when they are exactly the
   * entries of one block, that block is remembered as theirs (`rememberBlock`), so a
   * follower's AppendEntries and the write-ahead log find it encoded.
   */
  slice(from: number, to: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    if (from < this.cached) return [];
    const end = Math.min(to, this.lastEntry(), from + maxCount - 1);
    if (end < from) return [];
    let last = end;
    if (maxBytes !== Infinity) {
      // Where the bytes run out; then one array of exactly that many (no array grown by pushes, per message sent).
      let bytes = this.entries.sizeAt(from - this.cached);
      for (last = from; last < end; last++) {
        bytes += this.entries.sizeAt(last + 1 - this.cached);
        if (bytes > maxBytes) break;
      }
    }
    const first = from - this.cached;
    const out: Entry[] = new Array(last - from + 1);
    for (let i = 0; i < out.length; i++) out[i] = this.view(first + i);
    this.rememberWholeBlock(out, first, first + out.length - 1);
    return out;
  }

  /** Appends entries that start right after the last index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    if (entries[0].index !== this.lastIndex + 1) {
      throw new Error(`append at ${entries[0].index} does not follow ${this.lastIndex}`);
    }
    if (this.lastEntry() < this.first) {
      // No entry (the log is the snapshot alone, or compacted to its end): it starts here.
      this.first = this.cached = entries[0].index;
      this.terms.clear();
    }
    this.hold(entries);
  }

  /**
   * Appends a received run of entries (`EntryRun`) that starts right after the last
   * index, without making an object per entry: each is held where it lies in the run's
   * block, as `append` holds the entries of a block.
   */
  appendRun(run: EntryRun): void {
    if (run.length === 0) return;
    if (run.firstIndex !== this.lastIndex + 1) {
      throw new Error(`append at ${run.firstIndex} does not follow ${this.lastIndex}`);
    }
    if (this.lastEntry() < this.first) {
      this.first = this.cached = run.firstIndex;
      this.terms.clear();
    }
    const block = run.block;
    for (let i = 0; i < run.length; i++) {
      this.entries.push(block, run.headerAt(i));
      this.held += run.sizeAt(i);
      this.terms.push(run.firstIndex + i, run.termAt(i));
    }
  }

  /** Removes the entry at `index` and everything after it. */
  truncateFrom(index: number): void {
    if (index <= this.snapshot.index) throw new Error(`cannot truncate at ${index}: covered by the snapshot at ${this.snapshot.index}`);
    if (index > this.lastEntry()) return;
    this.terms.truncateFrom(index);
    if (index <= this.cached) {
      this.dropCached(this.entries.length);
      this.cached = Math.max(index, this.first);
      return;
    }
    const keep = index - this.cached;
    for (let i = keep; i < this.entries.length; i++) this.held -= this.entries.sizeAt(i);
    this.entries.keepFront(keep);
  }

  /**
   * Forgets the entries up to `index` from memory (they stay in storage; their terms
   * stay here). The caller evicts only entries that are durable and applied.
   */
  evictThrough(index: number): void {
    const drop = Math.min(Math.max(0, index - this.cached + 1), this.entries.length);
    if (drop === 0) return;
    this.dropCached(drop);
  }

  /** A snapshot now covers everything up to (index, term); entries up to `compactUpTo` are dropped. */
  compact(snapshot: { index: number; term: number }, compactUpTo: number): void {
    if (snapshot.index < this.snapshot.index) return;
    this.snapshot = snapshot;
    if (compactUpTo >= this.lastEntry()) {
      this.reset(snapshot);
      return;
    }
    if (compactUpTo < this.first) return;
    this.first = compactUpTo + 1;
    this.terms.compact(this.first);
    if (this.cached < this.first) this.dropCached(this.first - this.cached);
  }

  /** The log is replaced by a snapshot it did not contain: every entry goes. */
  reset(snapshot: { index: number; term: number }): void {
    this.snapshot = snapshot;
    this.entries.clear();
    this.held = 0;
    this.first = this.cached = snapshot.index + 1;
    this.terms.clear();
  }

  /** The first index of the run of entries sharing the term of the entry at `index` (not below the log's start). */
  firstIndexOfTerm(index: number): number {
    if (index < this.first || index > this.lastEntry()) return index;
    return Math.max(this.first, this.terms.runStart(index));
  }

  /** The last index holding an entry of `term`, or 0 when there is none. */
  lastIndexOfTerm(term: number): number {
    const last = this.lastEntry();
    // The snapshot's index may lie past the last entry (a log shorter than its snapshot).
    if (this.snapshot.index > last && this.snapshot.term === term) return this.snapshot.index;
    const found = last >= this.first ? this.terms.lastIndexOfTerm(term, last) : 0;
    if (found > 0) return found;
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

  /** The last index holding an entry (held or evicted); `firstIndex - 1` when there is none. */
  private lastEntry(): number {
    return this.cached + this.entries.length - 1;
  }

  /** Drops the first `count` held entries from memory. */
  private dropCached(count: number): void {
    for (let i = 0; i < count; i++) this.held -= this.entries.sizeAt(i);
    this.entries.dropFront(count);
    this.cached += count;
  }

  /**
   * Holds entries that follow the held ones: by where they lie in their blocks when they
   * were read from blocks (a follower's received AppendEntries), else in the block of the
   * batch (`blockOf`: encoded once, and found again by the write-ahead log and by the
   * transport).
   */
  private hold(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    if (entries.every((e) => e instanceof BlockEntry)) {
      for (const e of entries as readonly BlockEntry[]) this.entries.push(e.block, e.at - ENTRY_HEADER_BYTES);
    } else {
      const block = blockOf(entries);
      let at = 4;
      for (const e of entries) {
        this.entries.push(block, at);
        at += ENTRY_HEADER_BYTES + entrySize(e);
      }
    }
    for (const e of entries) {
      this.held += entrySize(e);
      this.terms.push(e.index, e.term);
    }
  }

  /** A view of the `i`-th held entry. */
  private view(i: number): BlockEntry {
    const s = this.entries;
    return new BlockEntry(this.cached + i, s.termAt(i), s.kindAt(i) as EntryKind, s.blockAt(i), s.offsetAt(i) + ENTRY_HEADER_BYTES, s.sizeAt(i));
  }

  /** When held entries `first..last` are exactly the entries of one block, remembers that block as the one of `views`. */
  private rememberWholeBlock(views: readonly Entry[], first: number, last: number): void {
    const block = this.entries.blockAt(first);
    if (this.entries.offsetAt(first) !== 4 || this.entries.blockAt(last) !== block || this.entries.endAt(last) !== block.length) return;
    if (Buffer.isBuffer(block)) rememberBlock(views, block);
  }
}

/** The size of the blocks the log read at start is held in (see the constructor). */
const LOADED_BLOCK_BYTES = 256 * 1024;

/** Bytes of the blocks the log holds: slabs of their own (see `slabAllocator`). */
const logBytes = slabAllocator();

/**
 * The block of a batch appended from entries that are not views of a block (a leader's
 * proposals): the one already encoded if any, else encoded now into `logBytes` and
 * remembered (`rememberBlock`), so that the write-ahead log and the followers' AppendEntries
 * find it.
 */
function blockOf(entries: readonly Entry[]): Uint8Array {
  const found = blockFor(entries);
  if (found instanceof Uint8Array) return found;
  const out = logBytes(found.byteLength);
  writeEntries(entries, out, 0);
  rememberBlock(entries, out);
  return out;
}
