/**
 * The leader's cache and its followers' windows (issue 17, large entries), rule by rule:
 * an entry a replicating follower has not acknowledged stays in memory beyond
 * `logCacheBytes`, so a follower one window behind the other is sent entries from
 * memory, not read back from storage; the hard cap `logCacheBytes + maxInflightBytes`
 * (of committed entries: the uncommitted ones are held anyway) still bounds memory, and past it a follower far behind is served from storage
 * and pins nothing more until it is back in memory; a follower being probed pins nothing.
 */
import type { Effect } from '../../src/core/effects';
import type { ProtocolOptions, RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import type { AppendEntries } from '../../src/messages/types';
import { command, elect, makeState, msg, ok } from './helpers';

/** Each entry here counts 1 byte of payload and 64 of overhead against the cache. */
const ENTRY = 65;

/**
 * n1 leads term 2 over 20 entries of term 1 and its no-op at 21, durable, committed and
 * applied; n2 and n3 both replicate from 21 (both answered).
 */
function leaderWithTwoReplicatingFollowers(options: Partial<ProtocolOptions>): RaftState {
  const s = makeState({ term: 1, log: Array(20).fill(1), options: { logCacheBytes: 0, ...options } });
  elect(s);
  step(s, { kind: 'persisted', index: 21, term: 2 });
  msg(s, 'n2', ok(2, 21));
  msg(s, 'n3', ok(2, 21));
  step(s, { kind: 'applied', index: 21 });
  expect(s.commitIndex).toBe(21);
  return s;
}

/** Proposes `count` one-byte commands, one step each; returns every effect. */
function propose(s: RaftState, count: number): Effect[] {
  const out: Effect[] = [];
  for (let i = 0; i < count; i++) out.push(...step(s, { kind: 'propose', commands: [command(i)], tokens: [i], requestId: i }).list);
  return out;
}

/** n1's write and n2's acknowledgement of everything up to `index` commit it; the application applies it. */
function commitWithN2(s: RaftState, index: number): void {
  step(s, { kind: 'persisted', index, term: 2 });
  msg(s, 'n2', ok(2, index));
  step(s, { kind: 'applied', index });
  expect(s.appliedIndex).toBe(index);
}

const reads = (effects: readonly Effect[]) => effects.filter((e) => e.type === 'readEntries');
const appendsTo = (peer: string, effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === 'send' && e.to === peer && e.message.type === 'AppendEntries' ? [e.message] : [])) as AppendEntries[];

