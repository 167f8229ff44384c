/**
 * A follower refuses an AppendEntries of an earlier term with its own term (`refuseStale`).
 * When the sender has been re-elected since, that refusal arrives in its new term: it is
 * no answer to anything this leadership sent, so it must change nothing (found by the
 * multi-group simulator, seeds 92 and 717; scenario in test/scenarios/staleRefusal.test.ts).
 */
import { isStaleTermRefusal } from '../../src/core/replication';
import type { RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import type { AppendEntriesResponse } from '../../src/messages/types';
import { elect, makeState, msg, ok, sent } from './helpers';

/** n1 leads term `s.term` with its no-op durable and acknowledged by n2 (committed), n3 silent. */
function leaderWithCommittedNoop(): RaftState {
  const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1, 1] });
  elect(s);
  step(s, { kind: 'persisted', index: 3, term: s.term });
  msg(s, 'n2', { ...ok(s.term, 3), seq: 1 });
  expect(s.commitIndex).toBe(3);
  return s;
}

/** What a follower of the current term sends when an AppendEntries of an older term reaches it. */
const staleRefusal = (term: number, seq: number): AppendEntriesResponse => ({
  type: 'AppendEntriesResponse', term, success: false, matchIndex: 0, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq,
});

describe('a refusal of an AppendEntries of an earlier term', () => {
  test('is what refuseStale sends: conflictIndex 0 and round 0', () => {
    const s = makeState({ voters: ['n1', 'n2', 'n3'], term: 5 });
    const out = sent(msg(s, 'n2', { type: 'AppendEntries', term: 3, leaderId: 'n2', prevLogIndex: 4, prevLogTerm: 3, entries: [], leaderCommit: 0, seq: 9 }));
    const answer = out[0].message as AppendEntriesResponse;
    expect(answer).toMatchObject({ type: 'AppendEntriesResponse', term: 5, success: false, conflictIndex: 0, seq: 0 });
    expect(isStaleTermRefusal(answer)).toBe(true);
    expect(isStaleTermRefusal({ ...answer, conflictIndex: 1 })).toBe(false); // a log mismatch always names an index ≥ 1
  });

  test('arriving at a re-elected leader, it confirms no read, moves no progress and counts as no contact', () => {
    const s = leaderWithCommittedNoop();
    step(s, { kind: 'read', requestId: 7, lease: false }); // a ReadIndex round: needs n2 or n3 to answer it
    const L = s.role.name === 'leader' ? s.role : null;
    const round = L!.seq;
    const n3 = L!.progress.get('n3')!;
    const before = { next: n3.next, match: n3.match, ackedSeq: n3.ackedSeq, lastContact: n3.lastContact, state: n3.probing };
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    // n3's refusal of an AppendEntries n1 sent in an earlier term, carrying (from an old follower) that term's round number.
    const effects = msg(s, 'n3', staleRefusal(s.term, round));
    expect({ next: n3.next, match: n3.match, ackedSeq: n3.ackedSeq, lastContact: n3.lastContact, state: n3.probing }).toEqual(before);
    expect(effects.some((e) => e.type === 'readReady' || (e.type === 'send' && e.message.type === 'ReadIndexResponse'))).toBe(false);
    expect(sent(effects)).toEqual([]);
  });
});
