/**
 * A snapshot transfer interrupted by a partition resumes on the follower's first answer
 * (Raft dissertation ch. 5, with §3.10's deadline in mind: a leadership transfer to that
 * follower must not wait for the stall timeout).
 */
import type { Effect } from '../../src/core/effects';
import type { RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import type { AppendEntriesResponse } from '../../src/messages/types';
import { elect, makeState, msg, ok, sent } from './helpers';

function leaderSendingSnapshotToN2() {
  const s = makeState({ log: [1] });
  elect(s);
  const pr = (s.role as { progress: Map<string, { snapshot: unknown }> }).progress.get('n2')!;
  pr.snapshot = { index: 1, term: 1, chunk: 3, stalledTicks: 0, parked: false };
  return s;
}

const rejection = (term: number): AppendEntriesResponse => ({
  type: 'AppendEntriesResponse', term, success: false, matchIndex: 0, rejectedIndex: 1, conflictIndex: 1, conflictTerm: 0, seq: 1,
});

test('the first answer after two or more silent heartbeat ticks sends the awaited chunk again', () => {
  const s = leaderSendingSnapshotToN2();
  step(s, { kind: 'heartbeatTick', epoch: s.epoch });
  step(s, { kind: 'heartbeatTick', epoch: s.epoch });
  expect(msg(s, 'n2', rejection(s.term))).toContainEqual({ type: 'sendSnapshotChunk', to: 'n2', index: 1, term: 1, chunk: 3, leaderTerm: s.term });
  // Only once: the next answer follows no silence.
  expect(msg(s, 'n2', rejection(s.term)).filter((e) => e.type === 'sendSnapshotChunk')).toEqual([]);
});

test('an answer after less than two silent ticks leaves the chunk in flight alone (a slow write is not interrupted)', () => {
  const s = leaderSendingSnapshotToN2();
  step(s, { kind: 'heartbeatTick', epoch: s.epoch });
  expect(msg(s, 'n2', rejection(s.term)).filter((e) => e.type === 'sendSnapshotChunk')).toEqual([]);
});

test('a snapshot read that fails right after its transfer started over is retried at the next heartbeat tick, not in a loop', () => {
  const s = leaderSendingSnapshotToN2();
  const pr = (s.role as { progress: Map<string, { snapshot: { chunk: number } | null }> }).progress.get('n2')!;
  // A read failing mid-transfer starts it over at once...
  expect(step(s, { kind: 'snapshotReadFailed', to: 'n2' }).list).toContainEqual(expect.objectContaining({ type: 'sendSnapshotChunk', chunk: 0 }));
  // ...but failing again before any tick (the snapshot cannot be read now) waits for the tick.
  expect(step(s, { kind: 'snapshotReadFailed', to: 'n2' }).list).toEqual([]);
  expect(pr.snapshot?.chunk).toBe(0);
  const tick = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
  expect(tick).toContainEqual(expect.objectContaining({ type: 'sendSnapshotChunk', to: 'n2', chunk: 0 }));
});

describe('a follower that answers nothing costs no snapshot reads: a stalled transfer is parked until it answers (issue 17)', () => {
  const tick = (s: ReturnType<typeof leaderSendingSnapshotToN2>) => step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
  const chunks = (effects: readonly Effect[]) => effects.filter((e) => e.type === 'sendSnapshotChunk');
  const parks = (effects: readonly Effect[]) => effects.filter((e) => e.type === 'parkSnapshotTransfer');
  const transferTo = (s: RaftState, peer: string) => (s.role.name === 'leader' ? s.role.progress.get(peer)!.snapshot : undefined);

  /** n1 sent chunk 3 to n2, then heard nothing for 10 ticks: parked. */
  function parkedAfterStall() {
    const s = leaderSendingSnapshotToN2();
    for (let i = 0; i < 9; i++) expect(parks(tick(s))).toEqual([]);
    const fx = tick(s);
    expect(parks(fx)).toEqual([{ type: 'parkSnapshotTransfer', to: 'n2' }]);
    expect(chunks(fx)).toEqual([]);
    expect(sent(fx).map((m) => m.to)).toContain('n2'); // the tick's heartbeat still goes to it
    return s;
  }

  test('a transfer with no chunk acknowledged for 10 heartbeat ticks is parked, and stays parked, reading nothing, while the follower is silent', () => {
    const s = parkedAfterStall();
    const later = Array.from({ length: 200 }, () => tick(s)).flat();
    expect([chunks(later), parks(later)]).toEqual([[], []]); // starting over every 10 ticks, 20 chunk-0 reads before
    expect(transferTo(s, 'n2')).toMatchObject({ parked: true, chunk: 3 });
  });

  test('the first answer after it was parked starts the transfer over from chunk 0, once (a live follower whose chunk was lost answers the heartbeat of the parking tick)', () => {
    const s = parkedAfterStall();
    expect(chunks(msg(s, 'n2', rejection(s.term)))).toEqual([expect.objectContaining({ type: 'sendSnapshotChunk', to: 'n2', chunk: 0 })]);
    expect(transferTo(s, 'n2')).toMatchObject({ parked: false, chunk: 0 });
    expect(chunks(msg(s, 'n2', rejection(s.term)))).toEqual([]);
  });

  test('an InstallSnapshot answer starts a parked transfer over too; one saying the snapshot is installed ends it', () => {
    const late = { type: 'InstallSnapshotResponse' as const, lastIncludedIndex: 1, chunk: 3, success: true };
    const s = parkedAfterStall();
    expect(chunks(msg(s, 'n2', { ...late, term: s.term, installed: false }))).toEqual([expect.objectContaining({ chunk: 0 })]);
    const t = parkedAfterStall();
    expect(chunks(msg(t, 'n2', { ...late, term: t.term, installed: true }))).toEqual([]);
    expect(transferTo(t, 'n2')).toBeNull();
  });

  test('a failed read reported after the transfer was parked does not start it over', () => {
    const s = parkedAfterStall();
    expect(step(s, { kind: 'snapshotReadFailed', to: 'n2' }).list).toEqual([]);
    expect(chunks(tick(s))).toEqual([]);
  });

  test('a follower that needs a snapshot and answered nothing since its last probe gets a parked transfer: no chunk is read until it answers', () => {
    const s = makeState({ log: [1, 1, 1, 1, 1] });
    elect(s); // n1 leads term 1 with entries 1..6 (6: its no-op), probing n3 at 5
    // n3's log is empty: probed from the start, then silent.
    msg(s, 'n3', { ...rejection(s.term), rejectedIndex: 5, conflictIndex: 1 });
    step(s, { kind: 'snapshotTaken', index: 5, term: 1, compactUpTo: 5 });
    const stalled = [tick(s), tick(s)].flat(); // stallTicks 2: the probe is repeated, and needs the snapshot now
    expect([chunks(stalled), parks(stalled)]).toEqual([[], [{ type: 'parkSnapshotTransfer', to: 'n3' }]]);
    expect(transferTo(s, 'n3')).toMatchObject({ index: 5, chunk: 0, parked: true });
    expect(chunks(Array.from({ length: 50 }, () => tick(s)).flat())).toEqual([]);
    expect(chunks(msg(s, 'n3', ok(s.term, 0)))).toEqual([expect.objectContaining({ to: 'n3', chunk: 0, index: 5 })]);
  });

  test('a follower that answered its last probe gets the snapshot at once', () => {
    const s = makeState({ log: [1, 1, 1, 1, 1] });
    elect(s);
    step(s, { kind: 'snapshotTaken', index: 5, term: 1, compactUpTo: 5 });
    const fx = msg(s, 'n3', { ...rejection(s.term), rejectedIndex: 5, conflictIndex: 1 });
    expect([chunks(fx), parks(fx)]).toEqual([[expect.objectContaining({ to: 'n3', chunk: 0, index: 5 })], []]);
  });
});
