import { OutcomeRing } from '../../examples/kv/outcomeRing';

describe('OutcomeRing: the KV store\'s recent outcomes by log index', () => {
  it('holds nothing before its first record, then starts small and grows while the entries it recorded span more than it holds, keeping every one of them', () => {
    const ring = new OutcomeRing(1024, 16);
    expect([ring.capacity, ring.outcomeAt(5), ring.hashAt(5)]).toEqual([0, undefined, undefined]);
    ring.record(5, 5 % 7, 5 * 3);
    expect(ring.capacity).toBe(16);
    for (let index = 5; index < 5 + 300; index++) ring.record(index, index % 7, index * 3);
    expect(ring.capacity).toBe(512);
    for (let index = 5; index < 5 + 300; index++) expect([ring.outcomeAt(index), ring.hashAt(index)]).toEqual([index % 7, index * 3]);
    expect(ring.outcomeAt(4)).toBeUndefined();
    expect(ring.hashAt(305)).toBeUndefined();
  });

  it('never grows past its window: an entry a window later takes the older one\'s slot', () => {
    const ring = new OutcomeRing(64, 16);
    for (let index = 1; index <= 64; index++) ring.record(index, 1, index);
    ring.record(65, 2, 65);
    expect(ring.capacity).toBe(64);
    expect(ring.outcomeAt(1)).toBeUndefined();
    expect([ring.outcomeAt(2), ring.outcomeAt(65)]).toEqual([1, 2]);
  });

  it('clear forgets everything and lets its arrays go; bad sizes are refused', () => {
    const ring = new OutcomeRing(1024, 16);
    for (let index = 1; index <= 100; index++) ring.record(index, 1, index);
    ring.clear();
    expect([ring.capacity, ring.outcomeAt(50)]).toEqual([0, undefined]);
    ring.record(1000, 3, 1);
    expect([ring.capacity, ring.outcomeAt(1000)]).toEqual([16, 3]);
    expect(() => new OutcomeRing(1000)).toThrow(RangeError);
    expect(() => new OutcomeRing(16, 32)).toThrow(RangeError);
  });
});
