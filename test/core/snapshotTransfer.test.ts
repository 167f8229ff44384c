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
  pr.snapshot = { index: 1, term: 1, chunk: 3, stalledTicks: 0, resends: 0, parked: false, holdTicks: 0 };
  return s;
}

const rejection = (term: number): AppendEntriesResponse => ({
  type: 'AppendEntriesResponse', term, success: false, matchIndex: 0, rejectedIndex: 1, conflictIndex: 1, conflictTerm: 0, seq: 1,
});

test('the first answer after two or more silent heartbeat ticks sends the awaited chunk again', () => {
  const s = leaderSendingSnapshotToN2();
  step(s, { kind: 'heartbeatTick', epoch: s.epoch });
  step(s, { kind: 'heartbeatTick', epoch: s.epoch });
  expect(msg(s, 'n2', rejection(s.term))).toContainEqual({ type: 'sendSnapshotChunk', to: 'n2', index: 1, term: 1, chunk: 3, leaderTerm: s.term, start: false });
  // Only once: the next answer follows no silence.
  expect(msg(s, 'n2', rejection(s.term)).filter((e) => e.type === 'sendSnapshotChunk')).toEqual([]);
});

describe('a chunk lost on the way is sent again: the transfer goes on where it stopped (issue 17 follow-up)', () => {
  const tick = (s: RaftState) => step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
  const chunks = (effects: readonly Effect[]) => effects.filter((e) => e.type === 'sendSnapshotChunk' || e.type === 'parkSnapshotTransfer');
  const progressOf2 = (s: RaftState) => (s.role.name === 'leader' ? s.role.progress.get('n2')! : undefined);

  test('a transfer with no chunk acknowledged for 10 heartbeat ticks while the follower answers heartbeats sends the awaited chunk again, and again 10 ticks later', () => {
    const s = leaderSendingSnapshotToN2();
    const effects: Effect[] = [];
    for (let i = 0; i < 20; i++) {
      effects.push(...tick(s));
      effects.push(...msg(s, 'n2', rejection(s.term))); // n2 answers every heartbeat: it is there
    }
    const again = { type: 'sendSnapshotChunk', to: 'n2', index: 1, term: 1, chunk: 3, leaderTerm: s.term, start: false };
    expect(chunks(effects)).toEqual([again, again]); // not chunk 0, and never parked
    expect(progressOf2(s)).toMatchObject({ snapshot: { chunk: 3, parked: false }, snapshotChunksResent: 2 });
  });

  test('a follower that answered only early in the stall gets the chunk again at the stall, and is parked at the next one if it stays silent', () => {
    const s = leaderSendingSnapshotToN2();
    const fx = (n: number) => Array.from({ length: n }, () => tick(s)).flat();
    tick(s);
    msg(s, 'n2', rejection(s.term)); // answers the first tick's heartbeat, then nothing
    expect(chunks(fx(9))).toEqual([expect.objectContaining({ type: 'sendSnapshotChunk', chunk: 3 })]);
    expect(chunks(fx(10))).toEqual([{ type: 'parkSnapshotTransfer', to: 'n2' }]);
  });

  test('after a silence, the chunk sent again by the first answer counts as sent again; its acknowledgement moves the transfer on', () => {
    const s = leaderSendingSnapshotToN2();
    tick(s);
    tick(s);
    expect(chunks(msg(s, 'n2', rejection(s.term)))).toEqual([expect.objectContaining({ chunk: 3 })]);
    const ack = { type: 'InstallSnapshotResponse' as const, term: s.term, lastIncludedIndex: 1, chunk: 3, success: true, installed: false };
    expect(chunks(msg(s, 'n2', ack))).toEqual([expect.objectContaining({ chunk: 4 })]);
    expect(chunks(msg(s, 'n2', ack))).toEqual([]); // the second acknowledgement of chunk 3 (it had arrived): a duplicate
    expect(progressOf2(s)).toMatchObject({ snapshot: { chunk: 4 }, snapshotChunksResent: 1 });
  });

  test('each start of a transfer is counted (FollowerProgress.snapshotTransfers), a start over too', () => {
    const s = makeState({ log: [1, 1, 1, 1, 1] });
    elect(s);
    step(s, { kind: 'snapshotTaken', index: 5, term: 1, compactUpTo: 5 });
    msg(s, 'n3', { ...rejection(s.term), rejectedIndex: 5, conflictIndex: 1 });
    const pr = () => (s.role.name === 'leader' ? s.role.progress.get('n3')! : undefined);
    expect(pr()).toMatchObject({ snapshotTransfers: 1, snapshotChunksResent: 0 });
    msg(s, 'n3', { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: 5, chunk: 0, success: false, installed: false }); // it forgot the transfer
    expect(pr()).toMatchObject({ snapshotTransfers: 2, snapshot: { chunk: 0 } });
  });
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

  test('the first answer after it was parked starts the transfer over from chunk 0, once (the follower is back; its reader was released)', () => {
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

describe('a loss the transport reports sends the awaited chunk again at the next tick (eighth pass)', () => {
  const tick = (s: RaftState) => step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
  const chunks = (effects: readonly Effect[]) => effects.filter((e) => e.type === 'sendSnapshotChunk' || e.type === 'parkSnapshotTransfer');
  const lost = (s: RaftState) => step(s, { kind: 'messagesLost', to: 'n2' }).list;
  const progressOf2 = (s: RaftState) => (s.role.name === 'leader' ? s.role.progress.get('n2')! : undefined);

  test('nothing is sent when the loss is reported, however often; the awaited chunk goes again, once, at the next tick, counted as resent', () => {
    const s = leaderSendingSnapshotToN2();
    msg(s, 'n2', rejection(s.term)); // it answers heartbeats
    expect([...lost(s), ...lost(s), ...lost(s)]).toEqual([]);
    expect(chunks(tick(s))).toEqual([{ type: 'sendSnapshotChunk', to: 'n2', index: 1, term: 1, chunk: 3, leaderTerm: s.term, start: false }]);
    expect(chunks(tick(s))).toEqual([]);
    expect(progressOf2(s)).toMatchObject({ snapshot: { chunk: 3, parked: false }, snapshotChunksResent: 1 });
  });

  test('a chunk acknowledged after the report (it was not the one lost) is not sent again: the next one went after the loss', () => {
    const s = leaderSendingSnapshotToN2();
    lost(s);
    msg(s, 'n2', { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: 1, chunk: 3, success: true, installed: false });
    expect(chunks(tick(s))).toEqual([]);
  });

  test('a follower silent since the tick before is not sent the chunk at a report (the silence rules handle it); a parked transfer stays parked', () => {
    const s = leaderSendingSnapshotToN2();
    tick(s); // no answer since
    lost(s);
    expect(chunks(tick(s))).toEqual([]);
    for (let i = 0; i < 7; i++) tick(s);
    expect(chunks(tick(s))).toEqual([{ type: 'parkSnapshotTransfer', to: 'n2' }]); // the 10th silent tick, as without the report
    msg(s, 'n2', { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: 1, chunk: 0, success: false, installed: false }); // an answer: starts over...
    expect(progressOf2(s)!.snapshot).toMatchObject({ chunk: 0, parked: false });
    for (let i = 0; i < 10; i++) tick(s); // ...parked again after 10 silent ticks
    lost(s);
    expect(chunks([...tick(s), ...tick(s)])).toEqual([]);
    expect(progressOf2(s)!.snapshot).toMatchObject({ parked: true });
  });
});

describe('a transfer whose awaited chunk is never acknowledged is given up, visibly, and started over after a growing wait (eighth pass)', () => {
  const tick = (s: RaftState) => step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
  const chunks = (effects: readonly Effect[]) => effects.filter((e) => e.type === 'sendSnapshotChunk' || e.type === 'parkSnapshotTransfer');
  const progressOf2 = (s: RaftState) => (s.role.name === 'leader' ? s.role.progress.get('n2')! : undefined);
  const ack = (s: RaftState, chunk: number, more: object = {}) =>
    msg(s, 'n2', { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: 1, chunk, success: true, installed: false, ...more });

  /** Ticks `n` times, n2 answering every heartbeat; the chunk and park effects. */
  function answeringTicks(s: RaftState, n: number): Effect[] {
    const effects: Effect[] = [];
    for (let i = 0; i < n; i++) {
      effects.push(...tick(s));
      effects.push(...msg(s, 'n2', rejection(s.term)));
    }
    return chunks(effects);
  }

  /** n2 answers heartbeats but never acknowledges chunk 3: five resends (every 10 ticks), then the transfer is given up at the 60th tick. */
  function givenUp() {
    const s = leaderSendingSnapshotToN2();
    const resend = expect.objectContaining({ type: 'sendSnapshotChunk', chunk: 3 });
    expect(answeringTicks(s, 59)).toEqual([resend, resend, resend, resend, resend]);
    expect(answeringTicks(s, 1)).toEqual([{ type: 'parkSnapshotTransfer', to: 'n2' }]);
    expect(progressOf2(s)).toMatchObject({ snapshot: { chunk: 3, parked: true, abandoned: true }, snapshotChunksResent: 5, snapshotTransfersAbandoned: 1 });
    return s;
  }

  test('five resends of the same chunk with no acknowledgement, then it is parked (its reader released) and counted', () => {
    givenUp();
  });

  test('with a loss reported before every tick, the five resends go at five ticks in a row, and the sixth tick gives up', () => {
    const s = leaderSendingSnapshotToN2();
    const effects: Effect[] = [];
    for (let i = 0; i < 6; i++) {
      msg(s, 'n2', rejection(s.term));
      step(s, { kind: 'messagesLost', to: 'n2' });
      effects.push(...tick(s));
    }
    expect(chunks(effects).map((e) => e.type)).toEqual([...Array(5).fill('sendSnapshotChunk'), 'parkSnapshotTransfer']);
    expect(progressOf2(s)).toMatchObject({ snapshotTransfersAbandoned: 1 });
  });

  test('its answers start it over only after 10 ticks, then after 20 once given up again, and so on; an install ends the run of give-ups', () => {
    const s = givenUp();
    expect(answeringTicks(s, 9)).toEqual([]); // answered every tick, yet not started over
    expect(answeringTicks(s, 1)).toEqual([expect.objectContaining({ chunk: 0, start: true })]); // at the answer after the 10th
    ack(s, 0);
    ack(s, 1);
    ack(s, 2); // chunk 3 awaited again, never acknowledged
    expect(answeringTicks(s, 60)).toContainEqual({ type: 'parkSnapshotTransfer', to: 'n2' });
    expect(progressOf2(s)).toMatchObject({ snapshotTransfersAbandoned: 2 });
    expect(answeringTicks(s, 19)).toEqual([]);
    expect(answeringTicks(s, 1)).toEqual([expect.objectContaining({ chunk: 0, start: true })]);
    msg(s, 'n2', { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: 1, chunk: 0, success: true, installed: true });
    expect(progressOf2(s)).toMatchObject({ snapshot: null, snapshotAbandonsInARow: 0, snapshotTransfersAbandoned: 2 });
  });

  test('the wait stops doubling at 320 ticks', () => {
    const s = leaderSendingSnapshotToN2();
    progressOf2(s)!.snapshotAbandonsInARow = 9;
    answeringTicks(s, 60);
    expect(progressOf2(s)!.snapshot).toMatchObject({ parked: true, holdTicks: 320 });
  });

  test('a follower that acknowledges each chunk, however late, is never given up: each acknowledgement starts the count over', () => {
    const s = leaderSendingSnapshotToN2();
    for (let chunk = 3; chunk < 10; chunk++) {
      expect(answeringTicks(s, 50).filter((e) => e.type === 'parkSnapshotTransfer')).toEqual([]); // five resends of each, the most before a give-up
      ack(s, chunk);
    }
    expect(progressOf2(s)).toMatchObject({ snapshot: { chunk: 10, parked: false }, snapshotChunksResent: 35, snapshotTransfersAbandoned: 0 });
  });

  test('a follower restoring its state machine from the last chunk answers its repeats with `installing`: not given up, however long the restore', () => {
    const s = leaderSendingSnapshotToN2();
    const effects: Effect[] = [];
    for (let i = 0; i < 50; i++) {
      const fx = answeringTicks(s, 10); // the awaited (last) chunk is sent again every 10 ticks...
      effects.push(...fx);
      if (fx.length > 0) ack(s, 3, { installing: true }); // ...and answered: installing
    }
    expect(effects.filter((e) => e.type === 'parkSnapshotTransfer')).toEqual([]);
    expect(progressOf2(s)).toMatchObject({ snapshot: { chunk: 3, parked: false }, snapshotTransfersAbandoned: 0 });
  });

  test('a resend of chunk 0 is no start: the runtime sends the kept chunk, reading nothing', () => {
    const s = leaderSendingSnapshotToN2();
    progressOf2(s)!.snapshot!.chunk = 0;
    expect(answeringTicks(s, 10)).toEqual([expect.objectContaining({ chunk: 0, start: false })]);
  });
});
