/**
 * The rules of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm", §5), one test per rule, on rxraft/testing's scripting API: the
 * scenarios of etcd-io/raft's raft_paper_test.go, rewritten for rxraft (real nodes on
 * virtual time; the other members real nodes or scripted peers).
 *
 * Differences from etcd, where rxraft follows the paper:
 * - A candidate rejected by a majority stays a candidate until its election timer runs
 *   out (§5.2 lists three ways out of candidacy; a lost count is not one). etcd steps
 *   down at once; the rows of TestLeaderElectionInOneRoundRPC that expect a follower
 *   expect a candidate here.
 * - Heartbeats are AppendEntries without entries (the paper's heartbeat), not a
 *   separate message type.
 *
 * Not ported:
 * - TestFollowersElectionTimeoutNonconflict, TestCandidatesElectionTimeoutNonconflict: a
 *   statistical property of etcd's tick-granular timer (how often several of five nodes
 *   time out in the same tick). rxraft draws each timeout in whole milliseconds from a
 *   range (randomness covered by the *ElectionTimeoutRandomized tests below); there is
 *   no shared tick to collide on.
 */
import { EntryKind, Entry } from '../../src/messages/entry';
import type { AppendEntries, RequestVote } from '../../src/messages/types';
import { matching, TestCluster } from '../../src/testing';
import { accept, cluster, elect, heartbeat, PLAIN, proposeLater, roles, seeded, taken } from './script';

const entries = (first: number, terms: number[]): Entry[] =>
  terms.map((term, i) => ({ index: first + i, term, kind: EntryKind.Command, data: new TextEncoder().encode(`e${first + i}`) }));

/** n1, a real node, with scripted peers: the test plays every other member. */
async function alone(seed: { term?: number; votedFor?: string | null; log?: number[] } = {}, peers = ['n2', 'n3'], options = {}) {
  return seeded({ n1: seed }, options, { scripted: peers });
}

/** Makes n1 (with scripted peers) leader: every peer grants its vote. */
async function leadAlone(c: TestCluster, peers = ['n2', 'n3']): Promise<void> {
  c.campaign('n1');
  await c.clock.advance(2);
  for (const id of peers) {
    for (const { message } of taken(c.peer(id), 'RequestVote')) c.peer(id).send('n1', { type: 'RequestVoteResponse', term: message.term, voteGranted: true });
  }
  await c.clock.advance(5);
  expect(c.replication('n1').role).toBe('leader');
}

describe('§5.1 terms', () => {
  test.each(['follower', 'candidate', 'leader'] as const)(
    '§5.1: a %s that sees a newer term adopts it and becomes a follower (etcd Test*UpdateTermFromMessage)',
    async (state) => {
      const c = await alone({ term: 1 });
      if (state === 'candidate') c.campaign('n1');
      if (state === 'leader') await leadAlone(c);
      await c.clock.advance(2);
      expect(c.replication('n1').role).toBe(state);
      const term = c.replication('n1').term + 1;
      c.peer('n2').send('n1', heartbeat(term, 'n2'));
      await c.clock.advance(5);
      expect(c.replication('n1')).toMatchObject({ term, role: 'follower', leaderId: 'n2' });
      await c.stop();
    },
  );

  test('§5.1: a request with a stale term is rejected, and changes nothing (etcd TestRejectStaleTermMessage)', async () => {
    const c = await alone({ term: 2, log: [1] });
    c.peer('n2').send('n1', { ...heartbeat(1, 'n2'), prevLogIndex: 1, prevLogTerm: 1, entries: entries(2, [1]) });
    await c.clock.advance(5);
    expect(taken(c.peer('n2'), 'AppendEntriesResponse').map((e) => e.message)).toEqual([expect.objectContaining({ term: 2, success: false })]);
    expect(c.replication('n1')).toMatchObject({ term: 2, leaderId: null, lastIndex: 1 });
    await c.stop();
  });
});

