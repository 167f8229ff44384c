/**
 * The cache of durable, applied entries while no follower can need it (issue 17): a node
 * that does not lead, or a leader whose followers all replicate, keeps at most
 * `UNNEEDED_CACHE_BYTES` whatever `logCacheBytes` allows; a leader with a follower that
 * does not replicate keeps `logCacheBytes`.
 */
import { ENTRY_OVERHEAD_BYTES, UNNEEDED_CACHE_BYTES } from '../../src/core/logCache';
import type { RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import { elect, makeState, msg, ok } from './helpers';

/** Entries here are 1 byte of payload: this many pass `UNNEEDED_CACHE_BYTES` twice over (and stay under 4 MiB). */
const COUNT = Math.ceil((2 * UNNEEDED_CACHE_BYTES) / (1 + ENTRY_OVERHEAD_BYTES));
const heldBytes = (s: RaftState) => s.log.heldBytes + s.log.heldEntries * ENTRY_OVERHEAD_BYTES;
/** The budget and its quarter of slack (`maybeEvict`). */
const SMALL_CACHE = UNNEEDED_CACHE_BYTES * 1.25;

/** Acknowledges every `apply` the engine hands out until `index` is applied. */
function applyThrough(s: RaftState, index: number): void {
  while (s.appliedIndex < index) {
    expect(s.applyingIndex).toBeGreaterThan(s.appliedIndex);
    step(s, { kind: 'applied', index: s.applyingIndex });
  }
}

/** n1 leads term 2 over COUNT entries of term 1 (durable at start), its no-op durable too, with `logCacheBytes` 4 MiB. */
function leader(): RaftState {
  const s = makeState({ term: 1, log: Array(COUNT).fill(1), options: { logCacheBytes: 4 << 20 } });
  elect(s);
  step(s, { kind: 'persisted', index: COUNT + 1, term: 2 });
  return s;
}

describe('the log cache while no follower can need it', () => {
  test('a follower keeps at most UNNEEDED_CACHE_BYTES of durable, applied entries, though logCacheBytes allows more', () => {
    const s = makeState({ term: 1, log: Array(COUNT).fill(1), options: { logCacheBytes: 4 << 20 } }); // durable at start
    msg(s, 'n2', { type: 'AppendEntries', term: 1, leaderId: 'n2', prevLogIndex: COUNT, prevLogTerm: 1, entries: [], leaderCommit: COUNT, seq: 0 });
    applyThrough(s, COUNT);
    expect(s.role.name).toBe('follower');
    expect(heldBytes(s)).toBeLessThanOrEqual(SMALL_CACHE);
    expect(heldBytes(s)).toBeGreaterThan(UNNEEDED_CACHE_BYTES / 2); // the most recent ones stay
    expect(s.log.cachedFrom + s.log.heldEntries - 1).toBe(COUNT);
  });

  test('a leader whose followers both replicate and acknowledged everything keeps at most UNNEEDED_CACHE_BYTES', () => {
    const s = leader();
    msg(s, 'n2', ok(2, COUNT + 1));
    msg(s, 'n3', ok(2, COUNT + 1));
    applyThrough(s, COUNT + 1);
    expect(heldBytes(s)).toBeLessThanOrEqual(SMALL_CACHE);
    expect(s.log.cachedFrom + s.log.heldEntries - 1).toBe(COUNT + 1);
  });

  test('a leader with a follower still being probed keeps logCacheBytes: that follower may need entries from memory', () => {
    const s = leader();
    msg(s, 'n2', ok(2, COUNT + 1)); // n3 has not answered: probing
    applyThrough(s, COUNT + 1);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([1, COUNT + 1]); // all of them: less than 4 MiB
  });

  test('a logCacheBytes smaller than UNNEEDED_CACHE_BYTES is the budget everywhere', () => {
    const s = makeState({ term: 1, log: Array(COUNT).fill(1), options: { logCacheBytes: 10 * (1 + ENTRY_OVERHEAD_BYTES) } });
    msg(s, 'n2', { type: 'AppendEntries', term: 1, leaderId: 'n2', prevLogIndex: COUNT, prevLogTerm: 1, entries: [], leaderCommit: COUNT, seq: 0 });
    applyThrough(s, COUNT);
    expect(s.log.heldEntries).toBeLessThanOrEqual(12);
  });
});
