/**
 * `maxUncommittedBytes`: a leader refuses proposals while the commands in its log not yet
 * committed, or not yet durable on its own disk, hold that many bytes, so that a client
 * proposing faster than followers persist, or than the leader's own disk that hangs,
 * cannot grow the leader's log without end.
 */
import { onSnapshotTaken } from '../../src/core/snapshots';
import { step } from '../../src/core/step';
import { RaftState } from '../../src/core/state';
import { EntryKind } from '../../src/messages/entry';
import { elect, makeState, msg, ok, sent } from './helpers';

/** n1 leads term 1 with its no-op (index 1) committed; proposals of 10+ uncommitted bytes are refused. */
function leader(): RaftState {
  const s = makeState({ options: { maxUncommittedBytes: 10 } });
  elect(s);
  commit(s, 1);
  return s;
}

/** Everything up to `index` durable here and on n2: committed. */
function commit(s: RaftState, index: number): void {
  step(s, { kind: 'persisted', index, term: s.term });
  msg(s, 'n2', ok(s.term, index));
  expect(s.commitIndex).toBe(index);
}

function propose(s: RaftState, bytes: number) {
  const fx = step(s, { kind: 'propose', commands: [{ kind: EntryKind.Command, data: new Uint8Array(bytes) }], tokens: ['t'], requestId: 1 }).list;
  return fx.find((e) => e.type === 'proposalsAppended' || e.type === 'proposalsRefused');
}

/** Proposes one turn's commands of these sizes, with tokens 'a', 'b', ...; returns the proposal effects in order. */
function proposeTurn(s: RaftState, sizes: readonly number[]) {
  const commands = sizes.map((bytes, i) => ({ kind: EntryKind.Command, data: new Uint8Array(bytes).fill(i) }));
  const tokens = sizes.map((_, i) => String.fromCharCode(97 + i));
  const fx = step(s, { kind: 'propose', commands, tokens, requestId: 1 }).list;
  return fx.filter((e) => e.type === 'proposalsAppended' || e.type === 'proposalsRefused' || e.type === 'persistEntries');
}

function forwarded(s: RaftState, requestId: number, ...sizes: number[]) {
  const commands = sizes.map((bytes) => ({ kind: EntryKind.Command, data: new Uint8Array(bytes) }));
  const fx = msg(s, 'n2', { type: 'ProposeRequest', term: s.term, requestId, commands });
  return sent(fx).find((m) => m.message.type === 'ProposeResponse')?.message;
}

