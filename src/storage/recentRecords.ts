import type { Entry } from '../messages/entry';

/** Records a `RecentRecords` holds at most by default: one per follower being served from storage, in a cluster of three. */
const DEFAULT_MAX_RECORDS = 2;

/** Payload bytes a `RecentRecords` holds at most by default, over all its records. */
const DEFAULT_MAX_BYTES = 32 << 20;

interface HeldRecord {
  readonly sequence: number;
  readonly offset: number;
  readonly length: number;
  readonly entries: readonly Entry[];
}

/**
 * The last few write-ahead-log records read back, checked and decoded, so the next read
 * of the same record takes its entries from memory instead of reading and checking the
 * whole record again.
 *
 * Why: a record is one write of a batch, and a leader's batch holds every proposal of a
 * turn (256 proposers of 64 KiB: records of several MiB), while a follower served from
 * storage is sent one message at a time (`maxBytesPerMessage`, 1 MiB by default). Without
 * this, each message re-read and re-checksummed the whole record it came from: several
 * times the bytes it sent (issue 17, docs/notes/big-entries.md).
 *
 * A record is known by its segment, offset and length: while a log is open, bytes once
 * durable are never overwritten (appends go past the end, a conflict is a new record, a
 * torn tail is cut only at open), so the same key always means the same bytes. Records
 * of deleted segments are dropped with `dropBefore`. Bounded: at most `maxRecords`
 * records and `maxBytes` of payload in all; a larger record is not held.
 *
 * @example
 * const recent = new RecentRecords();
 * recent.put(3, 4096, block.length, decodeEntries(block));
 * recent.get(3, 4096, block.length); // the entries, without reading the file
 * recent.dropBefore(4);              // segment 3 was deleted
 */
export class RecentRecords {
  /** Oldest first. Invariant: at most `maxRecords` records, at most `maxBytes` of `length` in all. */
  private held: HeldRecord[] = [];
  private bytes = 0;
  /** Segments before this one were deleted: their records are never held again (a read that began before may still offer one). */
  private firstSegment = 0;

  constructor(
    private readonly maxRecords = DEFAULT_MAX_RECORDS,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {
    if (!Number.isInteger(maxRecords) || maxRecords < 0) throw new RangeError(`maxRecords must be a non-negative integer, got ${maxRecords}`);
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }

  /** The decoded entries of the record at `offset` in segment `sequence` with a payload of `length` bytes, if held. */
  get(sequence: number, offset: number, length: number): readonly Entry[] | undefined {
    for (const r of this.held) if (r.sequence === sequence && r.offset === offset && r.length === length) return r.entries;
    return undefined;
  }

  /** Holds a record's decoded entries, dropping the oldest held ones to make room; one larger than `maxBytes` is not held. */
  put(sequence: number, offset: number, length: number, entries: readonly Entry[]): void {
    if (this.maxRecords === 0 || length > this.maxBytes || sequence < this.firstSegment || this.get(sequence, offset, length)) return;
    while (this.held.length >= this.maxRecords || this.bytes + length > this.maxBytes) this.bytes -= this.held.shift()!.length;
    this.held.push({ sequence, offset, length, entries });
    this.bytes += length;
  }

  /** Drops the records of segments before `sequence` (they were deleted), and holds none of them from now on. */
  dropBefore(sequence: number): void {
    this.firstSegment = Math.max(this.firstSegment, sequence);
    const kept = this.held.filter((r) => r.sequence >= sequence);
    if (kept.length === this.held.length) return;
    this.held = kept;
    this.bytes = kept.reduce((n, r) => n + r.length, 0);
  }

  /** Payload bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }
}
