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
 * The rule: a buffer stays held while at least half of it is live values. When a buffer
 * falls below half (one of its values was written over or deleted, or the store moved on to
 * the next buffer before filling half of this one), the values still in it are copied out
 * (`relocate`), and the buffer is let go. So at every moment the bytes held for views are
 * at most twice the bytes of the values in them, plus the one buffer being filled.
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
  /** Each held buffer: bytes of live values in it, and the keys stored in it (some since written over). */
  private readonly held = new Map<ArrayBufferLike, HeldBuffer>();
  /** The buffer values were last kept in: exempt from the half rule until the store moves on to another. */
  private filling: ArrayBufferLike | null = null;
  /** Bytes of the buffers in `held`. */
  private heldBytes = 0;
  /** Bytes of the live values in them. Invariant: heldBytes <= 2 × liveBytes + filling's size. */
  private liveBytes = 0;
  /** Bytes copied out of buffers that fell below half (counted, for the metrics). */
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
      const previous = this.filling;
      this.filling = buffer;
      if (previous !== null) this.settle(previous);
    }
  }

  /** A value is no longer the store's (written over or deleted); a copy or a value not kept here is ignored. */
  release(value: Buffer): void {
    const entry = this.held.get(value.buffer);
    if (entry === undefined) return; // a copy: it holds nothing beyond itself
    entry.live -= value.length;
    this.liveBytes -= value.length;
    if (value.buffer !== this.filling) this.settle(value.buffer);
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

  /** Lets `buffer` go when less than half of it is live, after its remaining values are copied out. */
  private settle(buffer: ArrayBufferLike): void {
    const entry = this.held.get(buffer);
    if (entry === undefined || 2 * entry.live >= buffer.byteLength) return;
    this.held.delete(buffer);
    this.heldBytes -= buffer.byteLength;
    this.liveBytes -= entry.live;
    for (const key of entry.keys) this.relocatedBytes += this.relocate(key, buffer);
  }
}

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