describe('§5.2 leader election', () => {
  test('§5.2: servers start up as followers (etcd TestStartAsFollower)', async () => {
    const c = await cluster(3);
    expect(roles(c)).toEqual({ n1: 'follower', n2: 'follower', n3: 'follower' });
    await c.stop();
  });

  test('§5.2: a leader sends heartbeats — AppendEntries without entries — to every follower each heartbeat interval (etcd TestLeaderBcastBeat)', async () => {
    const c = await cluster(3);
    await elect(c, 'n1');
    const beats = c.hub.intercept(matching({ type: 'AppendEntries', from: 'n1' }), 'pass');
    await c.clock.advance(PLAIN.heartbeatInterval! * 3);
    const sent = beats.seen.map((e) => ({ to: e.to, term: e.message.term, entries: (e.message as AppendEntries).entries.length }));
    expect(sent).toEqual(Array.from({ length: 3 }, () => [{ to: 'n2', term: 1, entries: 0 }, { to: 'n3', term: 1, entries: 0 }]).flat());
    await c.stop();
  });

  test('§5.2: a follower that hears nothing for an election timeout becomes a candidate, votes for itself and asks every other server (etcd TestFollowerStartElection)', async () => {
    const c = await alone({ term: 1 });
    c.setElectionTimeout('n1', PLAIN.electionTimeout!);
    await c.clock.advance(PLAIN.electionTimeout!.max + 5);
    expect(c.replication('n1')).toMatchObject({ role: 'candidate', term: 2, votedFor: 'n1' });
    const ask: RequestVote = { type: 'RequestVote', term: 2, candidateId: 'n1', lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false };
    expect([...c.peer('n2').received, ...c.peer('n3').received].map((e) => [e.to, e.message])).toEqual([
      ['n2', ask],
      ['n3', ask],
    ]);
    await c.stop();
  });

  test('§5.2: a candidate that wins no majority times out and starts a new election in the next term (etcd TestCandidateStartNewElection)', async () => {
    const c = await alone({ term: 1 });
    c.campaign('n1');
    await c.clock.advance(2);
    taken(c.peer('n2'), 'RequestVote');
    c.setElectionTimeout('n1', PLAIN.electionTimeout!);
    await c.clock.advance(PLAIN.electionTimeout!.max + 5);
    expect(c.replication('n1')).toMatchObject({ role: 'candidate', term: 3, votedFor: 'n1' });
    expect(taken(c.peer('n2'), 'RequestVote').map((e) => e.message.term)).toEqual([3]);
    await c.stop();
  });

  // [cluster size, votes from the others, role after one round]
  const rounds: [number, Record<string, boolean>, 'leader' | 'candidate'][] = [
    [1, {}, 'leader'],
    [3, { n2: true, n3: true }, 'leader'],
    [3, { n2: true }, 'leader'],
    [5, { n2: true, n3: true, n4: true, n5: true }, 'leader'],
    [5, { n2: true, n3: true, n4: true }, 'leader'],
    [5, { n2: true, n3: true }, 'leader'],
    // a majority of refusals: the candidate waits for its timer (etcd: follower)
    [3, { n2: false, n3: false }, 'candidate'],
    [5, { n2: false, n3: false, n4: false, n5: false }, 'candidate'],
    [5, { n2: true, n3: false, n4: false, n5: false }, 'candidate'],
    // no majority either way
    [3, {}, 'candidate'],
    [5, { n2: true }, 'candidate'],
    [5, { n2: false, n3: false }, 'candidate'],
    [5, {}, 'candidate'],
  ];
  test.each(rounds)('§5.2: one round of RequestVote in a cluster of %i with votes %j ends as %s (etcd TestLeaderElectionInOneRoundRPC)', async (size, votes, role) => {
    const peers = Array.from({ length: size - 1 }, (_, i) => `n${i + 2}`);
    const c = await alone({}, peers);
    c.campaign('n1');
    await c.clock.advance(2);
    for (const [id, granted] of Object.entries(votes)) c.peer(id).send('n1', { type: 'RequestVoteResponse', term: 1, voteGranted: granted });
    await c.clock.advance(5);
    expect(c.replication('n1')).toMatchObject({ role, term: 1 });
    await c.stop();
  });

  // [vote already cast in term 1, who asks, refused]
  const votes: [string | null, string, boolean][] = [
    [null, 'n2', false],
    [null, 'n3', false],
    ['n2', 'n2', false],
    ['n3', 'n3', false],
    ['n2', 'n3', true],
    ['n3', 'n2', true],
  ];
  test.each(votes)('§5.2: a follower that voted for %s in this term, asked by %s, refuses: %s — at most one vote per term, first come first served (etcd TestFollowerVote)', async (votedFor, asker, refused) => {
    const c = await alone({ term: 1, votedFor });
    c.peer(asker).send('n1', { type: 'RequestVote', term: 1, candidateId: asker, lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false });
    await c.clock.advance(5);
    expect(taken(c.peer(asker), 'RequestVoteResponse').map((e) => e.message)).toEqual([{ type: 'RequestVoteResponse', term: 1, voteGranted: !refused }]);
    expect(c.replication('n1').votedFor).toBe(votedFor ?? asker);
    await c.stop();
  });

  test.each([1, 2])('§5.2: a candidate that hears from a leader of term %i (≥ its own) returns to follower (etcd TestCandidateFallback)', async (term) => {
    const c = await alone();
    c.campaign('n1');
    await c.clock.advance(2);
    expect(c.replication('n1')).toMatchObject({ role: 'candidate', term: 1 });
    c.peer('n2').send('n1', heartbeat(term, 'n2'));
    await c.clock.advance(5);
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term, leaderId: 'n2' });
    await c.stop();
  });

  /** The times at which n1 sends RequestVote to n2. */
  function voteTimes(c: TestCluster): number[] {
    const times: number[] = [];
    c.hub.intercept((e) => {
      if (e.message.type === 'RequestVote' && e.to === 'n2') times.push(c.clock.now());
      return false;
    }, 'pass');
    return times;
  }

  test('§5.2: a follower\'s election timeout is drawn at random from its range (etcd TestFollowerElectionTimeoutRandomized)', async () => {
    const c = await alone();
    c.setElectionTimeout('n1', PLAIN.electionTimeout!);
    const times = voteTimes(c);
    const waits: number[] = [];
    for (let round = 1; round <= 40; round++) {
      c.peer('n2').send('n1', heartbeat(2 * round, 'n2')); // a leader of a newer term: n1 follows it, timer reset
      await c.clock.advance(1);
      const heard = c.clock.now();
      await c.waitFor(() => times.length === round, 1_000, 1);
      waits.push(times[round - 1] - heard);
    }
    for (const w of waits) expect(w >= 100 && w <= 200).toBe(true);
    expect(new Set(waits).size).toBeGreaterThan(20);
    await c.stop();
  });

  test('§5.2: a candidate\'s election timeout is drawn afresh at random for every election (etcd TestCandidateElectionTimeoutRandomized)', async () => {
    const c = await alone();
    const times = voteTimes(c);
    c.campaign('n1');
    c.setElectionTimeout('n1', PLAIN.electionTimeout!);
    await c.clock.advance(1);
    await c.waitFor(() => times.length > 40, 10_000, 1);
    const waits = times.slice(1).map((t, i) => t - times[i]);
    for (const w of waits) expect(w >= 100 && w <= 200).toBe(true);
    expect(new Set(waits).size).toBeGreaterThan(20);
    await c.stop();
  });
});

