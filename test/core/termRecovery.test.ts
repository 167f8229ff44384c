/**
 * A node that lost its hard state (term, votedFor) beside a kept log recovers a safe term
 * from every member before it votes again (issue 18, finding 6; the argument is in
 * `src/core/termRecovery.ts`). One test per rule: feed an event, compare state and effects.
 */
import { step } from '../../src/core/step';
import { startTermRecovery, STALL_ROUNDS, termRecoveryPeers } from '../../src/core/termRecovery';
import type { AppendEntries, RequestVote } from '../../src/messages/types';
import { elect, entriesAt, makeState, msg, sent, types } from './helpers';

/** n1 restarted at term 0 with no vote (its hard state lost), log [1, 2] kept, in a cluster of n1..n3. */
function recovering(then: { reason: string } | null = null) {
  const s = makeState({ term: 0, log: [1, 2], options: { preVote: true } });
  s.startedAt = -1000;
  startTermRecovery(s, then);
  return s;
}

function requestVote(term: number, candidateId = 'n2'): RequestVote {
  return { type: 'RequestVote', term, candidateId, lastLogIndex: 9, lastLogTerm: 2, leadershipTransfer: false };
}

function appendEntries(term: number): AppendEntries {
  return { type: 'AppendEntries', term, leaderId: 'n2', prevLogIndex: 2, prevLogTerm: 2, entries: entriesAt(3, [term]), leaderCommit: 3, seq: 1 };
}

/** Delivers every member's term report, then the durable save of the recovered hard state. */
function recover(s: ReturnType<typeof recovering>, reports: Record<string, number>) {
  for (const [from, term] of Object.entries(reports)) msg(s, from, { type: 'TermReport', term });
  return step(s, { kind: 'hardStateSaved', term: s.term, votedFor: s.id }).list;
}

describe('recovering a lost hard state: while answers are owed', () => {
  test('it asks every member of every configuration in its log, learners and removed members included', () => {
    const s = recovering();
    s.configs.push({ index: 1, term: 1, config: { voters: ['n1', 'n2'], learners: ['n4'], addresses: {} } });
    expect(termRecoveryPeers(s.configs, 'n1')).toEqual(['n2', 'n3', 'n4']);
  });

  test('its election timer sends TermQuery to those that owe an answer and re-arms itself; it never campaigns', () => {
    const s = recovering();
    s.now = 1000;
    const fx = step(s, { kind: 'electionTimeout', epoch: s.epoch }).list;
    expect(types(fx)).toEqual(['send TermQuery to n2', 'send TermQuery to n3']);
    expect(s.role.name).toBe('follower');
    expect(s.electionDeadline).toBeGreaterThanOrEqual(1000 + 150); // the next round
    expect(s.electionDeadline).toBeLessThanOrEqual(1000 + 300);
    msg(s, 'n2', { type: 'TermReport', term: 4 });
    s.now = s.electionDeadline;
    expect(types(step(s, { kind: 'electionTimeout', epoch: s.epoch }).list)).toEqual(['send TermQuery to n3']);
  });

  test('it grants no vote and no pre-vote, of any term, and ignores TimeoutNow', () => {
    const s = recovering();
    expect(sent(msg(s, 'n2', requestVote(1)))[0].message).toEqual({ type: 'RequestVoteResponse', term: 1, voteGranted: false });
    expect(sent(msg(s, 'n3', requestVote(5, 'n3')))[0].message).toEqual({ type: 'RequestVoteResponse', term: 5, voteGranted: false });
    expect(s.votedFor).toBeNull();
    expect(sent(msg(s, 'n2', { type: 'PreVote', term: 6, candidateId: 'n2', lastLogIndex: 9, lastLogTerm: 2 }))[0].message).toMatchObject({ voteGranted: false });
    expect(msg(s, 'n2', { type: 'TimeoutNow', term: 5 })).toEqual([]);
    expect(s.role.name).toBe('follower');
  });

  test('it takes no entries: a stale leader could overwrite what it acknowledged to a newer one', () => {
    const s = recovering();
    expect(msg(s, 'n2', appendEntries(1))).toEqual([]);
    expect(s.log.lastIndex).toBe(2);
    expect(s.leaderId).toBeNull();
  });

  test('it does not answer TermQuery itself: its own term is not known', () => {
    const s = recovering();
    expect(msg(s, 'n2', { type: 'TermQuery', term: 3 })).toEqual([]);
  });

  test('with a member silent it stays in repair, and says so once after a few rounds', () => {
    const s = recovering();
    msg(s, 'n2', { type: 'TermReport', term: 4 });
    const stalls = [];
    for (let round = 0; round < STALL_ROUNDS + 3; round++) {
      stalls.push(...step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list.filter((e) => e.type === 'termRecoveryStalled'));
    }
    expect(stalls).toEqual([{ type: 'termRecoveryStalled', missing: ['n3'] }]);
    expect(s.repair?.terms).toBeDefined();
    expect(sent(msg(s, 'n3', requestVote(5, 'n3')))[0].message).toMatchObject({ voteGranted: false });
  });
});

