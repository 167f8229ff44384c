/**
 * `maxUncommittedBytes`: a leader refuses proposals while the commands in its log not yet
 * committed hold that many bytes, so that a client proposing faster than followers
 * persist cannot grow the leader's log without end.
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

function forwarded(s: RaftState, requestId: number, bytes: number) {
  const fx = msg(s, 'n2', { type: 'ProposeRequest', term: s.term, requestId, commands: [{ kind: EntryKind.Command, data: new Uint8Array(bytes) }] });
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

  test('a batch over the limit is taken when nothing is uncommitted, so that it can make progress', () => {
    const s = leader();
    expect(propose(s, 50)).toMatchObject({ type: 'proposalsAppended', firstIndex: 2 });
    expect(propose(s, 1)).toMatchObject({ type: 'proposalsRefused', overloaded: true });
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

  test('a follower that cannot forward refuses as not leader, not overloaded', () => {
    const s = makeState({ id: 'n3', options: { maxUncommittedBytes: 10 } });
    expect(propose(s, 1)).toEqual({ type: 'proposalsRefused', tokens: ['t'], overloaded: false });
  });
});
