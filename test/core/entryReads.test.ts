/**
 * The bounded in-memory log (issue 17 item 2), rule by rule: entries durable and applied
 * leave memory beyond `logCacheBytes` (their terms stay); a follower that needs entries
 * no longer in memory is served through a `readEntries` effect and the `entriesRead`
 * event it brings back, not through a snapshot; what is not durable or not applied is
 * never evicted.
 */
import type { Effect } from '../../src/core/effects';
import type { ProtocolOptions, RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import type { Entry } from '../../src/messages/entry';
import type { AppendEntries } from '../../src/messages/types';
import { elect, entriesAt, makeState, msg, ok, types } from './helpers';

/** n1 leads term 2 over a log of 20 entries of term 1 and its no-op at 21, all durable, committed and applied. */
function leaderWithAppliedLog(cacheBytes = 0, options: Partial<ProtocolOptions> = {}): RaftState {
  const s = makeState({ term: 1, log: Array(20).fill(1), options: { logCacheBytes: cacheBytes, ...options } });
  elect(s);
  step(s, { kind: 'persisted', index: 21, term: 2 });
  msg(s, 'n2', ok(2, 21));
  expect(s.commitIndex).toBe(21);
  step(s, { kind: 'applied', index: 21 });
  return s;
}

/** n3 answers the leader's probe: its log ends at `last` (entries of the leader's). */
function n3LogEndsAt(s: RaftState, last: number): Effect[] {
  if (s.role.name !== 'leader') throw new Error('n1 must lead');
  const pr = s.role.progress.get('n3')!;
  return msg(s, 'n3', { type: 'AppendEntriesResponse', term: s.term, success: false, matchIndex: 0, rejectedIndex: pr.next - 1, conflictIndex: last + 1, conflictTerm: 0, seq: 0 });
}

/** n3 answers the leader's first probe: its log is empty. */
const n3IsEmpty = (s: RaftState): Effect[] => n3LogEndsAt(s, 0);

const reads = (effects: readonly Effect[]) => effects.filter((e): e is Extract<Effect, { type: 'readEntries' }> => e.type === 'readEntries');
const appendsTo = (peer: string, effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === 'send' && e.to === peer && e.message.type === 'AppendEntries' ? [e.message] : [])) as AppendEntries[];
/** What storage would return for [from, end): the leader's log as it was written. */
const stored = (from: number, end: number, term: (i: number) => number = (i) => (i <= 20 ? 1 : 2)): Entry[] =>
  Array.from({ length: end - from }, (_, i) => entriesAt(from + i, [term(from + i)])[0]);

