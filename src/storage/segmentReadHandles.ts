import { FileHandleLike, FileSystem, isOutOfDescriptors } from './fileSystem';

/**
 * Segments a `SegmentReadHandles` keeps open by default: a leader serving two lagging
 * followers from storage reads one or two segments each, so four cover a cluster of
 * three with room to spare; each costs one file descriptor while it is held.
 */
export const DEFAULT_MAX_READ_HANDLES = 4;

/** What a `SegmentReadHandles` did, for tests and metrics. */
export interface ReadHandleStats {
  /** Segment files opened to be kept (one per segment until it is evicted, retired or the set closes). */
  readonly opens: number;
  /** Reads that found their segment already open. */
  readonly hits: number;
  /** Reads that opened their segment for themselves and closed it after (every kept handle was in use, or the segment was retired). */
  readonly unkept: number;
  /** Kept handles closed because a read needed room for another segment (least recently used first). */
  readonly evictions: number;
  /** Descriptors held now: open kept handles, retired ones whose reads have not ended, unkept ones of reads in flight. */
  readonly openNow: number;
}

interface Slot {
  readonly sequence: number;
  /** The handle, once the open settles; rejects when the open failed. */
  readonly opening: Promise<FileHandleLike>;
  /** Reads using the handle now. Invariant: the slot is closed only when this is 0. */
  users: number;
  /** Taken out of the set (segment deleted, evicted, or the set closed): its last user closes it. */
  retired: boolean;
}

/**
 * Read-only handles of write-ahead-log segments, kept open between reads so a leader
 * serving a lagging follower from storage does not open and close a segment file for
 * every message (issue 17: ~3% of a leader's CPU at 256 proposers of 64 KiB).
 *
 * Bounded: at most `maxOpen` handles are kept, one per segment, least recently used
 * evicted first. A handle in use is never closed under its read: it is closed when its
 * last read ends. When every kept handle is in use, a read of another segment opens the
 * file for itself and closes it after (what every read did before), so a read never
 * waits for a handle and the set never holds more than `maxOpen`. When opening fails for
 * want of descriptors (EMFILE/ENFILE), the idle kept handles are closed and the open is
 * tried once more; a second failure is the caller's, as before.
 *
 * Deleted segments: the log calls `retireBefore(sequence)` *before* it unlinks them, so a
 * deleted segment's handle is never handed out again (a read then opens the file itself,
 * finding it or not — ENOENT, which the reader reports as compacted). `close()` retires
 * everything; reads after it open and close their own handles. No descriptor outlives
 * the last read that used it.
 *
 * @example
 * const handles = new SegmentReadHandles(nodeFileSystem);
 * const n = await handles.use(7, path.join(dir, segmentName(7)), (h) => h.read(buf, 0, buf.length, 4096));
 * await handles.retireBefore(8); // segment 7 is about to be deleted
 * await handles.close();
 */
