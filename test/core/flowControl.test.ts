/**
 * Flow control per follower, in AppendEntries and in payload bytes (issue 17, item 1;
 * etcd's Inflights with MaxInflightMsgs and MaxInflightBytes): a leader keeps at most
 * `maxInflight` AppendEntries and `maxInflightBytes` payload bytes unacknowledged per
 * replicating follower, so bulk entries cannot fill the link that carries heartbeats.
 * Feed one event, compare what is sent.
 */
import type { AppendEntries } from '../../src/messages/types';
import { EntryKind } from '../../src/messages/entry';
import { step } from '../../src/core/step';
import type { RaftState } from '../../src/core/state';
import { elect, makeState, msg, ok, sent } from './helpers';

/** One entry per message, a window of 10 messages but only 3,000 payload bytes. */
const WINDOW = { maxEntriesPerMessage: 1, maxBytesPerMessage: 1000, maxInflight: 10, maxInflightBytes: 3000 };

/** A leader of term 1 whose follower n2 holds the no-op at 1 (replicating), n3 silent. */
function leaderReplicatingToN2(options: Partial<typeof WINDOW> = {}): RaftState {
  const s = makeState({ options: { ...WINDOW, ...options } });
  elect(s); // term 1, no-op at 1
  msg(s, 'n2', ok(1, 1));
  return s;
}

/** Proposes one command per size, in one turn; returns the AppendEntries sent to n2. */
function propose(s: RaftState, sizes: readonly number[]): AppendEntries[] {
  const commands = sizes.map((n) => ({ kind: EntryKind.Command, data: new Uint8Array(n) }));
  const fx = step(s, { kind: 'propose', commands, tokens: sizes.map((_, i) => i), requestId: 1 }).list;
  return toN2(fx);
}

function toN2(fx: ReturnType<typeof msg>): AppendEntries[] {
  return sent(fx).flatMap((m) => (m.to === 'n2' && m.message.type === 'AppendEntries' ? [m.message] : []));
}

const indexes = (messages: readonly AppendEntries[]) => messages.map((m) => m.entries.map((e) => e.index));

describe('flow control in bytes', () => {
  test('a replicating follower is paused by bytes in flight before the count of messages is reached', () => {
    const s = leaderReplicatingToN2();
    const out = propose(s, [1000, 1000, 1000, 1000, 1000]);
    expect(indexes(out)).toEqual([[2], [3], [4]]); // 3 × 1,000 bytes fill the window; 3 of 10 messages
  });

  test('one AppendEntries takes no more than the bytes left in the window', () => {
    const s = leaderReplicatingToN2({ maxEntriesPerMessage: 100, maxBytesPerMessage: 3000, maxInflightBytes: 4000 });
    const out = propose(s, [1000, 1000, 1000, 1000, 1000, 1000]);
    // A full message of 3,000 bytes, then one of the 1,000 bytes the window has left.
    expect(indexes(out)).toEqual([[2, 3, 4], [5]]);
  });

  test('an acknowledgement frees the bytes of what it acknowledges, and the next entries go', () => {
    const s = leaderReplicatingToN2();
    propose(s, [1000, 1000, 1000, 1000, 1000]);
    expect(indexes(toN2(msg(s, 'n2', ok(1, 2))))).toEqual([[5]]);
    expect(indexes(toN2(msg(s, 'n2', ok(1, 4))))).toEqual([[6]]); // frees 2 × 1,000; only entry 6 remains
  });

  test('a single entry larger than maxInflightBytes still goes, alone, when nothing else is in flight', () => {
    const s = leaderReplicatingToN2();
    expect(indexes(propose(s, [10_000, 10, 10]))).toEqual([[2]]); // the window is over-full: 10,000 of 3,000
    expect(indexes(toN2(msg(s, 'n2', ok(1, 2))))).toEqual([[3], [4]]);
  });

  test('an entry larger than the room left waits until the window is empty, then goes alone', () => {
    const s = leaderReplicatingToN2();
    expect(indexes(propose(s, [1000, 5000, 10]))).toEqual([[2]]); // 2,000 left; 5,000 does not fit
    expect(indexes(toN2(msg(s, 'n2', ok(1, 2))))).toEqual([[3]]);
    expect(indexes(toN2(msg(s, 'n2', ok(1, 3))))).toEqual([[4]]);
  });

  test('the count limit still holds for small entries', () => {
    const s = leaderReplicatingToN2({ maxInflight: 2 });
    expect(indexes(propose(s, [1, 1, 1, 1]))).toEqual([[2], [3]]);
  });

  test('heartbeats go to a follower whose window is full (§5.2: they keep it from campaigning)', () => {
    const s = leaderReplicatingToN2();
    propose(s, [1000, 1000, 1000, 1000]);
    const heartbeats = toN2(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list).filter((m) => m.entries.length === 0);
    expect(heartbeats).toHaveLength(1);
    expect(heartbeats[0]).toMatchObject({ term: 1, leaderId: 'n1', prevLogIndex: 1 });
  });

  test('falling back to probing forgets the bytes in flight', () => {
    const s = leaderReplicatingToN2();
    propose(s, [1000, 1000, 1000, 1000]);
    if (s.role.name !== 'leader') throw new Error('n1 must lead');
    const pr = s.role.progress.get('n2')!;
    expect(pr.inflightBytes).toBe(3000);
    pr.becomeProbing(2);
    expect(pr.inflightBytes).toBe(0);
    expect(pr.inflight).toEqual([]);
  });
});