describe('the in-memory log holds what is not durable or not applied, and a cache of the rest', () => {
  test('entries durable and applied are evicted beyond logCacheBytes; their terms stay', () => {
    const s = leaderWithAppliedLog(0);
    expect([s.log.cachedFrom, s.log.heldEntries, s.log.firstIndex]).toEqual([22, 0, 1]);
    expect(s.log.termAt(7)).toBe(1);
    expect(s.log.termAt(21)).toBe(2);
  });

  test('an entry not yet durable here, or durable but not yet applied, is never evicted', () => {
    const s = leaderWithAppliedLog(0);
    step(s, { kind: 'propose', commands: [{ kind: 1, data: new Uint8Array([9]) }, { kind: 1, data: new Uint8Array([9]) }], tokens: [1, 2], requestId: 1 });
    msg(s, 'n2', ok(2, 23)); // a majority without the leader's own write: not durable here, not committed
    expect(s.log.cachedFrom).toBe(22);
    step(s, { kind: 'persisted', index: 23, term: 2 }); // durable and committed, handed to the application
    expect([s.commitIndex, s.applyingIndex, s.appliedIndex]).toEqual([23, 23, 21]);
    expect(s.log.cachedFrom).toBe(22);
    step(s, { kind: 'applied', index: 22 });
    expect(s.log.cachedFrom).toBe(23);
    step(s, { kind: 'applied', index: 23 });
    expect(s.log.cachedFrom).toBe(24);
  });

  test('the cache keeps the newest entries within logCacheBytes, evicting once it passes it by a quarter', () => {
    // Each entry counts 1 byte of payload and 64 of overhead: 65 bytes.
    const s = leaderWithAppliedLog(10 * 65);
    expect(s.log.heldEntries).toBe(10); // 21 entries held > 12.5 entries' worth: evicted down to 10
    expect(s.log.cachedFrom).toBe(12);
    for (let i = 0; i < 2; i++) step(s, { kind: 'propose', commands: [{ kind: 1, data: new Uint8Array([i]) }], tokens: [i], requestId: i });
    step(s, { kind: 'persisted', index: 23, term: 2 });
    msg(s, 'n2', ok(2, 23));
    step(s, { kind: 'applied', index: 23 });
    expect(s.log.heldEntries).toBe(12); // 12 × 65 = 780 <= 812: within the quarter of slack
    step(s, { kind: 'propose', commands: [{ kind: 1, data: new Uint8Array([3]) }], tokens: [3], requestId: 3 });
    step(s, { kind: 'persisted', index: 24, term: 2 });
    msg(s, 'n2', ok(2, 24));
    step(s, { kind: 'applied', index: 24 });
    expect([s.log.heldEntries, s.log.cachedFrom]).toEqual([10, 15]);
  });
});

describe('a leader serves a follower behind its memory from storage', () => {
  test('it asks storage for the entries (readEntries), up to where memory starts, and sends nothing else to it meanwhile', () => {
    const s = leaderWithAppliedLog(0);
    const fx = n3IsEmpty(s);
    expect(reads(fx)).toEqual([{ type: 'readEntries', to: 'n3', from: 1, end: 22, maxBytes: 1 << 20, leaderTerm: 2 }]);
    expect(appendsTo('n3', fx)).toEqual([]);
    // A heartbeat tick meanwhile: a heartbeat goes, no second read.
    const tick = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    expect(reads(tick)).toEqual([]);
    expect(appendsTo('n3', tick).map((m) => m.entries.length)).toEqual([0]);
  });

  test('the entries read go out as the AppendEntries the follower needs; once it matches, replication streams on', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    const fx = step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 22) }).list;
    const [probe] = appendsTo('n3', fx);
    expect([probe.prevLogIndex, probe.prevLogTerm, probe.entries.map((e) => e.index)]).toEqual([0, 0, stored(1, 22).map((e) => e.index)]);
    expect(reads(fx)).toEqual([]); // probing: one message until it is answered
    // The follower accepts; new entries in memory stream to it from there.
    step(s, { kind: 'propose', commands: [{ kind: 1, data: new Uint8Array([7]) }], tokens: [1], requestId: 1 });
    const after = msg(s, 'n3', ok(2, 21));
    expect(appendsTo('n3', after).map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)])).toEqual([[21, [22]]]);
  });

  test('maxEntriesPerMessage bounds the read and what is sent of it', () => {
    const s = makeState({ term: 1, log: Array(20).fill(1), options: { logCacheBytes: 0, maxEntriesPerMessage: 5 } });
    elect(s);
    step(s, { kind: 'persisted', index: 21, term: 2 });
    msg(s, 'n2', ok(2, 21));
    step(s, { kind: 'applied', index: 21 });
    const fx = n3IsEmpty(s);
    expect(reads(fx).map((r) => [r.from, r.end])).toEqual([[1, 6]]);
    const sent = appendsTo('n3', step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 22) }).list);
    expect(sent.map((m) => m.entries.length)).toEqual([5]);
  });

  test('an answer that is no longer wanted is dropped: another term, another start, or the follower moved on', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    expect(step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 1, entries: stored(1, 22) }).list).toEqual([]);
    expect(step(s, { kind: 'entriesRead', to: 'n3', from: 5, leaderTerm: 2, entries: stored(5, 22) }).list).toEqual([]);
    expect(step(s, { kind: 'entriesRead', to: 'n2', from: 1, leaderTerm: 2, entries: stored(1, 22) }).list).toEqual([]);
    // n3 turns out to hold entries up to 21 (an answer to an earlier message): the read is not sent,
    // and n3 is served from where it is now.
    msg(s, 'n3', ok(2, 21));
    const fx = step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 22) }).list;
    expect(appendsTo('n3', fx).flatMap((m) => m.entries)).toEqual([]);
    expect(reads(fx)).toEqual([]);
  });

  test('a leader that stepped down drops the answer', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    msg(s, 'n2', { type: 'AppendEntries', term: 3, leaderId: 'n2', prevLogIndex: 21, prevLogTerm: 2, entries: [], leaderCommit: 21, seq: 1 });
    expect(s.role.name).toBe('follower');
    expect(step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 22) }).list.filter((e) => e.type === 'send')).toEqual([]);
  });

  test('a failed read is asked again at the next heartbeat tick', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    expect(step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: null }).list).toEqual([]);
    expect(reads(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list).map((r) => r.from)).toEqual([1]);
  });

  test('entries read that disagree with the log are not sent; the read is asked again at the tick', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    const fx = step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 22, () => 7) }).list;
    expect(appendsTo('n3', fx)).toEqual([]);
    expect(reads(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list).map((r) => r.from)).toEqual([1]);
  });

  test('a read unanswered for stallTicks heartbeat ticks is asked again', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    const asked = [1, 2, 3].map(() => reads(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list).length);
    expect(asked).toEqual([0, 0, 1]); // stallTicks 2: dropped at the third tick
  });

  test('entries compacted away from storage too: a failed read is followed by the snapshot', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    step(s, { kind: 'snapshotTaken', index: 21, term: 2, compactUpTo: 21 }); // storage compacted while the read ran
    step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: null });
    const fx = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    expect(types(fx)).toContain('sendSnapshotChunk');
    expect(reads(fx)).toEqual([]);
  });
});

