import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import type { HardState } from '../messages/persisted';
import { CorruptLogError } from './fileErrors';
import { LogCompaction, NO_COMPACTION } from './fileSnapshotFormat';
import { FileLogIndex, RecordLocation } from './fileLogIndex';
import { decodeDamageBody, decodeEntriesBody, decodeHardStateBody, GroupRecord, GroupRecordKind, groupRecordHeaderBytes } from './sharedLogRecords';
import { INITIAL_HARD_STATE, StorageDamage } from './storage';

/** The live entries of one group whose latest copy lies in one segment: indexes `lo..hi`, about `bytes` bytes. */
interface LiveRange {
  lo: number;
  hi: number;
  bytes: number;
}

/**
 * One group's durable state in a host's shared write-ahead log, and where its live
 * records lie: what pins a segment (see `pins`). Updated in log order, by the recovery
 * scan and after each durable write.
 *
 * Replay rules (as `FileLog`'s, per group): an Entries record whose first index lies
 * inside the group's log cuts the log there; one that does not starts the log anew,
 * which is sound only if everything before it is compacted (checked by `finishReplay`
 * against the group's snapshot); a Removed record forgets everything before it; the
 * latest HardState and Damage records win. Entries records in segments before the
 * group's `firstLiveSegment` (a `discardLog` snapshot) are ignored.
 *
 * @example
 * const g = new GroupLog('g1');
 * g.replay(decodeGroupRecord(payload), 3, file, offset);  // during the recovery scan
 * g.pins(3, 1);                                          // true: segment 3 holds a live record of g1
 */
export class GroupLog {
  /** Live entry ranges by segment. Invariant: disjoint, and together exactly the live log after the compaction. */
  private readonly ranges = new Map<number, LiveRange>();
  /** Where each Entries record holding live entries lies (made at the first one): what `recordsHolding` reads. */
  private records: FileLogIndex | null = null;
  /** The durable log's last index (the compaction point when it is empty). Invariant: no range ends after it. */
  lastIndex = 0;
  compaction: LogCompaction = NO_COMPACTION;
  hardState: HardState = INITIAL_HARD_STATE;
  /** The segment holding the latest HardState record, if any. */
  hardStateSegment: number | null = null;
  damage: StorageDamage | null = null;
  damageSegment: number | null = null;
  /** The segment holding the group's latest Removed record, if any. */
  removedSegment: number | null = null;
  /** The entries the recovery scan rebuilt, until a view takes them (then null). */
  entries: Entry[] | null = [];
  /** Whether a view (`SharedLogStorage`) has the group open. */
  open = false;
  /** `first - 1` of the last Entries record that started the log anew: must be compacted. */
  private resetNeeds = 0;

  constructor(readonly id: string) {}

  /** Applies one record found at `offset` of segment `segment` (recovery, or reading the log back). */
  replay(record: GroupRecord, segment: number, file: string, offset: number): void {
    try {
      if (record.kind === GroupRecordKind.Entries) this.replayEntries(decodeEntriesBody(record.body), record.body.length, segment, offset);
      else if (record.kind === GroupRecordKind.HardState) this.savedHardState(decodeHardStateBody(record.body), segment);
      else if (record.kind === GroupRecordKind.Damage) this.savedDamage(decodeDamageBody(record.body), segment);
      else this.removed(segment);
    } catch (e) {
      if (e instanceof InvalidMessageError) throw new CorruptLogError(file, offset, `group ${this.id}: ${e.reason}`);
      throw e;
    }
  }

  /**
   * Ends a replay: checks that every restart of the log lies in the compacted part, drops
   * the entries at or below the compaction point. Throws `CorruptLogError` naming `file`.
   */
  finishReplay(file: string): void {
    const c = this.compaction.compactedThrough;
    if (this.resetNeeds > c) throw new CorruptLogError(file, 0, `group ${this.id}: its log has a gap after index ${this.resetNeeds} (compacted through ${c})`);
    const entries = this.entries ?? [];
    this.entries = entries.length > 0 ? entries.slice(Math.max(0, c + 1 - entries[0].index)) : entries;
    this.compact(this.compaction);
  }

  /**
   * Entries `first..last` (an entries block of `bytes` bytes) became durable in `segment`,
   * in the record at byte `offset`: they replace the log from `first` on.
   */
  appended(segment: number, first: number, last: number, bytes: number, offset: number): void {
    this.truncateFrom(first);
    (this.records ??= new FileLogIndex()).add(first, last, segment, offset, groupRecordHeaderBytes(this.id) + bytes);
    const range = this.ranges.get(segment);
    if (range) {
      range.hi = last;
      range.bytes += bytes;
    } else {
      this.ranges.set(segment, { lo: first, hi: last, bytes });
    }
    this.lastIndex = last;
  }

  savedHardState(state: HardState, segment: number): void {
    this.hardState = state;
    this.hardStateSegment = segment;
  }

  savedDamage(damage: StorageDamage | null, segment: number): void {
    this.damage = damage;
    this.damageSegment = segment;
  }

  /**
   * A Removed record became durable in `segment`: the group starts over, empty. Its
   * compaction stays: in a replay it is the later incarnation's (from its snapshot); a
   * removal at run time resets it (the snapshots are deleted).
   */
  removed(segment: number): void {
    this.ranges.clear();
    this.records = null;
    this.lastIndex = 0;
    this.hardState = INITIAL_HARD_STATE;
    this.hardStateSegment = null;
    this.damage = null;
    this.damageSegment = null;
    this.removedSegment = segment;
    this.entries = this.entries === null ? null : [];
    this.resetNeeds = 0;
  }

