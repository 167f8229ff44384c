/**
 * CheckQuorum and leader stickiness (Raft dissertation §6.2, §4.2.3, §9.6): the
 * CheckQuorum scenarios of etcd-io/raft's raft_test.go, ported to rxraft/testing. With
 * `checkQuorum` on, a leader that has not heard from a majority for the minimum election
 * timeout steps down, and a voter that heard from its leader within that timeout
 * disregards RequestVote (and keeps its term) — except a campaign started by TimeoutNow.
 *
 * Several of these rely on leader stickiness for RequestVote (issue 14, deliverable 1);
 * they fail on code without it. etcd's "ticks" are virtual time here: a voter whose
 * election time "elapsed" is one that has not heard from its leader for the minimum
 * election timeout (its leader's AppendEntries are cut).
 *
 * All ported; none skipped.
 */
import { cluster, elect, campaign, MIN_TIMEOUT, proposeLater, roles, terms } from './script';
import { matching, TestCluster } from '../../src/testing';

const CQ = { checkQuorum: true }; // PreVote off, as in etcd's tests
const CQ_PRE_VOTE = { checkQuorum: true, preVote: true };

/** A checkQuorum cluster of three, past the start-up window, with n1 elected. */
async function ledByN1(options: object = CQ): Promise<TestCluster> {
  const c = await cluster(3, options);
  await c.clock.advance(MIN_TIMEOUT);
  await elect(c, 'n1');
  return c;
}

/** Cuts the leader's AppendEntries to `ids` (their election time "elapses"). */
function silence(c: TestCluster, leader: string, ids: string[]): void {
  for (const id of ids) c.hub.block(leader, id);
}

test('§6.2: a leader that keeps hearing from a majority stays leader (etcd TestLeaderStepdownWhenQuorumActive)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  await c.clock.advance(3 * MIN_TIMEOUT);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 1 });
  await c.stop();
});

test('§6.2: a leader that hears from no majority for the minimum election timeout steps down (etcd TestLeaderStepdownWhenQuorumLost)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n1');
  await c.clock.advance(2 * MIN_TIMEOUT);
  expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 1 });
  await c.stop();
});

test('§4.2.3: a voter that heard from its leader within the minimum election timeout disregards a newer-term RequestVote; once that time has passed it votes (etcd TestLeaderSupersedingWithCheckQuorum)', async () => {
  const c = await ledByN1();
  silence(c, 'n1', ['n3']); // n3 campaigns as if its timer ran out; the leader's heartbeats to it are lost
  await campaign(c, 'n3', 5);
  expect(c.replication('n3')).toMatchObject({ role: 'candidate', term: 2 });
  expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 1, leaderId: 'n1' }); // term kept, no vote
  expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 1 });
  silence(c, 'n1', ['n2']);
  await c.clock.advance(MIN_TIMEOUT);
  await campaign(c, 'n3');
  expect(c.replication('n3')).toMatchObject({ role: 'leader', term: 3 });
  await c.stop();
});

test('§4.2.3: voters that have not heard from a leader vote at once; when the leader has been silent for the minimum election timeout another node wins (etcd TestLeaderElectionWithCheckQuorum)', async () => {
  const c = await ledByN1();
  expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'follower' });
  silence(c, 'n1', ['n2', 'n3']);
  await c.clock.advance(MIN_TIMEOUT + 10);
  await campaign(c, 'n3');
  expect(c.replication('n3')).toMatchObject({ role: 'leader', term: 2 });
  expect(c.replication('n1').role).toBe('follower');
  await c.stop();
});

test('§4.2.3, §6.2: a candidate stuck on a higher term is freed: its answer to the old leader\'s heartbeat deposes it, and it then wins (etcd TestFreeStuckCandidateWithCheckQuorum)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n1');
  await campaign(c, 'n3', 5);
  expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 1 });
  expect(c.replication('n3')).toMatchObject({ role: 'candidate', term: 2 });
  await campaign(c, 'n3', 5); // again, for safety
  expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 1 });
  expect(c.replication('n3')).toMatchObject({ role: 'candidate', term: 3 });
  c.hub.heal();
  await c.clock.advance(15); // n1's next heartbeat reaches n3, which answers with term 3
  expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 3 });
  await campaign(c, 'n3');
  expect(c.replication('n3')).toMatchObject({ role: 'leader', term: 4 });
  await c.stop();
});

test('§4.2.3: a voter missing from its own configuration never campaigns, yet votes for and follows the leader (etcd TestNonPromotableVoterWithCheckQuorum)', async () => {
  // n1's log names n1 and n2 as voters; n2 starts knowing no configuration with itself in it.
  const c = TestCluster.fromLogs(
    { n1: { term: 1, log: [{ term: 1, config: { voters: ['n1', 'n2'] } }] } },
    { manualElections: true, nodeOptions: { ...CQ, preVote: false, heartbeatInterval: 10, electionTimeout: { min: MIN_TIMEOUT, max: 2 * MIN_TIMEOUT } } },
  );
  c.join('n2');
  await c.clock.advance(MIN_TIMEOUT);
  await campaign(c, 'n2');
  expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 0 });
  c.campaign('n1');
  await c.clock.advance(10);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 2 });
  expect(c.replication('n2')).toMatchObject({ role: 'follower', leaderId: 'n1' });
  await c.stop();
});

test('§4.2.3, §6.2: a follower whose leader\'s heartbeats are late campaigns; voters disregard it, and its answer to a late heartbeat deposes the leader (etcd TestDisruptiveFollower)', async () => {
  const c = await ledByN1();
  const late = c.hub.intercept(matching({ type: 'AppendEntries', from: 'n1', to: 'n3' }), 'hold');
  await campaign(c, 'n3', 5);
  expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'candidate' });
  expect(terms(c)).toEqual({ n1: 1, n2: 1, n3: 2 });
  late.remove();
  late.release(); // the leader's late heartbeat, of the older term, arrives
  await c.clock.advance(5);
  expect(roles(c)).toEqual({ n1: 'follower', n2: 'follower', n3: 'candidate' });
  expect(terms(c)).toEqual({ n1: 2, n2: 1, n3: 2 });
  await c.stop();
});

test('§9.6: with PreVote, a follower that fell behind cannot disrupt the leader: its pre-vote fails and a late heartbeat brings it back (etcd TestDisruptiveFollowerPreVote)', async () => {
  const c = await ledByN1(CQ_PRE_VOTE);
  c.hub.isolate('n3');
  for (let i = 0; i < 3; i++) proposeLater(c, 'n1', `somedata${i}`);
  await c.clock.advance(10);
  c.hub.heal();
  await campaign(c, 'n3', 3);
  expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'precandidate' });
  expect(terms(c)).toEqual({ n1: 1, n2: 1, n3: 1 });
  await c.clock.advance(20);
  expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'follower' });
  await c.stop();
});
