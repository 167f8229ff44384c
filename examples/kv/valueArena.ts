/**
 * The KV store's small values, kept outside the JavaScript heap: their bytes in one
 * growable buffer, each value named by a handle (a small integer: where its record
 * starts), so the store's map holds a number per key, not an object.
 *
 * Why (issue 17): a value kept as a heap string lives until its key is written again,
 * seconds later under load, so every write's value survived the young generation and
 * the collector copied it there and promoted it: at 256 proposers the store's strings
 * were nine tenths of what survived a scavenge on every node. Bytes in a buffer are
 * never copied by the collector, and overwriting a key with a value no longer than its
 * record reuses the record in place: a store whose keys are rewritten allocates nothing.
 *
 * Layout: records one after the other, each `u32 capacity | u32 length | capacity bytes`,
 * the capacity the length rounded up to 8 (room for a slightly longer value in place).
 * A record freed (its key deleted, or its value moved to a larger record) is garbage
 * until a compaction, which runs when at least half of the used bytes are garbage and the
 * buffer is full or its last pinned reader is released (see below); a full buffer with
 * less garbage doubles. A compaction slides the live records down to the start of the
 * buffer, in place (no new buffer: with 262,144 keys, copying into a fresh one allocated
 * 59 MB per snapshot), and the owner of the handles gives `relocate` (called with `move`,
 * it replaces each handle it holds with `move(handle)`). A buffer left more than
 * `MAX_SLACK` times its live bytes is then replaced by one of twice them.
 *
 * A snapshot reads the values as they were when it began (`pin`) while the store goes on:
 * as long as a reader is pinned, nothing is written over or freed in place (a write goes
 * to a new record, a free waits) and nothing is compacted, so the reader needs no copy.
 *
 * @example
 * const handles = new Map<string, number>();
 * const arena = new ValueArena((move) => handles.forEach((h, k) => handles.set(k, move(h))));
 * handles.set('x', arena.set(undefined, Buffer.from('abc'), 0, 3));
 * arena.read(handles.get('x')!).toString(); // 'abc'
 */
export class ValueArena {
  private bytes: Buffer;
  /** Bytes of `bytes` holding records, live or freed. */
  private used = 0;
  /** Bytes of freed records in `bytes[0, used)`. */
  private garbage = 0;
  /** Readers pinned now (`pin`; made at the first, an idle store never pins), and the records freed while they were (freed once none is). */
  private readers: Set<ArenaReader> | null = null;
  private deferredFrees: number[] = [];
  /** Where each live record was, in address order, during a compaction (kept for the next one). */
  private liveAt: Uint32Array = NO_OFFSETS;

  /**
   * `initialBytes` defaults to none: the buffer grows (doubling) with the first values, so
   * an idle store costs nothing (a sharded server holds one store per group: with a
   * 64 KiB start, 1,000 idle groups measured 48–50 KiB of RSS per group, 42–43 without).
   */
  constructor(
    private readonly relocate: (move: (handle: number) => number) => void,
    initialBytes = 0,
  ) {
    this.bytes = initialBytes > 0 ? Buffer.allocUnsafeSlow(Math.max(RECORD_HEAD_BYTES, initialBytes)) : NO_BYTES;
  }

  /**
   * Stores `src[start, end)` and returns its handle: in place of the value of `previous`
   * when it fits there and no reader is pinned (the same handle), else in a new record
   * (`previous` is freed; every other handle may have moved: see `relocate`).
   */
  set(previous: number | undefined, src: Buffer, start: number, end: number): number {
    const length = end - start;
    if (previous !== undefined && this.pinned === 0 && length <= this.bytes.readUInt32LE(previous)) {
      this.bytes.writeUInt32LE(length, previous + 4);
      src.copy(this.bytes, previous + RECORD_HEAD_BYTES, start, end);
      return previous;
    }
    if (previous !== undefined) this.free(previous);
    const capacity = (length + 7) & ~7;
    const at = this.room(RECORD_HEAD_BYTES + capacity);
    this.bytes.writeUInt32LE(capacity, at);
    this.bytes.writeUInt32LE(length, at + 4);
    src.copy(this.bytes, at + RECORD_HEAD_BYTES, start, end);
    this.used = at + RECORD_HEAD_BYTES + capacity;
    return at;
  }

