import { ProposalDroppedError } from '../../src/errors';
import { EntryKind } from '../../src/messages/entry';
import { PendingProposal, ProposalTracker } from '../../src/streams/proposals';

type Settled = { ok: true; at: { index: number; term: number } } | { ok: false; error: Error };

/** A proposal that records how it was settled (synchronously, as the tracker settles it). */
function proposal(outcomes: Settled[][]): PendingProposal {
  const mine: Settled[] = [];
  outcomes.push(mine);
  return {
    kind: EntryKind.Command,
    data: new Uint8Array([outcomes.length]),
    resolve: (at) => mine.push({ ok: true, at }),
    reject: (error) => mine.push({ ok: false, error }),
  };
}

describe('ProposalTracker', () => {
  test('a batch takes consecutive indexes; each proposal resolves when its own entry is applied, with its position', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes), proposal(outcomes), proposal(outcomes)], 5, 2);
    expect(t.size).toBe(3);
    t.applied(6, 2);
    expect(outcomes).toEqual([[], [{ ok: true, at: { index: 6, term: 2 } }], []]);
    t.applied(5, 2);
    t.applied(7, 2);
    expect(outcomes).toEqual([
      [{ ok: true, at: { index: 5, term: 2 } }],
      [{ ok: true, at: { index: 6, term: 2 } }],
      [{ ok: true, at: { index: 7, term: 2 } }],
    ]);
    expect(t.size).toBe(0);
  });

  test('an entry of another term applied at the index rejects the proposal with ProposalDroppedError', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes)], 9, 3);
    t.applied(9, 4); // a later leader overwrote index 9
    expect(outcomes[0]).toHaveLength(1);
    const [settled] = outcomes[0];
    expect(settled.ok).toBe(false);
    expect((settled as { error: Error }).error).toBeInstanceOf(ProposalDroppedError);
    expect((settled as { error: Error }).error).toMatchObject({ index: 9, term: 3 });
  });

  test('a session duplicate answers with the original position; each proposal settles once', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes)], 12, 5);
    t.applied(12, 5, { index: 4, term: 2 });
    t.applied(12, 5); // applied again (e.g. after a restart): nobody waits any more
    t.applied(13, 5); // nobody waits at 13
    expect(outcomes).toEqual([[{ ok: true, at: { index: 4, term: 2 } }]]);
  });

  test('forget rejects the one proposal at an index with the error given; rejectAll rejects the rest', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes), proposal(outcomes), proposal(outcomes)], 1, 1);
    t.forget(2, (index, term) => new Error(`forgot ${index}@${term}`));
    t.forget(2, () => new Error('twice'));
    expect(outcomes.map((o) => o.map((s) => (s.ok ? 'ok' : s.error.message)))).toEqual([[], ['forgot 2@1'], []]);
    t.rejectAll((index, term) => new Error(`stopped ${index}@${term}`));
    expect(outcomes.map((o) => o.map((s) => (s.ok ? 'ok' : s.error.message)))).toEqual([['stopped 1@1'], ['forgot 2@1'], ['stopped 3@1']]);
    expect(t.size).toBe(0);
    t.applied(1, 1);
    expect(outcomes[0]).toHaveLength(1);
  });
});
