/**
 * PreVote (Raft dissertation §9.6): the PreVote scenarios of etcd-io/raft's raft_test.go,
 * ported to rxraft/testing. A pre-candidate asks whether it could win term + 1 before
 * raising its term; a pre-vote changes no state; a voter that heard from a leader within
 * the minimum election timeout refuses (rxraft applies that rule whether or not
 * CheckQuorum is on: its PreVote always honours a live leader).
 *
 * Differences from etcd:
 * - A leader refuses every pre-vote (it is alive); etcd grants one without CheckQuorum.
 *   TestPreVoteFromAnyState's leader row expects a refusal here.
 * - A freshly started voter refuses pre-votes for the minimum election timeout (it may
 *   have been inside a leader's lease before a restart), so scenarios first let that
 *   window pass.
 * - etcd flips `preVote` on a live node (TestPreVoteMigration*); an rxraft node takes
 *   its options at start, so the node is restarted with PreVote on (its log and term
 *   survive; its role restarts as follower).
 *
 * Not ported:
 * - TestPreVoteFromAnyState's "state stays the same" for a leader: see above.
 */
import { matching, TestCluster } from '../../src/testing';
import { campaign, cluster, elect, heartbeat, MIN_TIMEOUT, proposeLater, roles, seeded, taken, terms } from './script';

const PRE_VOTE = { preVote: true };
const CQ_PRE_VOTE = { preVote: true, checkQuorum: true };

