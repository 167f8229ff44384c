/**
 * A snapshot transfer interrupted by a partition resumes on the follower's first answer
 * (Raft dissertation ch. 5, with §3.10's deadline in mind: a leadership transfer to that
 * follower must not wait for the stall timeout).
 */
import { step } from '../../src/core/step';
import type { AppendEntriesResponse } from '../../src/messages/types';
import { elect, makeState, msg } from './helpers';

function leaderSendingSnapshotToN2() {
  const s = makeState({ log: [1] });
  elect(s);
  const pr = (s.role as { progress: Map<string, { snapshot: unknown }> }).progress.get('n2')!;
  pr.snapshot = { index: 1, term: 1, chunk: 3, stalledTicks: 0 };
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
