/**
 * A follower whose disk lost entries it had acknowledged (a torn or corrupt tail cut at
 * restart) says so by rejecting at an index below its match; the leader believes a
 * rejection from a later round than the acknowledgement and repairs the follower.
 */
import { step } from '../../src/core/step';
import type { AppendEntriesResponse } from '../../src/messages/types';
import { elect, makeState, msg, sent } from './helpers';

describe('a follower whose disk lost acknowledged entries (issue 18, finding 1)', () => {
  const answer = (term: number, fields: Partial<AppendEntriesResponse>): AppendEntriesResponse => ({
    type: 'AppendEntriesResponse', term, success: true, matchIndex: 0, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 1, ...fields,
  });

  function leaderWithN2At(match: number) {
    const s = makeState({ log: [1, 1, 1, 1] });
    elect(s); // the no-op is index 5
    msg(s, 'n2', answer(s.term, { matchIndex: match, seq: 1 }));
    return s;
  }
  const progressOfN2 = (s: ReturnType<typeof makeState>) => (s.role as { progress: Map<string, { match: number; next: number; probing: boolean }> }).progress.get('n2')!;

  test('a later round\'s rejection saying its log ends below match is believed: match drops and the leader probes from there', () => {
    const s = leaderWithN2At(5);
    step(s, { kind: 'heartbeatTick', epoch: s.epoch }); // round 2: a heartbeat at match 5
    const fx = msg(s, 'n2', answer(s.term, { success: false, rejectedIndex: 5, conflictIndex: 4, conflictTerm: 0, seq: 2 }));
    expect(progressOfN2(s)).toMatchObject({ match: 3, next: 4, probing: true });
    expect(sent(fx).map((m) => m.message)).toContainEqual(expect.objectContaining({ type: 'AppendEntries', prevLogIndex: 3 }));
  });

  test('the same rejection from a round no later than the acknowledgement is stale and ignored', () => {
    const s = leaderWithN2At(5);
    expect(msg(s, 'n2', answer(s.term, { success: false, rejectedIndex: 5, conflictIndex: 4, conflictTerm: 0, seq: 1 }))).toEqual([]);
    expect(progressOfN2(s).match).toBe(5);
  });

  test('the commit index never moves back', () => {
    const s = leaderWithN2At(5);
    step(s, { kind: 'persisted', index: 5, term: s.term });
    expect(s.commitIndex).toBe(5);
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    msg(s, 'n2', answer(s.term, { success: false, rejectedIndex: 5, conflictIndex: 1, conflictTerm: 0, seq: 2 }));
    expect(s.commitIndex).toBe(5);
  });
});