describe('issue 17: the leader keeps what a replicating follower still needs, within a hard cap', () => {
  test('an entry n3 has not acknowledged stays in memory past logCacheBytes, though n2 and the leader committed and applied it', () => {
    // A window of one message: n3 is sent 22, and 23 waits for its answer.
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1 });
    expect(appendsTo('n3', propose(s, 2)).map((m) => m.entries.map((e) => e.index))).toEqual([[22]]);
    step(s, { kind: 'persisted', index: 23, term: 2 });
    msg(s, 'n2', ok(2, 22)); // frees n2's window: 23 goes to n2
    commitWithN2(s, 23);
    // Durable and applied, logCacheBytes 0: only n3 (match 21) keeps 22 and 23 in memory.
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([22, 2]);
  });

  test('so n3, one window behind, is sent the next entries from memory: an AppendEntries, no read from storage', () => {
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1 });
    propose(s, 2);
    step(s, { kind: 'persisted', index: 23, term: 2 });
    msg(s, 'n2', ok(2, 22));
    commitWithN2(s, 23);
    const fx = msg(s, 'n3', ok(2, 22));
    expect(reads(fx)).toEqual([]);
    expect(appendsTo('n3', fx).map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)])).toEqual([[22, [23]]]);
    // Acknowledged by everyone now, 22 leaves memory; 23 waits for n3's answer.
    expect(s.log.cachedFrom).toBe(23);
    msg(s, 'n3', ok(2, 23));
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([24, 0]);
  });

  test('past logCacheBytes + maxInflightBytes the oldest go all the same: memory stays bounded however far n3 lags', () => {
    // Cap: 0 + 4 × 65 bytes; n3 never answers (a window of one message keeps it at 22).
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1, maxInflightBytes: 4 * ENTRY });
    propose(s, 10);
    commitWithN2(s, 31);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([28, 4]);
    expect(s.log.heldBytes + s.log.heldEntries * 64).toBeLessThanOrEqual(4 * ENTRY);
  });

  test('uncommitted entries do not count against the cap: a follower one window behind the majority stays in memory however many proposals are in flight', () => {
    // Cap: 0 + 4 × 65 bytes of committed entries. 10 proposed; n2 and the leader commit 22..25, 26..31 are uncommitted
    // (more than the cap on their own, as 256 proposals of 64 KiB are more than 4 + 8 MiB).
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1, maxInflightBytes: 4 * ENTRY });
    propose(s, 10);
    step(s, { kind: 'persisted', index: 31, term: 2 });
    commitWithN2(s, 25);
    expect(s.commitIndex).toBe(25);
    // n3 (sent 22, nothing acknowledged) still finds 23.. in memory: no read from storage.
    expect(s.log.cachedFrom).toBe(22);
    const fx = msg(s, 'n3', ok(2, 22));
    expect(reads(fx)).toEqual([]);
    expect(appendsTo('n3', fx).map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)])).toEqual([[22, [23, 24, 25, 26, 27, 28, 29, 30, 31]]]);
    // Committed entries past the cap go all the same: n2 commits up to 31, n3 stays at 22.
    commitWithN2(s, 31);
    expect(s.log.heldBytes + s.log.heldEntries * 64).toBeLessThanOrEqual(5 * ENTRY); // the cap and its quarter of slack
  });

  test('a follower past the cap is served from storage (readEntries), as one that is far behind must be', () => {
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1, maxInflightBytes: 4 * ENTRY });
    propose(s, 10);
    commitWithN2(s, 31);
    const fx = msg(s, 'n3', ok(2, 22)); // n3 needs 23, evicted past the cap
    expect(reads(fx)).toEqual([{ type: 'readEntries', to: 'n3', from: 23, end: 28, maxBytes: 4 * ENTRY, leaderTerm: 2 }]); // its window's room
    expect(appendsTo('n3', fx).flatMap((m) => m.entries)).toEqual([]); // only the commit notice, no entries
  });

  test('a follower fallen past the cap pins nothing more: no committed entry is kept for it until it is back in memory', () => {
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1, maxInflightBytes: 4 * ENTRY });
    propose(s, 10);
    commitWithN2(s, 31);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([28, 4]); // the cap, for n3 (match 21): 22.. are gone already
    propose(s, 1);
    commitWithN2(s, 32);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([33, 0]); // logCacheBytes 0: n3 is read from storage anyway
    // n3 catches up (from storage): what it has not acknowledged is held for it again.
    msg(s, 'n3', ok(2, 32));
    propose(s, 1);
    commitWithN2(s, 33);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([33, 1]);
  });

  test('a follower being probed (it may be down) pins nothing: the cache is back to logCacheBytes', () => {
    const s = makeState({ term: 1, log: Array(20).fill(1), options: { logCacheBytes: 0 } });
    elect(s);
    step(s, { kind: 'persisted', index: 21, term: 2 });
    msg(s, 'n2', ok(2, 21)); // n3 never answers: it stays probing
    step(s, { kind: 'applied', index: 21 });
    propose(s, 3);
    commitWithN2(s, 24);
    expect([s.log.cachedFrom, s.log.heldEntries]).toEqual([25, 0]);
  });

  test('every read from storage for a follower is counted (FollowerProgress.storageReads)', () => {
    const s = leaderWithTwoReplicatingFollowers({ maxInflight: 1, maxInflightBytes: 4 * ENTRY });
    propose(s, 10);
    commitWithN2(s, 31);
    msg(s, 'n3', ok(2, 22));
    if (s.role.name !== 'leader') throw new Error('n1 must lead');
    expect([s.role.progress.get('n3')!.storageReads, s.role.progress.get('n2')!.storageReads]).toEqual([1, 0]);
  });
});