describe('a replicating follower behind memory is read ahead of its window (issue 17: one message per read never caught up)', () => {
  /** The AppendEntries to n3 in `effects`, as [prevLogIndex, entry indexes]. */
  const sentTo3 = (effects: readonly Effect[]) => appendsTo('n3', effects).map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)]);
  const readsOf = (effects: readonly Effect[]) => reads(effects).map((r) => [r.from, r.end, r.maxBytes]);
  const progressOf3 = (s: RaftState) => {
    if (s.role.name !== 'leader') throw new Error('n1 must lead');
    return s.role.progress.get('n3')!;
  };

  test('a read spans a whole window; its entries go out as several AppendEntries, each cut as from memory, and the window is refilled from what was read ahead', () => {
    const s = leaderWithAppliedLog(0, { maxEntriesPerMessage: 4, maxInflight: 3, maxInflightBytes: 1000 });
    // Probed: one message's worth.
    expect(readsOf(n3IsEmpty(s))).toEqual([[1, 5, 1 << 20]]);
    expect(sentTo3(step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 5) }).list)).toEqual([[0, [1, 2, 3, 4]]]);
    // Replicating: maxInflight messages of maxEntriesPerMessage, within maxInflightBytes.
    expect(readsOf(msg(s, 'n3', ok(2, 4)))).toEqual([[5, 17, 1000]]);
    const fx = step(s, { kind: 'entriesRead', to: 'n3', from: 5, leaderTerm: 2, entries: stored(5, 17) }).list;
    expect(sentTo3(fx)).toEqual([[4, [5, 6, 7, 8]], [8, [9, 10, 11, 12]], [12, [13, 14, 15, 16]]]);
    expect(readsOf(fx)).toEqual([[17, 22, 1000]]); // the window is full: the next read runs meanwhile
    expect(sentTo3(step(s, { kind: 'entriesRead', to: 'n3', from: 17, leaderTerm: 2, entries: stored(17, 22) }).list)).toEqual([]);
    expect(progressOf3(s).readAhead.map((e) => e.index)).toEqual([17, 18, 19, 20, 21]);
    // One message acknowledged: the window's room goes out from what was read ahead, without waiting on storage.
    const acked = msg(s, 'n3', ok(2, 8));
    expect(sentTo3(acked)).toEqual([[16, [17, 18, 19, 20]]]);
    expect(readsOf(acked)).toEqual([]); // 21 is the last entry not in memory, and it is read already
  });

  test('what is read ahead stays within maxInflightBytes (storage may return one entry beyond): the rest is read again', () => {
    const s = leaderWithAppliedLog(0, { maxEntriesPerMessage: 100, maxBytesPerMessage: 2, maxInflightBytes: 6 });
    n3IsEmpty(s);
    expect(sentTo3(step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 4) }).list)).toEqual([[0, [1, 2]]]);
    expect(readsOf(msg(s, 'n3', ok(2, 2)))).toEqual([[3, 22, 6]]);
    const fx = step(s, { kind: 'entriesRead', to: 'n3', from: 3, leaderTerm: 2, entries: stored(3, 10) }).list;
    expect(sentTo3(fx)).toEqual([[2, [3, 4]], [4, [5, 6]], [6, [7, 8]]]);
    expect(readsOf(fx)).toEqual([[9, 22, 6]]); // entry 9 was the seventh byte: not kept
    step(s, { kind: 'entriesRead', to: 'n3', from: 9, leaderTerm: 2, entries: stored(9, 16) });
    expect([progressOf3(s).readAhead.map((e) => e.index), progressOf3(s).readAheadBytes]).toEqual([[9, 10, 11, 12, 13, 14], 6]);
    // Room for one message: sent from readAhead; a read starts once it holds less than half of maxInflightBytes.
    const first = msg(s, 'n3', ok(2, 4));
    expect([sentTo3(first), readsOf(first)]).toEqual([[[8, [9, 10]]], []]);
    const second = msg(s, 'n3', ok(2, 6));
    expect([sentTo3(second), readsOf(second)]).toEqual([[[10, [11, 12]]], [[15, 22, 4]]]);
  });

  test('the first entry of a read is kept even past maxInflightBytes: dropping it asked the same read again while the window stayed full', () => {
    const s = leaderWithAppliedLog(0, { maxEntriesPerMessage: 4, maxInflight: 1, maxInflightBytes: 10, maxBytesPerMessage: 10 });
    const sized = (index: number, bytes: number): Entry[] => [{ ...stored(index, index + 1)[0], data: new Uint8Array(bytes) }];
    n3IsEmpty(s);
    step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 2) });
    expect(readsOf(msg(s, 'n3', ok(2, 1)))).toEqual([[2, 6, 10]]);
    expect(readsOf(step(s, { kind: 'entriesRead', to: 'n3', from: 2, leaderTerm: 2, entries: stored(2, 3) }).list)).toEqual([[3, 7, 10]]); // 2 sent: the window is full
    expect(readsOf(step(s, { kind: 'entriesRead', to: 'n3', from: 3, leaderTerm: 2, entries: sized(3, 4) }).list)).toEqual([[4, 7, 6]]); // 4 bytes < half, 1 entry < half of 4
    const fx = step(s, { kind: 'entriesRead', to: 'n3', from: 4, leaderTerm: 2, entries: sized(4, 7) }).list;
    expect(readsOf(fx)).toEqual([]);
    expect([progressOf3(s).readAhead.map((e) => e.index), progressOf3(s).readAheadBytes]).toEqual([[3, 4], 11]);
  });

  test('a follower probed again, or sent a snapshot, drops what was read ahead for it', () => {
    const s = leaderWithAppliedLog(0, { maxEntriesPerMessage: 4, maxInflight: 1, maxInflightBytes: 1000 });
    n3IsEmpty(s);
    step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 5) });
    msg(s, 'n3', ok(2, 4));
    step(s, { kind: 'entriesRead', to: 'n3', from: 5, leaderTerm: 2, entries: stored(5, 9) }); // 5..8 sent
    step(s, { kind: 'entriesRead', to: 'n3', from: 9, leaderTerm: 2, entries: stored(9, 13) }); // 9..12 read ahead
    expect(progressOf3(s).readAheadBytes).toBe(4);
    progressOf3(s).becomeProbing(5);
    expect([progressOf3(s).readAhead, progressOf3(s).readAheadBytes]).toEqual([[], 0]);
  });

  test('what is read ahead stays within a window in entries too (maxInflight × maxEntriesPerMessage): tiny entries do not fill it by the hundred thousand', () => {
    // 60 entries of one byte, all evicted: a window of 3 messages of 4 entries holds 12 bytes, far below maxInflightBytes.
    const s = makeState({ term: 1, log: Array(60).fill(1), options: { logCacheBytes: 0, maxEntriesPerMessage: 4, maxInflight: 3, maxInflightBytes: 1 << 20 } });
    elect(s);
    step(s, { kind: 'persisted', index: 61, term: 2 });
    msg(s, 'n2', ok(2, 61));
    step(s, { kind: 'applied', index: 61 });
    const read = (from: number, end: number) => step(s, { kind: 'entriesRead', to: 'n3', from, leaderTerm: 2, entries: stored(from, end, (i) => (i <= 60 ? 1 : 2)) }).list;
    n3IsEmpty(s);
    read(1, 2);
    expect(readsOf(msg(s, 'n3', ok(2, 1)))).toEqual([[2, 14, 1 << 20]]);
    expect(readsOf(read(2, 14))).toEqual([[14, 26, 1 << 20]]); // 2..13 sent, the window is full: a whole window's entries read ahead
    expect(readsOf(read(14, 26))).toEqual([]); // 12 held: no more until fewer than half of 12
    expect(progressOf3(s).readAhead.length).toBe(12);
    // Two messages acknowledged, refilled from readAhead: 4 left, so the next read tops it up to 12.
    const acked = msg(s, 'n3', ok(2, 9));
    expect(sentTo3(acked)).toEqual([[13, [14, 15, 16, 17]], [17, [18, 19, 20, 21]]]);
    expect(readsOf(acked)).toEqual([[26, 34, (1 << 20) - 4]]);
  });

  test('the bytes the reads brought back are counted (FollowerProgress.storageReadBytes)', () => {
    const s = leaderWithAppliedLog(0);
    n3IsEmpty(s);
    step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 22) });
    expect([progressOf3(s).storageReads, progressOf3(s).storageReadBytes]).toEqual([1, 21]);
  });
});