describe('§9.6 PreVote', () => {
  test.each(['follower', 'precandidate', 'candidate'] as const)('§9.6: a %s with no live leader grants a pre-vote for a newer term and changes nothing (etcd TestPreVoteFromAnyState)', async (state) => {
    const c = await seeded({ n1: { term: 1 } }, { preVote: state !== 'candidate' }, { scripted: ['n2', 'n3'] });
    c.peer('n3').send('n1', heartbeat(1, 'n3'));
    await c.clock.advance(MIN_TIMEOUT + 5); // the leader has been silent for the minimum election timeout
    if (state !== 'follower') c.campaign('n1');
    await c.clock.advance(2);
    const before = c.replication('n1');
    expect(before.role).toBe(state);
    const term = before.term + 1;
    c.peer('n2').send('n1', { type: 'PreVote', term, candidateId: 'n2', lastLogIndex: 42, lastLogTerm: term });
    await c.clock.advance(3);
    expect(taken(c.peer('n2'), 'PreVoteResponse').map((e) => e.message)).toEqual([{ type: 'PreVoteResponse', term, voteGranted: true }]);
    expect(c.replication('n1')).toMatchObject({ role: state, term: before.term, votedFor: before.votedFor });
    await c.stop();
  });

  test('§9.6: a leader refuses a pre-vote: it is alive (etcd TestPreVoteFromAnyState, leader row; rxraft refuses where etcd grants)', async () => {
    const c = await seeded({ n1: { term: 1 } }, PRE_VOTE, { scripted: ['n2', 'n3'] });
    await c.clock.advance(MIN_TIMEOUT);
    c.campaign('n1');
    await c.clock.advance(2);
    for (const { message } of taken(c.peer('n3'), 'PreVote')) c.peer('n3').send('n1', { type: 'PreVoteResponse', term: message.term, voteGranted: true });
    await c.clock.advance(3);
    for (const { message } of taken(c.peer('n3'), 'RequestVote')) c.peer('n3').send('n1', { type: 'RequestVoteResponse', term: message.term, voteGranted: true });
    await c.clock.advance(3);
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 2 });
    c.peer('n2').send('n1', { type: 'PreVote', term: 3, candidateId: 'n2', lastLogIndex: 42, lastLogTerm: 3 });
    await c.clock.advance(3);
    expect(taken(c.peer('n2'), 'PreVoteResponse').map((e) => e.message)).toEqual([{ type: 'PreVoteResponse', term: 2, voteGranted: false }]);
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 2 });
    await c.stop();
  });

  test('§9.6: of two pre-candidates kept apart, the one with a shorter log fails, and cannot disrupt the leader later either (etcd TestDuelingPreCandidates)', async () => {
    const c = await cluster(3, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    c.hub.partition(['n1'], ['n3']);
    await campaign(c, 'n1');
    await campaign(c, 'n3');
    expect(c.replication('n1').role).toBe('leader');
    expect(c.replication('n3')).toMatchObject({ role: 'follower', term: 1 }); // refused by n2, it learned term 1 from the refusal
    c.hub.heal();
    await campaign(c, 'n3');
    expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'follower' });
    expect(terms(c)).toEqual({ n1: 1, n2: 1, n3: 1 });
    expect(c.replication('n1').lastIndex).toBe(1);
    await c.stop();
  });

  test('§9.6: a node whose term fell behind while cut off can still complete an election after the leader fails (etcd TestNodeWithSmallerTermCanCompleteElection)', async () => {
    const c = await seeded({ n1: { term: 1 }, n2: { term: 1 }, n3: { term: 1 } }, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    c.hub.partition(['n1', 'n2'], ['n3']);
    await elect(c, 'n1');
    await campaign(c, 'n3');
    expect(c.replication('n3')).toMatchObject({ role: 'precandidate', term: 1 });
    // n2 takes over in term 3 (rxraft's PreVote refuses while n1 is alive: a hand-over instead)
    void c.node('n1').transferLeadership('n2');
    await c.clock.advance(20);
    expect(terms(c)).toEqual({ n1: 3, n2: 3, n3: 1 });
    expect(roles(c)).toEqual({ n1: 'follower', n2: 'leader', n3: 'precandidate' });
    // n3 comes back as n2 fails
    c.hub.heal();
    c.hub.isolate('n2');
    await c.clock.advance(MIN_TIMEOUT);
    await campaign(c, 'n3');
    await campaign(c, 'n1');
    expect([c.replication('n1').role, c.replication('n3').role]).toContain('leader');
    await c.stop();
  });

  test('§9.6: after a split vote among pre-candidates that both passed, the next campaign completes the election (etcd TestPreVoteWithSplitVote)', async () => {
    const c = await seeded({ n1: { term: 1 }, n2: { term: 1 }, n3: { term: 1 } }, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    await elect(c, 'n1');
    c.hub.isolate('n1');
    c.campaign('n2');
    c.campaign('n3');
    await c.clock.advance(20);
    expect(roles(c, ['n2', 'n3'])).toEqual({ n2: 'candidate', n3: 'candidate' });
    expect(terms(c, ['n2', 'n3'])).toEqual({ n2: 3, n3: 3 });
    await campaign(c, 'n2');
    expect(roles(c, ['n2', 'n3'])).toEqual({ n2: 'leader', n3: 'follower' });
    expect(terms(c, ['n2', 'n3'])).toEqual({ n2: 4, n3: 4 });
    await c.stop();
  });

  test('§9.6: with PreVote and CheckQuorum, a voter that heard from the old leader refuses one pre-candidate; the election still completes (etcd TestPreVoteWithCheckQuorum)', async () => {
    const c = await seeded({ n1: { term: 1 }, n2: { term: 1 }, n3: { term: 1 } }, CQ_PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    await elect(c, 'n1');
    c.hub.isolate('n1');
    expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'follower' });
    c.campaign('n3'); // n2 still hears n1 in its memory: refuses
    await c.clock.advance(2);
    await campaign(c, 'n2'); // n3, a pre-candidate itself, no longer vouches for n1
    expect(c.replication('n2').role === 'leader' || c.replication('n3').role === 'follower').toBe(true);
    await c.stop();
  });

  /**
   * A rolling upgrade to PreVote: n1 (leader, term 2) and n2 run PreVote; n3, cut off
   * without it, campaigned up to term 4 with a shorter log, then restarts with PreVote.
   */
  async function migration(): Promise<TestCluster> {
    let n3PreVote = false;
    const c = await seeded({ n1: { term: 1 }, n2: { term: 1 }, n3: { term: 1 } }, PRE_VOTE, {
      nodeOptionsFor: (id) => (id === 'n3' ? { preVote: n3PreVote } : {}),
    });
    await c.clock.advance(MIN_TIMEOUT);
    await elect(c, 'n1');
    c.hub.isolate('n3');
    proposeLater(c, 'n1', 'some data');
    await campaign(c, 'n3');
    await campaign(c, 'n3');
    expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'candidate' });
    expect(terms(c)).toEqual({ n1: 2, n2: 2, n3: 4 });
    n3PreVote = true;
    await c.restart('n3');
    await c.clock.advance(MIN_TIMEOUT);
    return c;
  }

  test('§9.6: in a cluster migrating to PreVote, a node with a higher term but a shorter log does not stop an election (etcd TestPreVoteMigrationCanCompleteElection)', async () => {
    const c = await migration();
    c.hub.heal();
    c.hub.isolate('n1'); // the leader fails
    c.campaign('n3');
    await campaign(c, 'n2');
    expect(roles(c, ['n2', 'n3'])).toEqual({ n2: 'follower', n3: 'precandidate' }); // n2 learned term 4 from n3's refusal
    c.campaign('n3');
    await campaign(c, 'n2');
    expect(c.replication('n2').role === 'leader' || c.replication('n3').role === 'follower').toBe(true);
    await c.stop();
  });

  test('§9.6: in a cluster migrating to PreVote, a stuck pre-candidate of a higher term is freed when its answer to the leader\'s heartbeat deposes the leader (etcd TestPreVoteMigrationWithFreeStuckPreCandidate)', async () => {
    const c = await migration();
    const late = c.hub.intercept(matching({ type: 'AppendEntries', from: 'n1', to: 'n3' }), 'hold');
    c.hub.heal();
    await campaign(c, 'n3', 5);
    expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'precandidate' });
    await campaign(c, 'n3', 5); // again, for safety
    expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'precandidate' });
    late.remove();
    late.release();
    await c.clock.advance(5);
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 4 });
    expect(c.replication('n3').term).toBe(4);
    await c.stop();
  });
});
