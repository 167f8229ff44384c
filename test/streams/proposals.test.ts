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
    term: 0,
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

  test('tracking an index again replaces the proposal waiting there, which fails with ProposalDroppedError (nothing else would settle it)', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes), proposal(outcomes)], 5, 1);
    t.track([proposal(outcomes)], 6, 2);
    expect(t.size).toBe(2);
    expect(outcomes[1]).toEqual([{ ok: false, error: expect.any(ProposalDroppedError) }]);
    expect((outcomes[1][0] as { error: Error }).error.message).toMatch(/index 6 was given to another proposal in term 2/);
    t.applied(6, 2);
    t.applied(5, 1);
    expect(outcomes[0]).toEqual([{ ok: true, at: { index: 5, term: 1 } }]);
    expect(outcomes[2]).toEqual([{ ok: true, at: { index: 6, term: 2 } }]);
    expect(t.size).toBe(0);
  });

  test('forgetAppended leaves a proposal that has taken the index since (another term)', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes)], 7, 1);
    t.track([proposal(outcomes)], 7, 2); // the first fails here
    t.forgetAppended(7, 7, 1, () => new Error('timed out'));
    expect(t.size).toBe(1);
    t.applied(7, 2);
    expect(outcomes.map((o) => o.map((x) => (x.ok ? x.at.term : x.error.name)))).toEqual([['ProposalDroppedError'], [2]]);
  });

  test('forgetThrough rejects the proposals at an index up to the one given, in the ring and beside it, and leaves the later ones', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes), proposal(outcomes), proposal(outcomes)], 10, 1);
    t.track([proposal(outcomes)], 5, 1); // beside the ring
    t.forgetThrough(11, (index) => new Error(`covered ${index}`));
    expect(outcomes.map((o) => o.map((x) => (x.ok ? x.at.index : x.error.message)))).toEqual([['covered 10'], ['covered 11'], [], ['covered 5']]);
    expect(t.size).toBe(1);
    t.applied(12, 1);
    expect(outcomes[2]).toEqual([{ ok: true, at: { index: 12, term: 1 } }]);
  });

  test('indexes tracked out of order, before the earliest waiting one or far beyond it, settle like the others', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    t.track([proposal(outcomes), proposal(outcomes)], 100, 3);
    t.track([proposal(outcomes)], 40, 3);
    t.track([proposal(outcomes)], 100 + 200_000, 3);
    t.track([proposal(outcomes)], 40, 4); // replaces the one at 40, wherever it waits
    expect(t.size).toBe(4);
    for (const index of [100 + 200_000, 101, 40, 100]) t.applied(index, 3);
    expect(outcomes.map((o) => o.map((x) => (x.ok ? x.at.index : x.error.name)))).toEqual([[100], [101], ['ProposalDroppedError'], [200_100], ['ProposalDroppedError']]);
    expect(t.size).toBe(0);
  });

  test('thousands of proposals settled in log order, batch after batch, all resolve and leave nothing waiting', () => {
    const outcomes: Settled[][] = [];
    const t = new ProposalTracker();
    let next = 1;
    for (let batch = 0; batch < 200; batch++) {
      t.track(Array.from({ length: 25 }, () => proposal(outcomes)), next, 1);
      next += 25;
      if (batch >= 3) for (let i = 0; i < 25; i++) t.applied(next - 100 + i, 1);
    }
    for (let index = next - 75; index < next; index++) t.applied(index, 1);
    expect(t.size).toBe(0);
    expect(outcomes.every((o, i) => o.length === 1 && o[0].ok && o[0].at.index === i + 1)).toBe(true);
  });
});