  /** Frees the record of `handle` (its key is gone, or moved to another record); while a reader is pinned, once none is. */
  free(handle: number): void {
    if (this.pinned > 0) {
      this.deferredFrees.push(handle);
      return;
    }
    if (this.bytes.readUInt32LE(handle + 4) === FREED) return;
    this.bytes.writeUInt32LE(FREED, handle + 4);
    this.garbage += RECORD_HEAD_BYTES + this.bytes.readUInt32LE(handle);
  }

  /** The value's length in bytes. */
  byteLength(handle: number): number {
    return this.bytes.readUInt32LE(handle + 4);
  }

  /** The value, copied. */
  read(handle: number): Buffer {
    const from = handle + RECORD_HEAD_BYTES;
    return Buffer.from(this.bytes.subarray(from, from + this.byteLength(handle)));
  }

  /** How many readers are pinned now. */
  private get pinned(): number {
    return this.readers?.size ?? 0;
  }

  /** Whether the value has the bytes `src[start, end)`. */
  equals(handle: number, src: Uint8Array, start: number, end: number): boolean {
    const from = handle + RECORD_HEAD_BYTES;
    const length = this.byteLength(handle);
    return length === end - start && this.bytes.compare(src, start, end, from, from + length) === 0;
  }

  /**
   * A reader of the values as they are now, under the handles they have now, for as long
   * as it is pinned (until `release`). Should the arena grow past `MAX_PINNED_GROWTH`
   * times its size while pinned (a reader never released), the readers get a copy of
   * what they read and are unpinned.
   */
  pin(): ArenaReader {
    const reader = new ArenaReader(this.bytes, (r) => this.unpin(r));
    (this.readers ??= new Set()).add(reader);
    return reader;
  }

  /** Forgets every value (a restore replaces the store): every handle is void. */
  clear(): void {
    this.detachReaders();
    this.used = 0;
    this.garbage = 0;
  }

  /** Bytes held for records (live and freed), and of those, freed. */
  get stats(): { readonly usedBytes: number; readonly garbageBytes: number; readonly capacityBytes: number } {
    return { usedBytes: this.used, garbageBytes: this.garbage, capacityBytes: this.bytes.length };
  }

  /**
   * Unpins `reader`; the last one out frees what waited and, when half of what is used is
   * garbage, compacts (`compactNow`, false when the caller compacts or clears anyway).
   * Unpinned, a store whose keys are rewritten overwrites records in place and never asks
   * for room, so only here is the growth of a pinned period given back: without it, a
   * store snapshotted every few seconds grew by every snapshot's writes for good (1.1 MB
   * of values in a 470 MB buffer after 400 snapshots).
   */
  private unpin(reader: ArenaReader, compactNow = true): void {
    if (!this.readers?.delete(reader) || this.readers.size > 0) return;
    const frees = this.deferredFrees;
    this.deferredFrees = [];
    for (const handle of frees) this.free(handle);
    if (compactNow && this.garbage > 0 && 2 * this.garbage >= this.used) this.compact();
  }

  /** Gives every pinned reader a copy of its bytes and unpins it. */
  private detachReaders(): void {
    for (const reader of [...(this.readers ?? [])]) {
      reader.detach();
      this.unpin(reader, false);
    }
  }

  /** Where a record of `size` bytes goes: at the end, after compacting or growing when it does not fit. */
  private room(size: number): number {
    if (this.used + size <= this.bytes.length) return this.used;
    const oldest = this.readers?.values().next().value as ArenaReader | undefined;
    if (oldest !== undefined && this.bytes.length >= MAX_PINNED_GROWTH * oldest.bufferBytes) this.detachReaders();
    if (this.pinned === 0 && 2 * this.garbage >= this.used) this.compact();
    if (this.used + size > this.bytes.length) this.grow(Math.max(2 * this.bytes.length, this.used + size));
    return this.used;
  }

  private grow(size: number): void {
    const bigger = Buffer.allocUnsafeSlow(size);
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }

