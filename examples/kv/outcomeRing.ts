/** The arrays of every ring before its first record: empty, shared, never written. */
const NO_INDEXES = new Float64Array(0);
const NO_OUTCOMES = new Uint8Array(0);
const NO_HASHES = new Uint32Array(0);

/**
 * The outcomes of recently applied entries, by log index: a ring of the last `window`
 * entries (index, outcome, hash of the command), so lookups and records cost O(1) and
 * it never grows past `window`. It holds nothing until the first record (a shard of a
 * sharded server that is never written applies no command: its ring would be ~770 bytes
 * of empty arrays), then starts small and doubles while the entries recorded since it
 * was created (or cleared) span more than it holds, so every entry of that span stays
 * until it reaches `window`: a store that has applied few entries holds a few KiB
 * instead of `window` × 13 bytes (832 KiB at 65,536).
 *
 * @example
 * const ring = new OutcomeRing(1 << 16);
 * ring.record(7, 1, 0xabcd);
 * ring.outcomeAt(7); // 1
 * ring.hashAt(8);    // undefined: not recorded
 * ring.capacity;     // 8 (0 before the first record)
 */
export class OutcomeRing {
  /** Log index per slot; 0 is an empty slot (Raft indexes start at 1). Empty (shared) until the first record. */
  private indexes = NO_INDEXES;
  private outcomes = NO_OUTCOMES;
  private hashes = NO_HASHES;
  /** The first index recorded since creation or `clear`, or 0. */
  private first = 0;

  constructor(
    /** Most entries kept: a power of two. */
    readonly window: number,
    /** Slots at the first record (a power of two). 8: the index slots (64 bytes) stay inside the JavaScript heap, no ArrayBuffer store apart, for a shard written little. */
    private readonly initial = 8,
  ) {
    const powerOfTwo = (n: number) => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
    if (!powerOfTwo(window) || !powerOfTwo(initial) || initial > window) throw new RangeError(`window and initial must be powers of two, initial <= window; got ${window}, ${initial}`);
  }

  /** Slots held now: 0 before the first record, then `initial`, growing up to `window`. */
  get capacity(): number {
    return this.indexes.length;
  }

  /** Records the entry at `index` (indexes recorded in increasing order), overwriting the one `window` entries before it. */
  record(index: number, outcome: number, hash: number): void {
    if (this.first === 0) {
      this.first = index;
      if (this.capacity === 0) this.allocate(this.initial);
    }
    while (index - this.first >= this.capacity && this.capacity < this.window) this.grow();
    const slot = index % this.capacity;
    this.indexes[slot] = index;
    this.outcomes[slot] = outcome;
    this.hashes[slot] = hash;
  }

  /** The outcome recorded for `index`, if it is still held. */
  outcomeAt(index: number): number | undefined {
    if (this.capacity === 0) return undefined;
    const slot = index % this.capacity;
    return this.indexes[slot] === index ? this.outcomes[slot] : undefined;
  }

  /** The command hash recorded for `index`, if it is still held. */
  hashAt(index: number): number | undefined {
    if (this.capacity === 0) return undefined;
    const slot = index % this.capacity;
    return this.indexes[slot] === index ? this.hashes[slot] : undefined;
  }

  /** Forgets everything and lets its arrays go (the next record starts at the initial size again). */
  clear(): void {
    this.indexes = NO_INDEXES;
    this.outcomes = NO_OUTCOMES;
    this.hashes = NO_HASHES;
    this.first = 0;
  }

  /** Empty arrays of `size` slots. */
  private allocate(size: number): void {
    this.indexes = new Float64Array(size);
    this.outcomes = new Uint8Array(size);
    this.hashes = new Uint32Array(size);
  }

  /** Doubles the ring, moving every held entry to its slot in the larger one. */
  private grow(): void {
    const size = this.capacity * 2;
    const [indexes, outcomes, hashes] = [new Float64Array(size), new Uint8Array(size), new Uint32Array(size)];
    for (let slot = 0; slot < this.capacity; slot++) {
      const index = this.indexes[slot];
      if (index === 0) continue;
      indexes[index % size] = index;
      outcomes[index % size] = this.outcomes[slot];
      hashes[index % size] = this.hashes[slot];
    }
    [this.indexes, this.outcomes, this.hashes] = [indexes, outcomes, hashes];
  }
}
