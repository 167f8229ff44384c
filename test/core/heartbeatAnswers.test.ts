/**
 * A follower answers a request with nothing new to write (a heartbeat, a repeat) at
 * once, not behind the writes in progress, claiming only what is durable — when its
 * current term is durable. Rule by rule: feed one event, compare the effects.
 */
import { step } from '../../src/core/step';
import type { AppendEntries } from '../../src/messages/types';
import { elect, entriesAt, makeState, msg, sent } from './helpers';

const append = (fields: Partial<AppendEntries> & { term: number }): AppendEntries => ({
  type: 'AppendEntries', leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0, ...fields,
});

/** A follower of n2 in term 2 (durable) holding entries 1–2 durably and 3–5 still being written. */
function writingFollower() {
  const s = makeState({ term: 2, log: [1, 1] });
  msg(s, 'n2', append({ term: 2, prevLogIndex: 2, prevLogTerm: 1, entries: entriesAt(3, [2, 2, 2]), seq: 1 }));
  expect(s.durableIndex).toBe(2);
  return s;
}

describe('heartbeat answers do not wait behind writes', () => {
  test('a heartbeat while entries are being written is answered at once, with match = what is durable', () => {
    const s = writingFollower();
    const [answer] = sent(msg(s, 'n2', append({ term: 2, prevLogIndex: 5, prevLogTerm: 2, seq: 2 })));
    expect(answer).toEqual({ to: 'n2', afterPersist: false, message: expect.objectContaining({ success: true, matchIndex: 2, seq: 2 }) });
  });

  test('once the entries are durable, a heartbeat claims them', () => {
    const s = writingFollower();
    step(s, { kind: 'persisted', index: 5, term: 2 });
    const [answer] = sent(msg(s, 'n2', append({ term: 2, prevLogIndex: 5, prevLogTerm: 2, seq: 3 })));
    expect(answer.message).toMatchObject({ success: true, matchIndex: 5 });
    expect(answer.afterPersist).toBe(false);
  });

  test('it never claims past the request: match is at most prevLogIndex + entries', () => {
    const s = writingFollower();
    step(s, { kind: 'persisted', index: 5, term: 2 });
    const [answer] = sent(msg(s, 'n2', append({ term: 2, prevLogIndex: 3, prevLogTerm: 2, seq: 3 })));
    expect(answer.message).toMatchObject({ success: true, matchIndex: 3 });
  });

  test('a request with new entries is still answered only after they are durable, claiming all of them', () => {
    const s = writingFollower();
    const [answer] = sent(msg(s, 'n2', append({ term: 2, prevLogIndex: 5, prevLogTerm: 2, entries: entriesAt(6, [2]), seq: 4 })));
    expect(answer).toMatchObject({ afterPersist: true, message: { success: true, matchIndex: 6 } });
  });

  test('a heartbeat of a term not yet durable here waits for the hard state, then the next is answered at once', () => {
    const s = makeState({ term: 2, log: [1, 1] });
    const [first] = sent(msg(s, 'n2', append({ term: 3, prevLogIndex: 2, prevLogTerm: 1, seq: 1 })));
    expect(s.term).toBe(3);
    expect(first).toMatchObject({ afterPersist: true, message: { term: 3, success: true, matchIndex: 2 } });
    step(s, { kind: 'hardStateSaved', term: 3, votedFor: null });
    const [next] = sent(msg(s, 'n2', append({ term: 3, prevLogIndex: 2, prevLogTerm: 1, seq: 2 })));
    expect(next).toMatchObject({ afterPersist: false, message: { term: 3, success: true, matchIndex: 2 } });
  });

  test('a rejection still waits behind the writes', () => {
    const s = writingFollower();
    const [answer] = sent(msg(s, 'n2', append({ term: 2, prevLogIndex: 9, prevLogTerm: 2, seq: 5 })));
    expect(answer).toMatchObject({ afterPersist: true, message: { success: false } });
  });
});

describe('the leader takes a partial acknowledgement for what it says', () => {
  test('an answer claiming less than the follower acknowledged before (a heartbeat answered before its writes) never moves match down', () => {
    const s = makeState({ log: [1, 1] });
    s.startedAt = -1000;
    elect(s); // term 1 → 2; n2's vote, then its ack of the no-op below
    msg(s, 'n2', { type: 'AppendEntriesResponse', term: s.term, success: true, matchIndex: 3, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0, seq: 0 });
    const pr = s.role.name === 'leader' ? s.role.progress.get('n2')! : null;
    expect(pr).not.toBeNull();
    const next = pr!.next;
    msg(s, 'n2', { type: 'AppendEntriesResponse', term: s.term, success: true, matchIndex: 2, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0, seq: 1 });
    expect(pr!.match).toBe(3); // never moves down
    expect(pr!.next).toBe(next);
    expect(pr!.probing).toBe(false);
  });
});
