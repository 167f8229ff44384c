/**
 * The election deadline's rules (Raft §5.2, Figure 2 "Rules for Servers", and the
 * candidate-to-follower hand-over), one test per rule: feed one event, check
 * `s.electionDeadline`. The helpers' random source makes every draw 225 (150 + 75).
 */
import { createState } from '../../src/core/state';
import { RaftLog } from '../../src/core/log';
import { step } from '../../src/core/step';
import type { AppendEntries, InstallSnapshot, RequestVote } from '../../src/messages/types';
import { elect, makeState, msg, OPTIONS } from './helpers';

const DRAW = 225;

function appendEntries(term: number): AppendEntries {
  return { type: 'AppendEntries', term, leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0 };
}

function installSnapshot(term: number): InstallSnapshot {
  return {
    type: 'InstallSnapshot',
    term,
    leaderId: 'n2',
    lastIncludedIndex: 0,
    lastIncludedTerm: 0,
    chunk: 0,
    done: false,
    data: new Uint8Array(0),
    config: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} },
  };
}

function requestVote(term: number, candidateId: string, lastLogIndex = 9, lastLogTerm = 9): RequestVote {
  return { type: 'RequestVote', term, candidateId, lastLogIndex, lastLogTerm, leadershipTransfer: false };
}

/** A state whose clock reads `now`, as the driver sets it before each event. */
function at<T extends { now: number }>(s: T, now: number): T {
  s.now = now;
  return s;
}

/** n1 as a candidate of term 1 (no PreVote), its deadline drawn at time 1000. */
function candidateAt1000() {
  const s = at(makeState({ log: [1] }), 1000);
  step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
  expect(s.role.name).toBe('candidate');
  return s;
}

describe('election deadline (§5.2)', () => {
  test('§5.2 when servers start up, they begin as followers: the deadline is drawn from the start time', () => {
    const s = createState('n1', [{ index: 0, term: 0, config: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} } }], { term: 0, votedFor: null, log: new RaftLog([]) }, OPTIONS, { now: 5000 });
    expect(s.startedAt).toBe(5000);
    expect(s.electionDeadline).toBe(5000 + DRAW);
  });

  test('§5.2 the draw is uniform over [min, max]: a random 0 gives min, a random just below 1 gives max', () => {
    const low = makeState({ options: { random: () => 0 } });
    const high = makeState({ options: { random: () => 0.9999999 } });
    expect(low.electionDeadline).toBe(150);
    expect(high.electionDeadline).toBe(300);
  });

  test('§5.2 a follower hearing AppendEntries from the current leader draws a new deadline', () => {
    const s = at(makeState({ term: 1 }), 1000);
    msg(s, 'n2', appendEntries(1));
    expect(s.electionDeadline).toBe(1000 + DRAW);
  });

  test('§7 a follower hearing InstallSnapshot from the current leader draws a new deadline', () => {
    const s = at(makeState({ term: 1 }), 1000);
    msg(s, 'n2', installSnapshot(1));
    expect(s.electionDeadline).toBe(1000 + DRAW);
  });

  test('§5.2 a follower granting a vote draws a new deadline', () => {
    const s = at(makeState({ term: 1 }), 1000);
    msg(s, 'n2', requestVote(2, 'n2'));
    expect(s.votedFor).toBe('n2');
    expect(s.electionDeadline).toBe(1000 + DRAW);
  });

  test('§5.2 a follower refusing a vote keeps its deadline, even on learning a newer term', () => {
    const s = at(makeState({ term: 1, log: [1] }), 1000);
    msg(s, 'n3', requestVote(2, 'n3', 0, 0)); // n3's log is behind
    expect(s.term).toBe(2);
    expect(s.electionDeadline).toBe(DRAW);
  });

  test('§5.2 becoming candidate draws a new deadline', () => {
    const s = candidateAt1000();
    expect(s.electionDeadline).toBe(1000 + DRAW);
  });

  test('§9.6 becoming pre-candidate draws a new deadline', () => {
    const s = at(makeState({ options: { preVote: true } }), 1000);
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    expect(s.role.name).toBe('precandidate');
    expect(s.electionDeadline).toBe(1000 + DRAW);
  });

  test('§5.2 a candidate stepping down on a newer term alone keeps its deadline (the candidate-to-follower hand-over)', () => {
    const s = candidateAt1000();
    at(s, 1100);
    msg(s, 'n3', requestVote(5, 'n3', 0, 0)); // a newer term, but n3's log is behind: no vote
    expect(s.role.name).toBe('follower');
    expect(s.electionDeadline).toBe(1000 + DRAW); // restarting it would let losing candidates postpone everyone
  });

  test('§5.2 a candidate stepping down on a newer term and granting the vote draws a new deadline', () => {
    const s = candidateAt1000();
    msg(at(s, 1100), 'n3', requestVote(5, 'n3'));
    expect(s.votedFor).toBe('n3');
    expect(s.electionDeadline).toBe(1100 + DRAW);
  });

  test('§5.2 a candidate hearing from the new leader draws a new deadline', () => {
    const s = candidateAt1000();
    msg(at(s, 1100), 'n2', appendEntries(s.term));
    expect(s.role.name).toBe('follower');
    expect(s.electionDeadline).toBe(1100 + DRAW);
  });

  test('§9.6 a pre-candidate stepping down on a newer term draws a new deadline (the exception: seed 40330)', () => {
    const s = at(makeState({ log: [1], options: { preVote: true } }), 1000);
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    expect(s.role.name).toBe('precandidate');
    msg(at(s, 1100), 'n3', requestVote(5, 'n3', 0, 0)); // another node passed its pre-vote
    expect(s.role.name).toBe('follower');
    expect(s.electionDeadline).toBe(1100 + DRAW);
  });

  test('§5.2 a leader has no election deadline', () => {
    const s = makeState({ log: [1] });
    elect(s);
    expect(s.electionDeadline).toBe(Infinity);
  });

  test('§5.1 a leader stepping down draws a deadline', () => {
    const s = makeState({ log: [1] });
    elect(s);
    msg(at(s, 2000), 'n3', { type: 'AppendEntriesResponse', term: 9, success: false, matchIndex: 0, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 0 });
    expect(s.role.name).toBe('follower');
    expect(s.electionDeadline).toBe(2000 + DRAW);
  });

  test('§5.2 a timeout before the deadline is stale and ignored; at the deadline the follower campaigns', () => {
    const s = makeState({});
    msg(at(s, 100), 'n2', appendEntries(0)); // deadline moved to 325 after a timer for 225 fired
    step(at(s, 225), { kind: 'electionTimeout', epoch: s.epoch });
    expect(s.role.name).toBe('follower');
    step(at(s, 325), { kind: 'electionTimeout', epoch: s.epoch });
    expect(s.role.name).toBe('candidate');
  });

  test('a forced timeout (the campaign test hook) campaigns before the deadline', () => {
    const s = makeState({});
    step(at(s, 10), { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    expect(s.role.name).toBe('candidate');
  });

  test('the test hook range: a new range draws a fresh deadline from now; never means Infinity', () => {
    const s = at(makeState({}), 1000);
    step(s, { kind: 'setElectionRange', range: { min: 20, max: 20 } });
    expect(s.electionDeadline).toBe(1020);
    step(s, { kind: 'setElectionRange', range: 'never' });
    expect(s.electionDeadline).toBe(Infinity);
    msg(at(s, 2000), 'n2', appendEntries(0));
    expect(s.electionDeadline).toBe(Infinity); // leader contact keeps 'never'
  });
});