describe('maxUncommittedBytes', () => {
  test('a leader refuses proposals that would take its uncommitted commands past the limit, appending nothing; commits make room again', () => {
    const s = leader();
    expect(propose(s, 6)).toMatchObject({ type: 'proposalsAppended', firstIndex: 2 });
    expect(propose(s, 6)).toEqual({ type: 'proposalsRefused', tokens: ['t'], overloaded: true });
    expect(s.log.lastIndex).toBe(2);
    expect(propose(s, 4)).toMatchObject({ type: 'proposalsAppended', firstIndex: 3 }); // exactly at the limit
    commit(s, 3);
    expect(propose(s, 6)).toMatchObject({ type: 'proposalsAppended', firstIndex: 4 });
  });

  test('a command over the limit is taken when nothing is uncommitted, so that it can make progress', () => {
    const s = leader();
    expect(propose(s, 50)).toMatchObject({ type: 'proposalsAppended', firstIndex: 2 });
    expect(propose(s, 1)).toMatchObject({ type: 'proposalsRefused', overloaded: true });
  });

  test("a leader appends the longest prefix of a turn's commands that fits, in order, and refuses the rest; the tokens split the same way", () => {
    const s = leader();
    propose(s, 6); // index 2
    // 6 + 3 + 1 = 10 fits; + 2 does not, and the 1 byte after it is refused too (a prefix, never a selection)
    const fx = proposeTurn(s, [3, 1, 2, 1]);
    expect(fx.map((e) => e.type)).toEqual(['persistEntries', 'proposalsAppended', 'proposalsRefused']);
    expect(fx[0]).toMatchObject({ entries: [{ index: 3, data: new Uint8Array([0, 0, 0]) }, { index: 4, data: new Uint8Array([1]) }] });
    expect(fx[1]).toEqual({ type: 'proposalsAppended', tokens: ['a', 'b'], firstIndex: 3, term: 1 });
    expect(fx[2]).toEqual({ type: 'proposalsRefused', tokens: ['c', 'd'], overloaded: true });
    expect(s.log.lastIndex).toBe(4); // a refused command is never appended
  });

  test('a turn whose commands all fit is one append, and one whose first command does not fit is refused whole', () => {
    const s = leader();
    propose(s, 6);
    expect(proposeTurn(s, [2, 2]).map((e) => e.type)).toEqual(['persistEntries', 'proposalsAppended']);
    expect(proposeTurn(s, [1, 1])).toEqual([{ type: 'proposalsRefused', tokens: ['a', 'b'], overloaded: true }]);
    expect(s.log.lastIndex).toBe(4);
  });

  test('when nothing is uncommitted, a turn gets the prefix that fits, and at least its first command however large', () => {
    const s = leader();
    expect(proposeTurn(s, [4, 4, 4]).slice(1)).toEqual([
      { type: 'proposalsAppended', tokens: ['a', 'b'], firstIndex: 2, term: 1 },
      { type: 'proposalsRefused', tokens: ['c'], overloaded: true },
    ]);
    commit(s, 3);
    expect(proposeTurn(s, [50, 1]).slice(1)).toEqual([
      { type: 'proposalsAppended', tokens: ['a'], firstIndex: 4, term: 1 },
      { type: 'proposalsRefused', tokens: ['b'], overloaded: true },
    ]);
    expect(s.log.lastIndex).toBe(4);
  });

  test('a forwarded request is taken or refused whole: refused when only part of it fits, taken whole when nothing is uncommitted', () => {
    const s = leader();
    propose(s, 6);
    expect(forwarded(s, 42, 3, 2)).toMatchObject({ type: 'ProposeResponse', success: false, overloaded: true });
    expect(s.log.lastIndex).toBe(2);
    commit(s, 2);
    expect(forwarded(s, 43, 8, 8)).toMatchObject({ type: 'ProposeResponse', success: true, firstIndex: 3, overloaded: false });
    expect(s.log.lastIndex).toBe(4);
  });

  test('a forwarded request refused for the limit is answered overloaded, and stays refused when the network delivers it again', () => {
    const s = leader();
    propose(s, 6);
    expect(forwarded(s, 42, 6)).toMatchObject({ type: 'ProposeResponse', success: false, overloaded: true });
    commit(s, 2);
    expect(forwarded(s, 42, 6)).toMatchObject({ type: 'ProposeResponse', success: false, overloaded: true });
    expect(s.log.lastIndex).toBe(2);
    expect(forwarded(s, 43, 6)).toMatchObject({ type: 'ProposeResponse', success: true, firstIndex: 3, overloaded: false });
  });

  test('the count forgets committed entries even once compacted away', () => {
    const s = leader();
    propose(s, 6);
    commit(s, 2);
    onSnapshotTaken(s, 2, 1, 2);
    expect(s.log.entry(2)).toBeUndefined();
    expect(propose(s, 6)).toMatchObject({ type: 'proposalsAppended', firstIndex: 3 });
    expect(propose(s, 6)).toMatchObject({ type: 'proposalsRefused', overloaded: true });
  });

  test("a leader whose own disk hangs counts what it has not written though its followers committed it, and refuses past the limit; its writes make room again", () => {
    const s = leader();
    expect(propose(s, 6)).toMatchObject({ type: 'proposalsAppended', firstIndex: 2 });
    msg(s, 'n2', ok(s.term, 2));
    msg(s, 'n3', ok(s.term, 2));
    expect(s.commitIndex).toBe(2); // committed on the followers' copies, as Raft allows
    expect(s.durableIndex).toBe(1); // but not written here: held in memory until it is
    expect(propose(s, 6)).toEqual({ type: 'proposalsRefused', tokens: ['t'], overloaded: true }); // was: appended, without end
    expect(forwarded(s, 42, 6)).toMatchObject({ type: 'ProposeResponse', success: false, overloaded: true });
    expect(s.log.lastIndex).toBe(2);
    step(s, { kind: 'persisted', index: 2, term: s.term });
    expect(propose(s, 6)).toMatchObject({ type: 'proposalsAppended', firstIndex: 3 });
  });

  test('a follower that cannot forward refuses as not leader, not overloaded', () => {
    const s = makeState({ id: 'n3', options: { maxUncommittedBytes: 10 } });
    expect(propose(s, 1)).toEqual({ type: 'proposalsRefused', tokens: ['t'], overloaded: false });
  });
});
