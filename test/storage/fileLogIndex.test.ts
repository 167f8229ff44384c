import { FileLogIndex } from '../../src/storage/fileLogIndex';

describe('FileLogIndex', () => {
  /** Every row, walked from the first indexed entry. */
  const rows = (index: FileLogIndex) => {
    const out: [number, number, number, number][] = [];
    for (let i = index.firstIndex ?? 1; ; ) {
      const row = index.locate(i);
      if (!row) break;
      out.push([row.first, row.last, row.sequence, row.offset]);
      i = row.last + 1;
    }
    return out;
  };

  test('locates every indexed entry in its record, one row per record', () => {
    const index = new FileLogIndex();
    index.add(1, 10, 1, 16, 100);
    index.add(11, 11, 1, 136, 30);
    index.add(12, 40, 2, 16, 500);
    expect(index.size).toBe(3);
    expect([index.firstIndex, index.lastIndex]).toEqual([1, 40]);
    expect(index.locate(1)).toEqual({ first: 1, last: 10, sequence: 1, offset: 16, length: 100 });
    expect(index.locate(10)!.offset).toBe(16);
    expect(index.locate(11)!.offset).toBe(136);
    expect(index.locate(25)).toEqual({ first: 12, last: 40, sequence: 2, offset: 16, length: 500 });
    expect(index.locate(0)).toBeNull();
    expect(index.locate(41)).toBeNull();
  });

  test('a record starting inside the log replaces the suffix: whole rows go, a row cut in part keeps its prefix', () => {
    const index = new FileLogIndex();
    index.add(1, 10, 1, 16, 100);
    index.add(11, 20, 1, 136, 100);
    index.add(21, 30, 2, 16, 100);
    index.add(15, 16, 2, 136, 40);
    expect(rows(index)).toEqual([[1, 10, 1, 16], [11, 14, 1, 136], [15, 16, 2, 136]]);
    expect(index.locate(17)).toBeNull();
    index.add(11, 11, 2, 196, 30);
    expect(rows(index)).toEqual([[1, 10, 1, 16], [11, 11, 2, 196]]);
  });

  test('a record after a gap, or before the start, starts the index anew (replay after compaction)', () => {
    const index = new FileLogIndex();
    index.add(5, 10, 1, 16, 100);
    index.add(20, 25, 2, 16, 100);
    expect(rows(index)).toEqual([[20, 25, 2, 16]]);
    index.add(3, 4, 3, 16, 50);
    expect(rows(index)).toEqual([[3, 4, 3, 16]]);
  });

  test('compaction drops rows wholly compacted and rows of segments before the first live one', () => {
    const index = new FileLogIndex();
    for (let i = 0; i < 3000; i++) index.add(i * 10 + 1, i * 10 + 10, 1 + Math.floor(i / 100), 16 + (i % 100) * 120, 100);
    index.compact(25, 1);
    expect(index.firstIndex).toBe(21);
    expect(index.size).toBe(2998);
    index.compact(20_000, 1); // reclaims the dropped rows
    expect(index.size).toBe(1000);
    expect(index.locate(20_001)!.first).toBe(20_001);
    expect(index.locate(20_000)).toBeNull();
    index.compact(0, 25); // segments before 25 discarded: rows of 21.. stay
    expect(index.firstIndex).toBe(24_001);
    index.compact(0, 31);
    expect([index.size, index.firstIndex, index.lastIndex]).toEqual([0, null, null]);
  });

  test('locateRange lists the records holding a range in log order; clear forgets every row', () => {
    const index = new FileLogIndex();
    index.add(1, 10, 1, 16, 100);
    index.add(11, 20, 1, 136, 100);
    index.add(21, 30, 2, 16, 100);
    expect(index.locateRange(5, 22).map((r) => [r.first, r.last, r.sequence])).toEqual([[1, 10, 1], [11, 20, 1], [21, 30, 2]]);
    expect(index.locateRange(12, 13).map((r) => r.offset)).toEqual([136]);
    expect(index.locateRange(12, 12)).toEqual([]);
    expect(() => index.locateRange(25, 32)).toThrow(RangeError);
    index.clear();
    expect([index.size, index.firstIndex, index.lastIndex]).toEqual([0, null, null]);
    index.add(40, 41, 3, 16, 20);
    expect(index.locate(40)!.sequence).toBe(3);
  });

  test('a record with no entries is refused', () => {
    expect(() => new FileLogIndex().add(5, 4, 1, 16, 4)).toThrow(RangeError);
  });
});
