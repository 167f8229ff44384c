import type { Entry, EntryKind } from './entry';

/**
 * An entry read from a received entries block, whose payload view is made when it is
 * first read. A follower appends the entries of every AppendEntries to its log and writes
 * the block itself to its write-ahead log; only applying reads an entry's bytes. Making a
 * `Uint8Array` view per entry up front cost about three quarters of decoding a 64-entry
 * block of 100-byte entries (about 47 ns per view here) and one more object per entry for
 * the garbage collector.
 *
 * It behaves as an `Entry`: `data` is the same view on every read, and the block is
 * never copied. Unlike an entry literal, `data` is a getter, not an own property: copy an
 * entry with `{ index, term, kind, data }`, not with a spread. Sizes go through
 * `entrySize`, which reads the length without making the view.
 *
 * @example
 * const [e] = decodeEntries(block, { lazy: true });
 * entrySize(e); // 100, no view made
 * e.data;       // the view, made now, a view into `block`
 */
export class BlockEntry implements Entry {
  readonly #block: Uint8Array;
  readonly #at: number;
  readonly #size: number;
  #data: Uint8Array | undefined = undefined;

  constructor(
    readonly index: number,
    readonly term: number,
    readonly kind: EntryKind,
    block: Uint8Array,
    at: number,
    size: number,
  ) {
    this.#block = block;
    this.#at = at;
    this.#size = size;
  }

  /**
   * The payload: a view into the block, made on the first read. A `Buffer` (a
   * `Uint8Array`), so an application that reads it with Buffer methods need not wrap it
   * in a second view.
   */
  get data(): Uint8Array {
    return (this.#data ??= Buffer.from(this.#block.buffer, this.#block.byteOffset + this.#at, this.#size));
  }

  /**
   * The payload for a reader that needs it once: the view `data` made, if it made one,
   * else a new view that this entry does not keep. Applying reads every entry once, while
   * the entry itself stays in the log's memory for a while (to be sent to a follower
   * that is behind): a view kept with it would outlive the young generation, and the
   * garbage collector would copy and promote one more object per entry (issue 17).
   */
  dataOnce(): Uint8Array {
    return this.#data ?? Buffer.from(this.#block.buffer, this.#block.byteOffset + this.#at, this.#size);
  }

  /** The payload's length in bytes. */
  get size(): number {
    return this.#size;
  }

  /** The block this entry was read from (an `encodeEntries` layout). */
  get block(): Uint8Array {
    return this.#block;
  }

  /** Where this entry's payload starts in `block` (its header is the `ENTRY_HEADER_BYTES` before). */
  get at(): number {
    return this.#at;
  }
}

/** The payload size of an entry in bytes, without making a `BlockEntry`'s view. */
export function entrySize(e: Entry): number {
  return e instanceof BlockEntry ? e.size : e.data.length;
}

/**
 * The payload of an entry read once (by the applier): a `BlockEntry` makes its view
 * without keeping it (`BlockEntry.dataOnce`); any other entry has its `data`.
 */
export function payloadOnce(e: Entry): Uint8Array {
  return e instanceof BlockEntry ? e.dataOnce() : e.data;
}
