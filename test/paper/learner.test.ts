/**
 * Learners (Raft dissertation §4.2.1): non-voting members that receive the log. The
 * learner scenarios of etcd-io/raft's raft_test.go, ported to rxraft/testing; learners
 * are seeded through configuration entries in the log (`{ term, config }`).
 *
 * Not ported:
 * - TestRestoreWithLearner, TestRestoreVoterToLearner, TestRestoreLearnerPromotion,
 *   TestLearnerReceiveSnapshot: they restore etcd snapshots carrying a ConfState by hand;
 *   rxraft's snapshot configurations are tested in test/scenarios/snapshots.test.ts.
 * - TestRemoveLearner: covered by test/scenarios/membership.test.ts.
 */
import { campaign, elect, MIN_TIMEOUT, PLAIN, proposeLater, roles, seeded, taken } from './script';

const config = { voters: ['n1'], learners: ['n2'] };
/** n1 a voter and n2 a learner, from a configuration entry both logs hold. */
const seeds = { n1: { term: 1, log: [{ term: 1, config }] }, n2: { term: 1, log: [{ term: 1, config }] } };

test('§4.2.1: a learner never starts an election, even when its election timer runs out (etcd TestLearnerElectionTimeout)', async () => {
  const c = await seeded(seeds);
  c.setElectionTimeout('n2', PLAIN.electionTimeout!);
  await c.clock.advance(3 * PLAIN.electionTimeout!.max);
  expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 1 });
  await c.stop();
});

test('§4.2.1: a learner campaigns only once promoted to voter; then it can win (etcd TestLearnerPromotion)', async () => {
  const c = await seeded(seeds);
  await elect(c, 'n1');
  expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower' });
  await campaign(c, 'n2');
  expect(c.replication('n2').role).toBe('follower');
  void c.node('n1').promote('n2');
  await c.clock.advance(30);
  expect(c.replication('n2').config).toMatchObject({ voters: ['n1', 'n2'], learners: [] });
  await campaign(c, 'n2');
  expect(roles(c)).toEqual({ n1: 'follower', n2: 'leader' });
  await c.stop();
});

test('§4.2.1: a learner grants a vote when asked (its configuration may be older than the candidate\'s) (etcd TestLearnerCanVote)', async () => {
  const c = await seeded({ n2: seeds.n2 }, {}, { scripted: ['n1'] });
  c.peer('n1').send('n2', { type: 'RequestVote', term: 2, candidateId: 'n1', lastLogIndex: 11, lastLogTerm: 11, leadershipTransfer: false });
  await c.clock.advance(5);
  expect(taken(c.peer('n1'), 'RequestVoteResponse').map((e) => e.message)).toEqual([{ type: 'RequestVoteResponse', term: 2, voteGranted: true }]);
  await c.stop();
});

test('§4.2.1: a learner receives the log and the commit index from the leader (etcd TestLearnerLogReplication)', async () => {
  const c = await seeded(seeds);
  await elect(c, 'n1');
  proposeLater(c, 'n1', 'somedata');
  await c.clock.advance(20);
  const leader = c.replication('n1');
  expect(leader.commitIndex).toBe(3);
  expect(c.replication('n2').commitIndex).toBe(leader.commitIndex);
  expect(leader.progress!.get('n2')!.match).toBe(leader.commitIndex);
  expect(c.committedData('n2')).toEqual(['somedata']);
  await c.stop();
});

test('§4.2.1: a learner ignores a campaign and a TimeoutNow (etcd TestLearnerCampaign)', async () => {
  const c = await seeded(seeds);
  await campaign(c, 'n2');
  expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 1 });
  await elect(c, 'n1');
  expect(c.replication('n1')).toMatchObject({ role: 'leader', leaderId: 'n1' });
  c.hub.inject('n1', 'n2', { type: 'TimeoutNow', term: c.replication('n1').term });
  await c.clock.advance(5);
  expect(c.replication('n2')).toMatchObject({ role: 'follower', leaderId: 'n1' });
  await c.stop();
});

test('§4.2.1: a learner\'s acknowledgements do not count toward a majority (etcd TestAddLearner, rxraft\'s rule)', async () => {
  // Two voters and a learner: with n2 cut off, the learner's copy does not commit anything.
  const three = { voters: ['n1', 'n2'], learners: ['n3'] };
  const log = [{ term: 1, config: three }];
  const c = await seeded({ n1: { term: 1, log }, n2: { term: 1, log }, n3: { term: 1, log } });
  await c.clock.advance(MIN_TIMEOUT);
  await elect(c, 'n1');
  c.hub.isolate('n2');
  proposeLater(c, 'n1', 'x');
  await c.clock.advance(30);
  expect(c.replication('n1').progress!.get('n3')!.match).toBe(3);
  expect(c.replication('n1').commitIndex).toBe(2);
  await c.stop();
});