  /** A snapshot made `compaction` durable: ranges at or below it, and in segments before its first live one, are dead. */
  compact(compaction: LogCompaction): void {
    this.compaction = compaction;
    const { compactedThrough, firstLiveSegment } = compaction;
    for (const [segment, range] of this.ranges) {
      if (segment < firstLiveSegment || range.hi <= compactedThrough) this.ranges.delete(segment);
      else if (range.lo <= compactedThrough) this.trim(range, compactedThrough + 1, range.hi);
    }
    this.records?.compact(compactedThrough, firstLiveSegment);
    if (this.records?.size === 0) this.records = null;
    this.lastIndex = this.ranges.size === 0 ? compactedThrough : Math.max(this.lastIndex, compactedThrough);
  }

  /**
   * Whether segment `segment` holds a record of this group that a restart needs: live
   * entries, the latest hard state, undamaged-yet-uncleared damage, or a Removed record
   * that still hides older records (it does while a segment before it exists: `first`
   * is the log's first segment).
   */
  pins(segment: number, first: number): boolean {
    return (
      this.ranges.has(segment) ||
      this.hardStateSegment === segment ||
      (this.damage !== null && this.damageSegment === segment) ||
      (this.removedSegment === segment && segment > first)
    );
  }

  /**
   * The records holding live entries `from..to - 1`, in log order. Throws `RangeError` if
   * one is not live (check the range against the log first).
   */
  recordsHolding(from: number, to: number): RecordLocation[] {
    if (this.records === null) throw new RangeError(`group ${this.id} has no live entries`);
    return this.records.locateRange(from, to);
  }

  /** The live entries' indexes (after the compaction point), or null when there are none. */
  liveSpan(): { readonly first: number; readonly last: number } | null {
    const indexed = this.records?.firstIndex ?? null;
    if (indexed === null) return null;
    const first = Math.max(indexed, this.compaction.compactedThrough + 1);
    return this.lastIndex >= first ? { first, last: this.lastIndex } : null;
  }

  /** Whether the group has hard state, entries or damage in the log (or had, until a Removed record). */
  hasState(): boolean {
    return this.ranges.size > 0 || this.hardStateSegment !== null || this.damage !== null;
  }

  /** Whether nothing of the group matters any more (no view, no live record) once `first` is the first segment. */
  forgettable(first: number): boolean {
    return !this.open && !this.hasState() && (this.removedSegment === null || this.removedSegment <= first);
  }

  /** About how many bytes a rewrite of the group's live records takes. */
  liveBytes(): number {
    let bytes = 128;
    for (const range of this.ranges.values()) bytes += range.bytes;
    return bytes;
  }

  /**
   * Every live record now lies in `segment` (they were rewritten there): the live entries,
   * if any, in one entries block of `entries.bytes` bytes in the record at `entries.offset`.
   */
  movedTo(segment: number, entries: { readonly bytes: number; readonly offset: number } | null): void {
    const lo = Math.max(this.compaction.compactedThrough + 1, this.minLive());
    this.ranges.clear();
    this.records = null;
    if (this.lastIndex >= lo && entries) {
      this.ranges.set(segment, { lo, hi: this.lastIndex, bytes: entries.bytes });
      this.records = new FileLogIndex();
      this.records.add(lo, this.lastIndex, segment, entries.offset, groupRecordHeaderBytes(this.id) + entries.bytes);
    }
    if (this.hardStateSegment !== null) this.hardStateSegment = segment;
    if (this.damage !== null) this.damageSegment = segment;
  }

  private minLive(): number {
    let lo = Infinity;
    for (const range of this.ranges.values()) lo = Math.min(lo, range.lo);
    return lo;
  }

  private replayEntries(decoded: Entry[], bytes: number, segment: number, offset: number): void {
    if (segment < this.compaction.firstLiveSegment) return;
    const first = decoded[0].index;
    const entries = this.entries;
    if (entries) {
      const start = entries.length > 0 ? entries[0].index : 0;
      if (entries.length > 0 && first >= start && first <= start + entries.length) {
        entries.length = first - start;
      } else {
        // Everything before is replaced: only the last restart decides whether a gap is left.
        entries.length = 0;
        this.resetNeeds = first - 1;
      }
      for (const entry of decoded) entries.push(entry);
    }
    this.appended(segment, first, decoded[decoded.length - 1].index, bytes, offset);
  }

  /**
   * Drops the live entries from `first` on. Nothing to drop past `lastIndex` (no range ends
   * after it): the common case, an append that follows the log, walks no ranges.
   */
  private truncateFrom(first: number): void {
    if (first > this.lastIndex) return;
    for (const [segment, range] of this.ranges) {
      if (range.lo >= first) this.ranges.delete(segment);
      else if (range.hi >= first) this.trim(range, range.lo, first - 1);
    }
  }

  /** Narrows `range` to `lo..hi`, scaling its bytes. */
  private trim(range: LiveRange, lo: number, hi: number): void {
    range.bytes = Math.ceil((range.bytes * (hi - lo + 1)) / (range.hi - range.lo + 1));
    range.lo = lo;
    range.hi = hi;
  }
}
