/**
 * The cache of durable, applied entries on a node that does not lead (issue 17): it serves
 * no follower, so it keeps at most `NOT_LEADING_CACHE_BYTES` whatever `logCacheBytes`
 * allows; a leader keeps `logCacheBytes`.
 */
import { ENTRY_OVERHEAD_BYTES, NOT_LEADING_CACHE_BYTES } from '../../src/core/logCache';
import type { RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import { elect, makeState, msg, ok } from './helpers';

/** Entries here are 1 byte of payload: this many pass `NOT_LEADING_CACHE_BYTES` twice over. */
const COUNT = Math.ceil((2 * NOT_LEADING_CACHE_BYTES) / (1 + ENTRY_OVERHEAD_BYTES));
const heldBytes = (s: RaftState) => s.log.heldBytes + s.log.heldEntries * ENTRY_OVERHEAD_BYTES;

/** Acknowledges every `apply` the engine hands out until `index` is applied. */
function applyThrough(s: RaftState, index: number): void {
  while (s.appliedIndex < index) {
    expect(s.applyingIndex).toBeGreaterThan(s.appliedIndex);
    step(s, { kind: 'applied', index: s.applyingIndex });
  }
}

describe('the cache of a node that does not lead', () => {
  test('a follower keeps at most NOT_LEADING_CACHE_BYTES of durable, applied entries, though logCacheBytes allows more', () => {
    const s = makeState({ term: 1, log: Array(COUNT).fill(1), options: { logCacheBytes: 4 << 20 } }); // durable at start
    msg(s, 'n2', { type: 'AppendEntries', term: 1, leaderId: 'n2', prevLogIndex: COUNT, prevLogTerm: 1, entries: [], leaderCommit: COUNT, seq: 0 });
    applyThrough(s, COUNT);
    expect(s.role.name).toBe('follower');
    expect(heldBytes(s)).toBeLessThanOrEqual(NOT_LEADING_CACHE_BYTES * 1.25); // the budget and its quarter of slack
    expect(heldBytes(s)).toBeGreaterThan(NOT_LEADING_CACHE_BYTES / 2); // the most recent ones stay
    expect(s.log.cachedFrom + s.log.heldEntries - 1).toBe(COUNT);
    expect(s.log.entry(COUNT)?.index).toBe(COUNT);
  });

  test('a leader keeps logCacheBytes of them', () => {
    const s = makeState({ term: 1, log: Array(COUNT).fill(1), options: { logCacheBytes: 4 << 20 } });
    elect(s);
    step(s, { kind: 'persisted', index: COUNT + 1, term: 2 });
    msg(s, 'n2', ok(2, COUNT + 1));
    msg(s, 'n3', ok(2, COUNT + 1));
    applyThrough(s, COUNT + 1);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([1, COUNT + 1]); // all of them: less than 4 MiB
  });
});
