import { InvalidMessageError } from './errors';
import { BlockEntry } from './blockEntry';
import { rememberBlock } from './entryBlocks';
import { ENTRY_HEADER_BYTES, EntryHeader, readEntryCount, readEntryHeader } from './entryCodec';
import { EntryKind, type Entry } from './entry';

const TWO_32 = 0x1_0000_0000;

/** An AppendEntries' `prevLogIndex`, `prevLogTerm` and `term`: where its entries must stand. */
export interface AppendedAfter {
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly term: number;
}

/**
 * The entries of a received block (`encodeEntries` layout), read in place: the block and
 * where each entry's header lies in it, no object per entry. A follower appends them to
 * its log and writes the block to its write-ahead log as it came; an entry object is made
 * only where something reads one (`entry`, `entries`: applying, a conflicting suffix).
 * Making 64 `BlockEntry` objects per AppendEntries was about a fifth of a follower's
 * JavaScript time in the 64-entry benchmark (issue 17, docs/notes/transport-append64.md).
 *
 * Invariant (checked by `readEntryRun` before a run exists): the block is well formed,
 * entry i has index `firstIndex + i`, terms never decrease along the run, and
 * `offsets[i]` is where entry i's header starts.
 *
 * @example
 * const run = readEntryRun(block, { prevLogIndex: 4, prevLogTerm: 2, term: 3 });
 * run.firstIndex; // 5
 * run.termAt(0);  // the first entry's term, read from its header
 * run.entry(0);   // a BlockEntry, made now
 */
export class EntryRun {
  readonly #block: Buffer;
  readonly #view: DataView;
  readonly #offsets: number[];
  readonly #first: number;

  private constructor(block: Buffer, view: DataView, offsets: number[], first: number) {
    this.#block = block;
    this.#view = view;
    this.#offsets = offsets;
    this.#first = first;
  }

  /** See `readEntryRun`: the only way to make a run, so that every run is checked. */
  static read(bytes: Uint8Array, after: AppendedAfter): EntryRun {
    const block = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const end = block.length;
    const view = new DataView(block.buffer, block.byteOffset, end);
    const count = readEntryCount(view, end);
    const first = after.prevLogIndex + 1;
    if (count > 0 && !Number.isSafeInteger(first + count)) throw new InvalidMessageError('entry index beyond 2^53');
    let expected = first;
    let lastTerm = after.prevLogTerm;
    const maxTerm = after.term;
    // A plain array of small integers: a Uint32Array of 64 (past V8's 64 bytes kept on the
    // heap) took about 750 ns to allocate, more than making 64 entry objects.
    const offsets: number[] = new Array(count);
    const h: EntryHeader = { index: 0, term: 0, kind: EntryKind.Command, size: 0 };
    let at = 4;
    for (let i = 0; i < count; i++) {
      offsets[i] = at;
      at = readEntryHeader(view, block, at, end, h);
      if (h.index !== expected) throw new InvalidMessageError(`entry index ${h.index} where ${expected} was expected`);
      if (h.term < lastTerm || h.term > maxTerm) throw new InvalidMessageError(`entry term ${h.term} out of order`);
      at += h.size;
      expected++;
      lastTerm = h.term;
    }
    if (at !== end) throw new InvalidMessageError(`${end - at} trailing bytes after entries`);
    return new EntryRun(block, view, offsets, first);
  }

  /** The number of entries. */
  get length(): number {
    return this.#offsets.length;
  }

  /** The whole block, as received: what `encodeEntries(this.entries())` would make. */
  get block(): Buffer {
    return this.#block;
  }

  get firstIndex(): number {
    return this.#first;
  }

  get lastIndex(): number {
    return this.#first + this.#offsets.length - 1;
  }

  get lastTerm(): number {
    return this.termAt(this.#offsets.length - 1);
  }

  /** Where the `i`-th entry's header starts in the block. */
  headerAt(i: number): number {
    return this.#offsets[i];
  }

  termAt(i: number): number {
    const at = this.#offsets[i];
    return this.#view.getUint32(at + 8) * TWO_32 + this.#view.getUint32(at + 12);
  }

  kindAt(i: number): EntryKind {
    return this.#block[this.#offsets[i] + 16] as EntryKind;
  }

  /** The payload length of the `i`-th entry. */
  sizeAt(i: number): number {
    return this.#view.getUint32(this.#offsets[i] + 17);
  }

  /** The `i`-th entry as an object, made now (its payload a view into the block, made when read). */
  entry(i: number): Entry {
    const at = this.#offsets[i] + ENTRY_HEADER_BYTES;
    return new BlockEntry(this.#first + i, this.termAt(i), this.kindAt(i), this.#block, at, this.sizeAt(i));
  }

  /**
   * The entries from the `from`-th on, made now. All of them (`from` 0) are remembered
   * with the block (`rememberBlock`), so that a write-ahead log given these objects finds
   * the block as it came instead of laying it out again.
   */
  entries(from = 0): Entry[] {
    const out: Entry[] = new Array(Math.max(0, this.length - from));
    for (let i = 0; i < out.length; i++) out[i] = this.entry(from + i);
    if (from === 0) rememberBlock(out, this.#block);
    return out;
  }
}

/**
 * Reads a block made by `encodeEntries` as a run, checking it whole before returning
 * (throws `InvalidMessageError` on any inconsistency): the count against the size, every
 * header (indexes and terms below 2^53, a known kind, the payload inside the block), no
 * trailing bytes, and that the entries stand where an AppendEntries with these fields
 * puts them: contiguous from `prevLogIndex + 1`, terms never decreasing from
 * `prevLogTerm` and never above `term` (the rules `validateMessage` applies to an entry
 * list, and `decodeEntries` with `after`: a change here belongs there too).
 *
 * @example
 * readEntryRun(block, { prevLogIndex: 4, prevLogTerm: 2, term: 3 }).length; // 64, or throws
 */
export function readEntryRun(block: Uint8Array, after: AppendedAfter): EntryRun {
  return EntryRun.read(block, after);
}


/** The index of the first of a list's or a run's entries (undefined when there is none). */
export function firstIndexOf(entries: readonly Entry[] | EntryRun): number | undefined {
  return entries instanceof EntryRun ? entries.firstIndex : entries[0]?.index;
}