describe('a follower that does not answer costs the leader no reads from storage (issue 17)', () => {
  const tick = (s: RaftState) => step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
  const progressOf3 = (s: RaftState) => {
    if (s.role.name !== 'leader') throw new Error('n1 must lead');
    return s.role.progress.get('n3')!;
  };

  /** n3 holds 1..10 and is probed from 11, behind memory: one read, one probe carrying 11..21; then n3 says nothing more. */
  function n3ProbedFrom11(): RaftState {
    const s = leaderWithAppliedLog(0);
    expect(reads(n3LogEndsAt(s, 10)).map((r) => r.from)).toEqual([11]);
    const probe = appendsTo('n3', step(s, { kind: 'entriesRead', to: 'n3', from: 11, leaderTerm: 2, entries: stored(11, 22) }).list);
    expect(probe.map((m) => [m.prevLogIndex, m.entries.length])).toEqual([[10, 11]]);
    return s;
  }

  /** Ticks `n` times with a loss reported before every other tick; returns every effect. */
  function silence(s: RaftState, n: number): Effect[] {
    const fx: Effect[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) fx.push(...step(s, { kind: 'messagesLost', to: 'n3' }).list);
      fx.push(...tick(s));
    }
    return fx;
  }

  test('a probe repeated to a follower silent since the last one goes without entries: no read, however many stalls and loss reports', () => {
    const s = n3ProbedFrom11();
    const fx = silence(s, 40);
    expect(reads(fx)).toEqual([]);
    const probes = appendsTo('n3', fx).filter((m) => m.prevLogIndex === 10);
    expect(probes.length).toBeGreaterThanOrEqual(10); // probed again and again (stallTicks 2, and the reports)
    expect(probes.every((m) => m.entries.length === 0)).toBe(true);
    expect(progressOf3(s).storageReads).toBe(1);
  });

  test('an empty probe that matches starts the stream at once: the entries are read when the follower answers it', () => {
    const s = n3ProbedFrom11();
    silence(s, 6);
    const answered = msg(s, 'n3', ok(2, 10));
    expect(progressOf3(s).probing).toBe(false);
    expect(reads(answered).map((r) => [r.from, r.end])).toEqual([[11, 22]]);
  });

  test('an empty probe that is refused is followed by a probe with entries from where the follower’s log ends', () => {
    const s = n3ProbedFrom11();
    silence(s, 6);
    expect(reads(n3LogEndsAt(s, 5)).map((r) => r.from)).toEqual([6]);
    const probe = appendsTo('n3', step(s, { kind: 'entriesRead', to: 'n3', from: 6, leaderTerm: 2, entries: stored(6, 22) }).list);
    expect(probe.map((m) => [m.prevLogIndex, m.entries.length])).toEqual([[5, 16]]);
  });

  test('a follower that answers anything (a heartbeat) is probed again with entries: one whose probe was lost loses no round trip', () => {
    const s = n3ProbedFrom11();
    tick(s);
    msg(s, 'n3', ok(2, 0)); // the heartbeat's answer (at match 0): n3 is up, the probe was lost
    const fx = tick(s); // stallTicks 2: probed again
    expect(reads(fx).map((r) => r.from)).toEqual([11]);
    expect(progressOf3(s).storageReads).toBe(2);
  });

  test('a stream that stalls is probed once with entries (one read), then without while the follower stays silent', () => {
    const s = leaderWithAppliedLog(0, { maxEntriesPerMessage: 4, maxInflight: 1, maxInflightBytes: 1000 });
    n3IsEmpty(s);
    step(s, { kind: 'entriesRead', to: 'n3', from: 1, leaderTerm: 2, entries: stored(1, 5) });
    msg(s, 'n3', ok(2, 4)); // replicating from 5
    step(s, { kind: 'entriesRead', to: 'n3', from: 5, leaderTerm: 2, entries: stored(5, 22) }); // 5..8 sent, 9..21 read ahead
    expect(progressOf3(s).storageReads).toBe(2);
    // n3 falls silent: the stall probes it from 5, read once, then sends empty probes only.
    const fx: Effect[] = [];
    for (let i = 0; i < 40; i++) {
      const turn = tick(s);
      fx.push(...turn);
      for (const r of reads(turn)) fx.push(...step(s, { kind: 'entriesRead', to: 'n3', from: r.from, leaderTerm: 2, entries: stored(r.from, r.end) }).list);
    }
    expect(reads(fx).map((r) => r.from)).toEqual([5]);
    const sent = appendsTo('n3', fx);
    expect(sent.filter((m) => m.entries.length > 0).map((m) => [m.prevLogIndex, m.entries.length])).toEqual([[4, 4]]);
    expect(sent.filter((m) => m.prevLogIndex === 4).length).toBeGreaterThanOrEqual(40 + 10); // a heartbeat (at match 4) each tick, and the probes
  });
});
