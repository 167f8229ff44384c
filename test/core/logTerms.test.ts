/**
 * The in-memory log keeps the terms of the whole log as runs, so entries evicted from
 * memory (`RaftLog.evictThrough`: durable and applied, served from storage) still answer
 * every question the protocol asks of their terms: the consistency check, the conflict
 * hints of fast back-tracking, the up-to-date check.
 */
import { RaftLog } from '../../src/core/log';
import { Entry, EntryKind } from '../../src/messages/entry';

/** Entries from `from` on, one per term in `terms`, each of 10 bytes. */
function entries(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, kind: EntryKind.Command, data: new Uint8Array(10) }));
}

/** termAt for every index from 0 to `to`. */
function terms(log: RaftLog, to: number): (number | undefined)[] {
  return Array.from({ length: to + 1 }, (_, i) => log.termAt(i));
}

describe('RaftLog term runs and eviction', () => {
  const TERMS = [1, 1, 1, 2, 2, 4, 4, 4, 4, 5];

  test('evicted entries keep their terms; only the held ones remain in memory', () => {
    const log = new RaftLog(entries(1, TERMS));
    const before = terms(log, 11);
    log.evictThrough(7);
    expect(terms(log, 11)).toEqual(before);
    expect([log.firstIndex, log.cachedFrom, log.lastIndex, log.lastTerm]).toEqual([1, 8, 10, 5]);
    expect([log.heldEntries, log.heldBytes]).toEqual([3, 30]);
    expect(log.termRuns).toBe(4);
    expect(log.entry(7)).toBeUndefined();
    expect(log.entry(8)!.index).toBe(8);
    expect(log.slice(5, 10)).toEqual([]); // evicted: the caller reads storage
    expect(log.slice(8, 10).map((e) => e.index)).toEqual([8, 9, 10]);
  });

  test('conflict hints come from the runs: first index of a term, last index of a term', () => {
    const log = new RaftLog(entries(1, TERMS));
    log.evictThrough(10);
    expect([log.firstIndexOfTerm(3), log.firstIndexOfTerm(5), log.firstIndexOfTerm(8), log.firstIndexOfTerm(10)]).toEqual([1, 4, 6, 10]);
    expect([1, 2, 3, 4, 5, 6].map((t) => log.lastIndexOfTerm(t))).toEqual([3, 5, 0, 9, 10, 0]);
    expect(log.isUpToDate(10, 5)).toBe(true);
    expect(log.isUpToDate(11, 4)).toBe(false);
  });

  test('a conflict truncation inside the evicted part keeps the terms before it, and the log continues', () => {
    const log = new RaftLog(entries(1, TERMS));
    log.evictThrough(8);
    log.truncateFrom(5);
    expect(terms(log, 6)).toEqual([0, 1, 1, 1, 2, undefined, undefined]);
    expect([log.lastIndex, log.cachedFrom, log.heldEntries, log.heldBytes]).toEqual([4, 5, 0, 0]);
    log.append(entries(5, [6, 6]));
    expect(terms(log, 7)).toEqual([0, 1, 1, 1, 2, 6, 6, undefined]);
    expect(log.slice(5, 6).map((e) => e.term)).toEqual([6, 6]);
    expect(log.lastIndexOfTerm(2)).toBe(4);
  });

  test('compaction cuts the runs at the new start; the snapshot answers its own index', () => {
    const log = new RaftLog(entries(1, TERMS));
    log.evictThrough(9);
    log.compact({ index: 7, term: 4 }, 5);
    expect(terms(log, 11)).toEqual([0, undefined, undefined, undefined, undefined, undefined, 4, 4, 4, 4, 5, undefined]);
    expect([log.firstIndex, log.cachedFrom]).toEqual([6, 10]);
    expect(log.firstIndexOfTerm(8)).toBe(6);
    expect(log.lastIndexOfTerm(2)).toBe(0);
    log.compact({ index: 10, term: 5 }, 10);
    expect(terms(log, 11)).toEqual([0, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 5, undefined]);
    expect([log.firstIndex, log.cachedFrom, log.heldEntries, log.termRuns]).toEqual([11, 11, 0, 0]);
    log.append(entries(11, [7]));
    expect([log.termAt(11), log.lastIndexOfTerm(5), log.lastIndexOfTerm(7)]).toEqual([7, 10, 11]);
  });

  test('a log shorter than the snapshot installed over it: reset, then the runs start afresh', () => {
    const log = new RaftLog(entries(1, TERMS));
    log.evictThrough(4);
    log.reset({ index: 20, term: 6 });
    expect([log.firstIndex, log.cachedFrom, log.lastIndex, log.lastTerm, log.termRuns]).toEqual([21, 21, 20, 6, 0]);
    expect(log.termAt(5)).toBeUndefined();
    log.append(entries(21, [6, 7]));
    expect(terms(log, 22).slice(20)).toEqual([6, 6, 7]);
  });

  test('runs stay few: one per change of term, however long the log', () => {
    const log = new RaftLog();
    for (let i = 0; i < 100; i++) log.append(entries(i * 1000 + 1, Array.from({ length: 1000 }, () => 1 + Math.floor(i / 10))));
    log.evictThrough(99_000);
    expect([log.termRuns, log.heldEntries]).toEqual([10, 1000]);
    expect(log.termAt(55_555)).toBe(6);
    expect(log.firstIndexOfTerm(55_555)).toBe(50_001);
  });
});