export class SegmentReadHandles {
  /** Kept handles by segment, least recently used first (Map order). Invariant: at most `maxOpen`, none retired. */
  private readonly slots = new Map<number, Slot>();
  /** Segments before this one are deleted or about to be: never kept again. */
  private firstSegment = 0;
  private closed = false;
  private counters = { opens: 0, hits: 0, unkept: 0, evictions: 0 };
  /** Descriptors opened and not yet closed (kept or not). */
  private openNow = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly maxOpen = DEFAULT_MAX_READ_HANDLES,
  ) {
    if (!Number.isInteger(maxOpen) || maxOpen < 0) throw new RangeError(`maxOpen must be a non-negative integer, got ${maxOpen}`);
  }

  /**
   * Runs `read` with a read-only handle of segment `sequence` (the file `file`), kept open
   * for later reads when there is room (see the class). `read` must not keep the handle.
   * Rejects with the open's error (e.g. ENOENT for a deleted segment) or `read`'s.
   */
  async use<T>(sequence: number, file: string, read: (handle: FileHandleLike) => Promise<T>): Promise<T> {
    let slot = this.closed || sequence < this.firstSegment ? undefined : this.slots.get(sequence);
    if (slot !== undefined) {
      this.slots.delete(sequence); // most recently used: to the end
      this.slots.set(sequence, slot);
      this.counters.hits++;
    } else if (!this.closed && sequence >= this.firstSegment && this.makeRoom()) {
      slot = this.keep(sequence, file);
    } else {
      return this.useUnkept(file, read);
    }
    slot.users++;
    try {
      return await read(await slot.opening);
    } finally {
      slot.users--;
      if (slot.retired && slot.users === 0) await this.closeSlot(slot);
    }
  }

  /** Closes (now, or when their reads end) the handles of segments before `sequence`, and keeps none of them again. */
  async retireBefore(sequence: number): Promise<void> {
    this.firstSegment = Math.max(this.firstSegment, sequence);
    await this.retire([...this.slots.values()].filter((s) => s.sequence < sequence));
  }

  /** Closes every kept handle (now, or when its reads end); later reads open and close their own. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.retire([...this.slots.values()]);
  }

  /** What the set did so far, and the descriptors it holds now. */
  stats(): ReadHandleStats {
    return { ...this.counters, openNow: this.openNow };
  }

  /** Opens `file` into a new kept slot for `sequence` (the caller made room). */
  private keep(sequence: number, file: string): Slot {
    this.counters.opens++;
    const slot: Slot = {
      sequence,
      users: 0,
      retired: false,
      opening: this.openFile(file).catch((e: unknown) => {
        // Not open: forget the slot so the next read tries again.
        if (this.slots.get(sequence) === slot) this.slots.delete(sequence);
        slot.retired = true;
        throw e;
      }),
    };
    this.slots.set(sequence, slot);
    return slot;
  }

  /**
   * Makes room for one more kept handle: false when the set is full of handles in use
   * (or keeps none). Evicts the least recently used idle handle, closed in the background
   * (it is idle, nothing waits on it; a read-only descriptor is released even when its
   * close reports an error, so that error is dropped).
   */
  private makeRoom(): boolean {
    if (this.slots.size < this.maxOpen) return true;
    for (const slot of this.slots.values()) {
      if (slot.users > 0) continue;
      this.counters.evictions++;
      this.retire([slot]).catch(() => undefined);
      return true;
    }
    return false;
  }

  /** Takes `slots` out of the set; closes the idle ones now, the others when their last read ends. */
  private async retire(slots: readonly Slot[]): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const slot of slots) {
      if (this.slots.get(slot.sequence) === slot) this.slots.delete(slot.sequence);
      if (slot.retired) continue;
      slot.retired = true;
      if (slot.users === 0) closing.push(this.closeSlot(slot));
    }
    await Promise.all(closing);
  }

  /** Runs `read` with a handle of its own, closed after. */
  private async useUnkept<T>(file: string, read: (handle: FileHandleLike) => Promise<T>): Promise<T> {
    this.counters.unkept++;
    const handle = await this.openFile(file);
    try {
      return await read(handle);
    } finally {
      this.openNow--;
      await handle.close();
    }
  }

  /** Opens `file` read-only; out of descriptors, closes the idle kept handles and tries once more. */
  private async openFile(file: string): Promise<FileHandleLike> {
    let handle: FileHandleLike;
    try {
      handle = await this.fs.open(file, 'r');
    } catch (e) {
      if (!isOutOfDescriptors(e)) throw e;
      const idle = [...this.slots.values()].filter((s) => s.users === 0);
      if (idle.length === 0) throw e;
      await this.retire(idle);
      handle = await this.fs.open(file, 'r');
    }
    this.openNow++;
    return handle;
  }

  /** Closes a slot's handle (nothing to close when its open failed). */
  private async closeSlot(slot: Slot): Promise<void> {
    const handle = await slot.opening.catch(() => null);
    if (handle === null) return;
    this.openNow--;
    await handle.close();
  }
}