describe('recovering a lost hard state: once every member has answered', () => {
  test('the hard state is saved at the largest term with votedFor = itself; the repair ends only once that is durable', () => {
    const s = recovering();
    msg(s, 'n2', { type: 'TermReport', term: 4 });
    const fx = msg(s, 'n3', { type: 'TermReport', term: 7 });
    expect(fx).toEqual([{ type: 'saveHardState', hardState: { term: 7, votedFor: 'n1' } }]);
    expect(s.repair).not.toBeNull();
    expect(sent(msg(s, 'n2', requestVote(8)))[0].message).toMatchObject({ voteGranted: false }); // still repairing
    expect(step(s, { kind: 'hardStateSaved', term: 7, votedFor: 'n1' }).list).toEqual([{ type: 'termsRecovered', term: 7, clearDamage: true }]);
    expect(s.repair).toBeNull();
  });

  test('a RequestVote of the recovered term is refused (it may have voted there); one of the next term is granted', () => {
    const s = recovering();
    recover(s, { n2: 4, n3: 7 });
    expect(sent(msg(s, 'n2', requestVote(7)))[0].message).toEqual({ type: 'RequestVoteResponse', term: 7, voteGranted: false });
    expect(sent(msg(s, 'n2', requestVote(8)))[0].message).toEqual({ type: 'RequestVoteResponse', term: 8, voteGranted: true });
    expect(s.votedFor).toBe('n2');
  });

  test('a RequestVote sent before the crash and delivered after the repair is refused: its sender\'s term is counted', () => {
    const s = recovering();
    // Before losing its state, n1 voted for n2 in term 5; n2 has since reached term 6.
    recover(s, { n2: 6, n3: 5 });
    expect(sent(msg(s, 'n3', requestVote(5, 'n3')))[0].message).toEqual({ type: 'RequestVoteResponse', term: 6, voteGranted: false });
  });

  test('the term is never lowered: its own term and its log\'s last term count', () => {
    const s = recovering();
    msg(s, 'n2', requestVote(9)); // raises its term to 9 meanwhile, vote refused
    recover(s, { n2: 3, n3: 1 });
    expect([s.term, s.votedFor]).toEqual([9, 'n1']);
    const t = recovering();
    recover(t, { n2: 0, n3: 0 });
    expect(t.term).toBe(2); // log [1, 2]
  });

  test('afterwards it campaigns as any voter, and takes entries', () => {
    const s = recovering();
    recover(s, { n2: 4, n3: 4 });
    expect(types(step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list)).toEqual(['send PreVote to n2', 'send PreVote to n3']);
    const t = recovering();
    recover(t, { n2: 4, n3: 4 });
    msg(t, 'n2', appendEntries(5));
    expect(t.log.lastIndex).toBe(3);
  });

  test('a damaged log tail is repaired next: the damage is not cleared yet', () => {
    const s = recovering({ reason: 'log cut from index 3' });
    expect(recover(s, { n2: 4, n3: 4 })).toEqual([{ type: 'termsRecovered', term: 4, clearDamage: false }]);
    expect(s.repair).toEqual({ reason: 'log cut from index 3' });
  });

  test('answers from non-members and late duplicates change nothing', () => {
    const s = recovering();
    msg(s, 'n9', { type: 'TermReport', term: 50 });
    msg(s, 'n2', { type: 'TermReport', term: 3 });
    msg(s, 'n2', { type: 'TermReport', term: 40 });
    msg(s, 'n3', { type: 'TermReport', term: 3 });
    expect(s.term).toBe(3);
  });
});

describe('answering TermQuery', () => {
  test('every role answers with its term and changes nothing: no term adopted, no timer reset', () => {
    const s = makeState({ term: 2, log: [1, 2] });
    elect(s);
    const before = { term: s.term, epoch: s.epoch, role: s.role.name };
    expect(msg(s, 'n2', { type: 'TermQuery', term: 50 })).toEqual([
      { type: 'send', to: 'n2', message: { type: 'TermReport', term: 3 }, afterPersist: true },
    ]);
    expect({ term: s.term, epoch: s.epoch, role: s.role.name }).toEqual(before);
    const f = makeState({ term: 5 });
    expect(types(msg(f, 'n2', { type: 'TermQuery', term: 0 }))).toEqual(['send TermReport to n2']);
    expect(f.term).toBe(5);
  });
});