  /**
   * Slides every live record down to the start of the buffer, in address order, dropping
   * the freed ones; only while no reader is pinned (nothing else reads these bytes). A
   * record never moves up, and lands before where the next one starts, so each copy leaves
   * the records still to move untouched. Then, should the buffer be more than `MAX_SLACK`
   * times what is live, it is replaced by one of twice that.
   */
  private compact(): void {
    const b = this.bytes;
    // 1. Each live record's new place, written over its capacity (read first: the walk needs it).
    let count = 0;
    let end = 0;
    for (let at = 0; at < this.used; ) {
      const capacity = b.readUInt32LE(at);
      const length = b.readUInt32LE(at + 4);
      if (length !== FREED) {
        if (count === this.liveAt.length) this.liveAt = grownCopy(this.liveAt);
        this.liveAt[count++] = at;
        b.writeUInt32LE(end, at);
        end += RECORD_HEAD_BYTES + ((length + 7) & ~7);
      }
      at += RECORD_HEAD_BYTES + capacity;
    }
    // 2. The owner's handles follow (a freed handle it is about to replace stays as it is).
    this.relocate((handle) => (b.readUInt32LE(handle + 4) === FREED ? handle : b.readUInt32LE(handle)));
    // 3. The bytes follow, in address order.
    for (let i = 0; i < count; i++) {
      const from = this.liveAt[i];
      const to = b.readUInt32LE(from);
      const length = b.readUInt32LE(from + 4);
      if (to !== from) b.copyWithin(to + RECORD_HEAD_BYTES, from + RECORD_HEAD_BYTES, from + RECORD_HEAD_BYTES + length);
      b.writeUInt32LE((length + 7) & ~7, to);
      b.writeUInt32LE(length, to + 4);
    }
    this.used = end;
    this.garbage = 0;
    if (b.length > MAX_SLACK * Math.max(end, MIN_SHRUNK_BYTES)) {
      const smaller = Buffer.allocUnsafeSlow(2 * Math.max(end, MIN_SHRUNK_BYTES));
      b.copy(smaller, 0, 0, end);
      this.bytes = smaller;
    }
  }
}

/**
 * The values of a `ValueArena` as they were when it was pinned (`ValueArena.pin`), read by
 * their handles of then. `release` it when done, so the arena reuses and compacts again.
 *
 * @example
 * const reader = arena.pin();
 * try { reader.copyTo(handle, chunk, at); } finally { reader.release(); }
 */
export class ArenaReader {
  constructor(
    private bytes: Buffer,
    private readonly onRelease: (reader: ArenaReader) => void,
  ) {}

  /** The value's length in bytes. */
  byteLength(handle: number): number {
    return this.bytes.readUInt32LE(handle + 4);
  }

  /** Copies the value into `out` at `at`; returns the bytes copied. */
  copyTo(handle: number, out: Uint8Array, at: number): number {
    const from = handle + RECORD_HEAD_BYTES;
    return this.bytes.copy(out, at, from, from + this.byteLength(handle));
  }

  /** The value as a view (valid while this reader is held, pinned or not). */
  view(handle: number): Buffer {
    const from = handle + RECORD_HEAD_BYTES;
    return this.bytes.subarray(from, from + this.byteLength(handle));
  }

  /** Unpins it (once; later calls do nothing). Read nothing through it afterwards: the arena may compact its bytes in place. */
  release(): void {
    this.onRelease(this);
  }

  /** The size of the buffer it reads. */
  get bufferBytes(): number {
    return this.bytes.length;
  }

  /** Reads from a copy of its bytes from now on (the arena is about to write over them). */
  detach(): void {
    this.bytes = Buffer.from(this.bytes);
  }
}

/** Capacity and length of a record. */
const RECORD_HEAD_BYTES = 8;
/** The length of a freed record (no value is this long: values are under `LARGE_VALUE_BYTES` here). */
const FREED = 0xffff_ffff;
/** How many times the size of the buffer a pinned reader reads the arena may grow to before readers are detached (`pin`). */
const MAX_PINNED_GROWTH = 4;
/** A compacted buffer more than this many times its live bytes is replaced by a smaller one (twice them). */
const MAX_SLACK = 4;
/** Below this, a compacted buffer is not worth shrinking. */
const MIN_SHRUNK_BYTES = 4096;

/** Shared by every arena until its first compaction (a sharded server holds one store per group). */
const NO_OFFSETS = new Uint32Array(0);
/** Shared by every arena made without `initialBytes` until its first value (never written: `room` grows it first). */
const NO_BYTES = Buffer.alloc(0);

/** A Uint32Array twice as long (at least 1,024), with the values of `a` first. */
function grownCopy(a: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.max(1024, 2 * a.length));
  out.set(a);
  return out;
}