describe('§5.3 log replication', () => {
  test('§5.3: the leader appends a proposal, writes it to stable storage, and sends it to every follower with the index and term of the entry before it (etcd TestLeaderStartReplication)', async () => {
    const c = await cluster(3, {}, { syncDelay: 2 });
    await elect(c, 'n1');
    const appends = c.hub.intercept(matching({ type: 'AppendEntries', from: 'n1' }), 'hold');
    proposeLater(c, 'n1', 'some data');
    await c.clock.advance(0);
    expect(c.replication('n1')).toMatchObject({ lastIndex: 2, commitIndex: 1, unstable: [{ index: 2, term: 1 }] });
    expect(appends.held.map((e) => [e.to, (e.message as AppendEntries).prevLogIndex, (e.message as AppendEntries).prevLogTerm, (e.message as AppendEntries).leaderCommit])).toEqual([
      ['n2', 1, 1, 1],
      ['n3', 1, 1, 1],
    ]);
    for (const e of appends.held) expect((e.message as AppendEntries).entries.map((x) => [x.index, x.term, new TextDecoder().decode(x.data)])).toEqual([[2, 1, 'some data']]);
    await c.clock.advance(2);
    expect(c.replication('n1')).toMatchObject({ durableIndex: 2, unstable: [] });
    await c.stop();
  });

  test('§5.3: once a majority stores an entry the leader commits and applies it, and tells the followers the new commit index (etcd TestLeaderCommitEntry)', async () => {
    const c = await cluster(3);
    await elect(c, 'n1');
    const p = proposeLater(c, 'n1', 'some data');
    await c.clock.advance(5);
    expect(p.outcome).toBe('committed');
    expect(c.replication('n1')).toMatchObject({ commitIndex: 2, appliedIndex: 2 });
    expect(c.committedData('n1')).toEqual(['some data']);
    const next = c.hub.intercept(matching({ type: 'AppendEntries', from: 'n1' }), 'pass');
    await c.clock.advance(PLAIN.heartbeatInterval!);
    expect(next.seen.map((e) => [e.to, (e.message as AppendEntries).leaderCommit])).toEqual([
      ['n2', 2],
      ['n3', 2],
    ]);
    await c.stop();
  });

  // [cluster size, followers that store the entry, committed]
  const acks: [number, string[], boolean][] = [
    [1, [], true],
    [3, [], false],
    [3, ['n2'], true],
    [3, ['n2', 'n3'], true],
    [5, [], false],
    [5, ['n2'], false],
    [5, ['n2', 'n3'], true],
    [5, ['n2', 'n3', 'n4'], true],
    [5, ['n2', 'n3', 'n4', 'n5'], true],
  ];
  test.each(acks)('§5.3: in a cluster of %i where %j store the entry, it is committed: %s — a majority, the leader included (etcd TestLeaderAcknowledgeCommit)', async (size, acceptors, committed) => {
    const c = await cluster(size);
    await elect(c, 'n1');
    c.hub.intercept((e) => e.message.type === 'AppendEntries' && e.from === 'n1' && !acceptors.includes(e.to), 'drop');
    proposeLater(c, 'n1');
    await c.clock.advance(50);
    expect(c.replication('n1').commitIndex > 1).toBe(committed);
    await c.stop();
  });

  test.each([[[]], [[2]], [[1, 2]], [[1]]])('§5.3: committing an entry of its term commits every entry before it, from earlier leaders too (log %j; etcd TestLeaderCommitPrecedingEntries)', async (log: number[]) => {
    const c = await seeded({ n1: { term: 2, log }, n2: { term: 2, log }, n3: { term: 2, log } });
    await elect(c, 'n1');
    proposeLater(c, 'n1', 'some data');
    await c.clock.advance(10);
    expect(c.replication('n1').log.map((e) => e.term)).toEqual([...log, 3, 3]);
    expect(c.replication('n1').commitIndex).toBe(log.length + 2);
    expect(c.committedData('n1')).toEqual([...log.map((_, i) => String(i + 1)), 'some data']); // the no-op is not a command
    await c.stop();
  });

  test.each([
    [1, 1],
    [2, 2],
    [2, 1],
  ])('§5.3: a follower that learns the commit index applies the entries up to it, in log order (%i entries, commit %i; etcd TestFollowerCommitEntry)', async (count, commit) => {
    const c = await alone({ term: 1 });
    c.peer('n2').send('n1', { ...heartbeat(1, 'n2', commit), entries: entries(1, Array(count).fill(1)) });
    await c.clock.advance(5);
    expect(c.replication('n1')).toMatchObject({ commitIndex: commit, appliedIndex: commit });
    expect(c.committedData('n1')).toEqual(Array.from({ length: commit }, (_, i) => `e${i + 1}`));
    await c.stop();
  });

  // [prevLogTerm, prevLogIndex, expected answer] against a log [1, 2]
  const checks: [number, number, object][] = [
    [0, 0, { success: true, matchIndex: 0 }],
    [1, 1, { success: true, matchIndex: 1 }],
    [2, 2, { success: true, matchIndex: 2 }],
    [1, 2, { success: false, rejectedIndex: 2, conflictTerm: 2, conflictIndex: 2 }], // a different term at index 2
    [3, 3, { success: false, rejectedIndex: 3, conflictTerm: 0, conflictIndex: 3 }], // no entry at index 3
  ];
  test.each(checks)('§5.3: a follower accepts AppendEntries only if it holds an entry of term %i at index %i (etcd TestFollowerCheckMsgApp)', async (prevLogTerm, prevLogIndex, answer) => {
    const c = await alone({ term: 2, log: [1, 2] });
    c.peer('n2').send('n1', { ...heartbeat(2, 'n2'), prevLogIndex, prevLogTerm });
    await c.clock.advance(5);
    expect(taken(c.peer('n2'), 'AppendEntriesResponse').map((e) => e.message)).toEqual([expect.objectContaining({ term: 2, ...answer })]);
    await c.stop();
  });

  // [prevLogIndex, prevLogTerm, first index and terms sent, log after, unstable after] against a log [1, 2]
  const appends: [number, number, [number, number[]], number[], number[]][] = [
    [2, 2, [3, [3]], [1, 2, 3], [3]],
    [1, 1, [2, [3, 4]], [1, 3, 4], [2, 3]],
    [0, 0, [1, [1]], [1, 2], []],
    [0, 0, [1, [3]], [3], [1]],
  ];
  test.each(appends)('§5.3: after prev (%i, %i) a follower deletes a conflicting entry and all after it, appends the new ones and writes them to stable storage (etcd TestFollowerAppendEntries)', async (prevLogIndex, prevLogTerm, [first, sent], after, unstable) => {
    const c = await alone({ term: 2, log: [1, 2] });
    c.peer('n2').send('n1', { ...heartbeat(2, 'n2'), prevLogIndex, prevLogTerm, entries: entries(first, sent) });
    await c.clock.advance(1); // delivered, not yet synced
    const view = c.replication('n1');
    expect(view.log.map((e) => e.term)).toEqual(after);
    expect(view.unstable.map((e) => e.index)).toEqual(unstable);
    await c.clock.advance(5);
    expect(c.logTerms('n1')).toEqual(after);
    await c.stop();
  });

  const LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  test.each([
    ['a', [1, 1, 1, 4, 4, 5, 5, 6, 6]],
    ['b', [1, 1, 1, 4]],
    ['c', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
    ['d', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
    ['e', [1, 1, 1, 4, 4, 4, 4]],
    ['f', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
  ])('§5.3, Figure 7 (%s): the leader brings a follower\'s log to its own (etcd TestLeaderSyncFollowerLog)', async (_name, log) => {
    // The third server has an empty log: it votes for the leader when the follower would not.
    const c = await seeded({ leader: { term: 8, log: LEADER }, follower: { term: 7, log }, third: { term: 8 } });
    await elect(c, 'leader');
    proposeLater(c, 'leader');
    await c.clock.advance(50);
    expect(c.logTerms('follower')).toEqual(c.logTerms('leader'));
    expect(c.logTerms('leader')).toEqual([...LEADER, 9, 9]);
    await c.stop();
  });
});

describe('§5.4 safety', () => {
  test.each([
    [[1], 2],
    [[1, 2], 3],
  ])('§5.4.1: a RequestVote carries the index and term of the candidate\'s last entry, to every other server (log %j; etcd TestVoteRequest)', async (log, term) => {
    const c = await alone();
    c.peer('n2').send('n1', { ...heartbeat(term - 1, 'n2'), entries: entries(1, log) });
    await c.clock.advance(5);
    taken(c.peer('n2'), 'AppendEntriesResponse');
    c.campaign('n1');
    await c.clock.advance(2);
    const ask = { type: 'RequestVote', term, candidateId: 'n1', lastLogIndex: log.length, lastLogTerm: log[log.length - 1], leadershipTransfer: false };
    expect(taken(c.peer('n2'), 'RequestVote').map((e) => e.message)).toEqual([ask]);
    expect(taken(c.peer('n3'), 'RequestVote').map((e) => e.message)).toEqual([ask]);
    await c.stop();
  });

  // [voter's log, candidate's lastLogTerm, candidate's lastLogIndex, refused]
  const voters: [number[], number, number, boolean][] = [
    [[1], 1, 1, false],
    [[1], 1, 2, false],
    [[1, 1], 1, 1, true],
    [[1], 2, 1, false],
    [[1], 2, 2, false],
    [[1, 1], 2, 1, false],
    [[2], 1, 1, true],
    [[2], 1, 2, true],
    [[2, 2], 1, 1, true],
    [[1, 1], 1, 1, true],
  ];
  test.each(voters)('§5.4.1: a voter with log %j refuses a candidate whose last entry is (term %i, index %i) when its own log is more up to date: %s (etcd TestVoter)', async (log, lastLogTerm, lastLogIndex, refused) => {
    const c = await alone({ term: log[log.length - 1], log }, ['n2']);
    c.peer('n2').send('n1', { type: 'RequestVote', term: 3, candidateId: 'n2', lastLogIndex, lastLogTerm, leadershipTransfer: false });
    await c.clock.advance(5);
    expect(taken(c.peer('n2'), 'RequestVoteResponse').map((e) => e.message)).toEqual([{ type: 'RequestVoteResponse', term: 3, voteGranted: !refused }]);
    await c.stop();
  });

  test.each([
    [1, 0],
    [2, 0],
    [3, 3],
  ])('§5.4.2: only entries of the leader\'s current term are committed by counting replicas (follower stores up to %i → commit %i; etcd TestLeaderOnlyCommitsLogFromCurrentTerm)', async (matchIndex, commit) => {
    const c = await alone({ term: 2, log: [1, 2] }, ['n2']);
    await leadAlone(c, ['n2']); // term 3; its no-op is entry 3
    await c.clock.advance(5);
    c.peer('n2').send('n1', { ...accept({ ...heartbeat(3, 'n1'), prevLogIndex: matchIndex }), matchIndex });
    await c.clock.advance(5);
    expect(c.replication('n1').commitIndex).toBe(commit);
    await c.stop();
  });
});
