import { ENTRY_HEADER_BYTES } from '../messages/entryCodec';

/**
 * Where each entry the log holds in memory lies: in which entries block (`encodeEntries`
 * layout), at which offset. A queue, in log order: entries are added at the end, dropped
 * from the front (eviction, compaction) or cut from the back (truncation).
 *
 * This is what keeps a cached entry from costing a JavaScript object (issue 17): the log
 * held an `Entry` (and on a leader, the proposer's `Buffer`) per entry for as long as
 * `logCacheBytes` allowed, a few hundred milliseconds under load, long enough for the
 * garbage collector to copy and promote every one. Here an entry is a slot of an array
 * (the block it lies in, shared by its batch) and an offset in a typed array; its index,
 * term, kind and size are read from the block's entry header when asked.
 *
 * @example
 * const slots = new BlockSlots();
 * slots.push(block, 4);         // the first entry of `block`
 * slots.sizeAt(0);              // its payload length, from its header
 */
export class BlockSlots {
  private blocks: (Uint8Array | undefined)[] = [];
  private offsets = new Uint32Array(16);
  /** Position of the first slot in `blocks` and `offsets`. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Adds the entry whose header starts at `offset` in `block`. */
  push(block: Uint8Array, offset: number): void {
    const at = this.head + this.count;
    if (at === this.offsets.length) this.makeRoom();
    const slot = this.head + this.count;
    this.blocks[slot] = block;
    this.offsets[slot] = offset;
    this.count++;
  }

  /** The block of the `i`-th entry held (0: the first). */
  blockAt(i: number): Uint8Array {
    return this.blocks[this.head + i]!;
  }

  /** Where the `i`-th entry's header starts in its block. */
  offsetAt(i: number): number {
    return this.offsets[this.head + i];
  }

  termAt(i: number): number {
    const block = this.blocks[this.head + i]!;
    const at = this.offsets[this.head + i];
    return get32(block, at + 8) * TWO_32 + get32(block, at + 12);
  }

  kindAt(i: number): number {
    return this.blocks[this.head + i]![this.offsets[this.head + i] + 16];
  }

  /** The payload length of the `i`-th entry. */
  sizeAt(i: number): number {
    return get32(this.blocks[this.head + i]!, this.offsets[this.head + i] + 17);
  }

  /** Where the `i`-th entry ends in its block (after its payload). */
  endAt(i: number): number {
    return this.offsets[this.head + i] + ENTRY_HEADER_BYTES + this.sizeAt(i);
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    const drop = Math.min(n, this.count);
    this.blocks.fill(undefined, this.head, this.head + drop);
    this.head += drop;
    this.count -= drop;
    if (this.count === 0) this.head = 0;
  }

  /** Keeps the first `n` entries only. */
  keepFront(n: number): void {
    if (n >= this.count) return;
    this.blocks.fill(undefined, this.head + n, this.head + this.count);
    this.count = n;
    if (this.count === 0) this.head = 0;
  }

  clear(): void {
    this.blocks = [];
    this.offsets = new Uint32Array(16);
    this.head = this.count = 0;
  }

  /** At the end of the arrays: moves the entries to the front when at least half is free, else doubles. */
  private makeRoom(): void {
    if (this.head >= this.count) {
      this.blocks.copyWithin(0, this.head, this.head + this.count);
      this.blocks.fill(undefined, this.count, this.head + this.count);
      this.offsets.copyWithin(0, this.head, this.head + this.count);
      this.head = 0;
      return;
    }
    const bigger = new Uint32Array(this.offsets.length * 2);
    bigger.set(this.offsets);
    this.offsets = bigger;
  }
}

const TWO_32 = 0x1_0000_0000;

function get32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}
