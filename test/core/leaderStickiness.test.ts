/**
 * Leader stickiness (Raft dissertation §4.2.3) and the lease it protects (§6.4.1), rule
 * by rule: feed one event, compare the state and the effects.
 */
import { step } from '../../src/core/step';
import type { AppendEntries, RequestVote } from '../../src/messages/types';
import { elect, makeState, msg, sent, types } from './helpers';

const vote = (term: number, candidateId: string, fields: Partial<RequestVote> = {}): RequestVote => ({
  type: 'RequestVote',
  term,
  candidateId,
  lastLogIndex: 9,
  lastLogTerm: 1,
  leadershipTransfer: false,
  ...fields,
});

const heartbeat = (term: number): AppendEntries => ({
  type: 'AppendEntries',
  term,
  leaderId: 'n2',
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: [],
  leaderCommit: 0,
  seq: 1,
});

/** A follower of n2 in term 2 that last heard from n2 at `heardAt` (and started long before). */
function followerOfN2(heardAt: number, checkQuorum = true) {
  const s = makeState({ term: 2, log: [1], options: { checkQuorum } });
  s.startedAt = -1000;
  s.now = heardAt;
  msg(s, 'n2', heartbeat(2));
  return s;
}

describe('§4.2.3 leader stickiness: a server that believes in a current leader disregards RequestVote', () => {
  test('a follower that heard from its leader within the minimum election timeout ignores a newer-term RequestVote: no reply, no new term', () => {
    const s = followerOfN2(0);
    s.now = 149;
    expect(msg(s, 'n3', vote(3, 'n3'))).toEqual([]);
    expect(s.term).toBe(2);
    expect(s.votedFor).toBeNull();
    expect(s.leaderId).toBe('n2');
  });

  test('once the minimum election timeout has passed without the leader, it grants as usual', () => {
    const s = followerOfN2(0);
    s.now = 150;
    expect(sent(msg(s, 'n3', vote(3, 'n3')))[0].message).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: true });
  });

  test('§3.10 a campaign started by TimeoutNow is granted even while the voter hears from its leader', () => {
    const s = followerOfN2(0);
    s.now = 10;
    expect(sent(msg(s, 'n3', vote(3, 'n3', { leadershipTransfer: true })))[0].message).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: true });
  });

  test('a leader ignores a newer-term RequestVote that TimeoutNow did not start', () => {
    const s = makeState({ log: [1], options: { checkQuorum: true } });
    elect(s);
    const term = s.term;
    expect(msg(s, 'n3', vote(term + 1, 'n3', { lastLogIndex: 99, lastLogTerm: term }))).toEqual([]);
    expect(s.role.name).toBe('leader');
    expect(s.term).toBe(term);
  });

  test('for the minimum election timeout after it starts, a node ignores RequestVote: it may have been inside a lease before a restart', () => {
    const s = makeState({ term: 2, log: [1], options: { checkQuorum: true } });
    s.startedAt = s.now = 1000;
    s.now = 1149;
    expect(msg(s, 'n3', vote(3, 'n3'))).toEqual([]);
    s.now = 1150;
    expect(sent(msg(s, 'n3', vote(3, 'n3')))[0].message).toMatchObject({ voteGranted: true });
  });

  test('a RequestVote of the current term is answered as Figure 2 says (no leader of this term can be superseded in it)', () => {
    const s = followerOfN2(0);
    s.now = 10;
    expect(sent(msg(s, 'n3', vote(2, 'n3')))[0].message).toEqual({ type: 'RequestVoteResponse', term: 2, voteGranted: true });
  });

  test('without CheckQuorum there is no stickiness: plain Figure 2', () => {
    const s = followerOfN2(0, false);
    s.now = 10;
    expect(sent(msg(s, 'n3', vote(3, 'n3')))[0].message).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: true });
  });

  test('§9.6 pre-votes are refused on the same belief, CheckQuorum or not', () => {
    const s = followerOfN2(0, false);
    s.now = 149;
    const fx = msg(s, 'n3', { type: 'PreVote', term: 3, candidateId: 'n3', lastLogIndex: 9, lastLogTerm: 1 });
    expect(sent(fx)[0].message).toEqual({ type: 'PreVoteResponse', term: 2, voteGranted: false });
  });

  test('§3.10 a server told TimeoutNow campaigns at once and marks its requests as a leadership transfer', () => {
    const s = followerOfN2(0);
    s.now = 10;
    const fx = msg(s, 'n2', { type: 'TimeoutNow', term: 2 });
    expect(s.role.name).toBe('candidate');
    expect(sent(fx).map((m) => m.message)).toEqual([
      vote(3, 'n1', { lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: true }),
      vote(3, 'n1', { lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: true }),
    ]);
  });
});

describe('§6.4.1 the leader lease', () => {
  const answer = (term: number, seq: number) =>
    ({ type: 'AppendEntriesResponse', term, success: true, matchIndex: 1, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq }) as const;
  /** n1 leads term 1 at time 0 with CheckQuorum; n2 answers round 2, started at `roundAt`. */
  function leaderWithRound(roundAt: number, options = { checkQuorum: true }) {
    const s = makeState({ log: [], options });
    elect(s);
    step(s, { kind: 'persisted', index: 1, term: s.term });
    s.now = roundAt - 1; // the no-op entry of the new term commits: reads may start
    msg(s, 'n2', answer(s.term, 1));
    expect(s.commitIndex).toBe(1);
    s.now = roundAt;
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    msg(s, 'n2', answer(s.term, 2));
    return s;
  }
  const leaseRead = (s: ReturnType<typeof makeState>, at: number) => {
    s.now = at;
    return types(step(s, { kind: 'read', requestId: 7, lease: true }).list);
  };

  test('a lease read is answered at once while a majority answered a round that started less than min − drift ago', () => {
    expect(leaseRead(leaderWithRound(100), 100 + 119)).toEqual(['readReady']);
    expect(leaseRead(leaderWithRound(100), 100 + 120)).toEqual(['send AppendEntries to n2', 'send AppendEntries to n3']);
  });

  test('lease reads need CheckQuorum (stickiness), not PreVote', () => {
    expect(leaseRead(leaderWithRound(100, { checkQuorum: true }), 110)).toEqual(['readReady']); // preVote is off here
    expect(leaseRead(leaderWithRound(100, { checkQuorum: false }), 110)).not.toContain('readReady');
  });

  test('a leader that has sent TimeoutNow serves no lease read for the rest of its term, even after the transfer is abandoned', () => {
    const s = leaderWithRound(100);
    s.now = 105;
    const fx = step(s, { kind: 'transferLeadership', requestId: 1, to: 'n2' }).list;
    expect(sent(fx).map((m) => m.message.type)).toEqual(['TimeoutNow']);
    expect(leaseRead(s, 110)).not.toContain('readReady');
    s.now = 400;
    msg(s, 'n2', answer(s.term, 2)); // n2 never takes over, and goes on answering n1
    s.now = 105 + 300; // the transfer deadline passes: it is abandoned
    expect(types(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list)).toContain('transferAborted');
    msg(s, 'n2', answer(s.term, 3));
    expect(s.role.name).toBe('leader');
    expect(leaseRead(s, 410)).not.toContain('readReady');
  });
});
