/**
 * The store's large values kept as views of the committed entries they came in, with the
 * memory those views keep alive bounded.
 *
 * Why views: a committed entry's bytes never change (`Entry` is immutable: rxraft lays a
 * batch out once and never writes into it again), so copying a 64 KiB value out of it
 * only made 64 KiB of fresh memory per write on every node, which the garbage collector
 * paid for in mark-compacts (issue 17, docs/notes/gc.md). Why a bound: a view keeps its
 * whole buffer alive — on a follower a received AppendEntries of about 1 MiB, on a leader
 * its batch's block — for as long as the value lives, and the store's keys are written
 * again in any order, so one live value could hold a megabyte.
 *
 * The rule: a buffer is let go when its last value is written over or deleted. When the
 * buffers held come to more than `MAX_HELD_RATIO` times the bytes of the values in them
 * (plus the one buffer being filled), the values still in buffers less than half live are
 * copied out (`relocate`), oldest buffers first, until the buffers held are at most twice
 * the values, and those buffers are let go. So the memory views hold is bounded by the
 * values, and a store whose keys are written again in about the order they were written
 * (a batch's values dying together) copies little or nothing.
 *
 * The owner keeps the values (a map key → Buffer); this only counts, and tells the owner
 * which keys to relocate.
 *
 * @example
 * const views = new LargeValues((key, buffer) => {
 *   const v = map.get(key);
 *   if (v?.buffer !== buffer) return 0;
 *   map.set(key, copyValue(v, 0, v.length));
 *   return v.length;
 * });
 * const view = entryBytes.subarray(start, end);
 * map.set('k', view);
 * views.kept('k', view);  // entryBytes is held
 * views.release(old);     // the key's previous value, once replaced
 */
export class LargeValues {
  /** Each held buffer (oldest first): bytes of live values in it, and the keys stored in it (some since written over). */
  private readonly held = new Map<ArrayBufferLike, HeldBuffer>();
  /** The buffer values were last kept in: never let go while values may still come in it. */
  private filling: ArrayBufferLike | null = null;
  /** Bytes of the buffers in `held`. */
  private heldBytes = 0;
  /** Bytes of the live values in them. Invariant (between calls): heldBytes <= MAX_HELD_RATIO × liveBytes + the filling buffer's size. */
  private liveBytes = 0;
  /** Bytes copied out of buffers let go (counted, for the metrics). */
  private relocatedBytes = 0;

  /**
   * @param relocate asks the owner to replace `key`'s value by a copy (`copyValue`) if it
   *   still lies in `buffer`, and returns the bytes copied (a copy holds nothing, and is not counted here).
   */
  constructor(private readonly relocate: (key: string, buffer: ArrayBufferLike) => number) {}

  /** `key`'s value is now `view`, a view of a committed entry's bytes: its buffer is held. Call after storing it. */
  kept(key: string, view: Buffer): void {
    const buffer = view.buffer;
    let entry = this.held.get(buffer);
    if (entry === undefined) {
      entry = { live: 0, keys: [] };
      this.held.set(buffer, entry);
      this.heldBytes += buffer.byteLength;
    }
    entry.live += view.length;
    entry.keys.push(key);
    this.liveBytes += view.length;
    if (this.filling !== buffer) {
      const previous = this.filling === null ? undefined : this.held.get(this.filling);
      if (previous !== undefined && previous.live === 0) this.letGo(this.filling!, previous);
      this.filling = buffer;
      this.maybeShrink();
    }
  }

  /** A value is no longer the store's (written over or deleted); a copy, or a value not kept here, is ignored. */
  release(value: Buffer): void {
    const entry = this.held.get(value.buffer);
    if (entry === undefined) return;
    entry.live -= value.length;
    this.liveBytes -= value.length;
    if (entry.live === 0 && value.buffer !== this.filling) this.letGo(value.buffer, entry);
    else this.maybeShrink();
  }

  /** Forgets every value (the store was emptied). */
  clear(): void {
    this.held.clear();
    this.filling = null;
    this.heldBytes = this.liveBytes = 0;
  }

  /** Bytes of buffers held by views, bytes of the values in them, and bytes copied out so far. */
  get stats(): { readonly heldBytes: number; readonly liveBytes: number; readonly relocatedBytes: number } {
    return { heldBytes: this.heldBytes, liveBytes: this.liveBytes, relocatedBytes: this.relocatedBytes };
  }

  /** Past `MAX_HELD_RATIO`, lets go of buffers less than half live, oldest first, until those held are at most twice their values. */
  private maybeShrink(): void {
    const filling = this.filling === null ? 0 : this.filling.byteLength;
    if (this.heldBytes <= MAX_HELD_RATIO * this.liveBytes + filling) return;
    // While heldBytes > 2 × liveBytes + filling, some buffer other than the filling one is less than half live.
    for (const [buffer, entry] of this.held) {
      if (this.heldBytes <= 2 * this.liveBytes + filling) return;
      if (buffer !== this.filling && 2 * entry.live < buffer.byteLength) this.letGo(buffer, entry);
    }
  }

  /** Stops holding `buffer`; the values still in it are copied out. */
  private letGo(buffer: ArrayBufferLike, entry: HeldBuffer): void {
    this.held.delete(buffer);
    this.heldBytes -= buffer.byteLength;
    this.liveBytes -= entry.live;
    if (entry.live > 0) for (const key of entry.keys) this.relocatedBytes += this.relocate(key, buffer);
  }
}

/** The buffers views hold may come to this many times the bytes of their values (plus one batch) before values are copied out. */
export const MAX_HELD_RATIO = 3;

interface HeldBuffer {
  live: number;
  readonly keys: string[];
}

/**
 * A copy of `bytes[start, end)` in a buffer of its own.
 * (Not `Buffer.from(view)`: that zero-fills the new buffer before copying into it.)
 */
export function copyValue(bytes: Buffer, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafeSlow(end - start);
  bytes.copy(copy, 0, start, end);
  return copy;
}
