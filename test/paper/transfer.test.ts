/**
 * Leadership transfer (Raft dissertation §3.10): the transfer scenarios of etcd-io/raft's
 * raft_test.go, ported to rxraft/testing. The leader brings the target's log up to date,
 * sends it TimeoutNow, and the target campaigns at once (skipping PreVote and leader
 * stickiness); the transfer is abandoned after an election timeout (`electionTimeout.max`).
 *
 * Differences from etcd:
 * - A second transfer while one is under way is refused (`LeadershipTransferError`),
 *   whoever it names; etcd replaces the first (TestLeaderTransferSecondTransferToAnotherNode)
 *   or cancels it (TestLeaderTransferBack). The ported tests check rxraft's rule and that
 *   the second request does not extend the first one's deadline, as etcd's
 *   TestLeaderTransferSecondTransferToSameNode does.
 * - Proposals made on the leader during a transfer wait and then go to the new leader
 *   (etcd drops them with ErrProposalDropped): nothing is appended meanwhile.
 *
 * Not ported:
 * - TestLeaderTransferToUpToDateNodeFromFollower: `transferLeadership` is asked of the
 *   leader in rxraft (a follower refuses with NotLeaderError); etcd forwards it.
 * - TestLeaderTransferRemoveNode, TestLeaderTransferDemoteNode: rxraft refuses
 *   configuration changes while a transfer is under way, so the target cannot be removed
 *   or demoted in the middle of one.
 */
import { LeadershipTransferError } from '../../src/errors';
import { matching, TestCluster } from '../../src/testing';
import { campaign, cluster, elect, MIN_TIMEOUT, PLAIN, proposeLater, roles, seeded } from './script';

const TRANSFER_DEADLINE = PLAIN.electionTimeout!.max;

/** Asks `from` to hand leadership to `to`; the outcome is kept, never thrown. */
function transfer(c: TestCluster, from: string, to: string): { outcome?: { leaderId: string } | Error } {
  const result: { outcome?: { leaderId: string } | Error } = {};
  c.node(from)
    .transferLeadership(to)
    .then(
      (v) => (result.outcome = v),
      (e: Error) => (result.outcome = e),
    );
  return result;
}

async function ledByN1(options = {}): Promise<TestCluster> {
  const c = await cluster(3, options);
  await c.clock.advance(MIN_TIMEOUT);
  await elect(c, 'n1');
  return c;
}

test('§3.10: leadership moves to an up-to-date follower, and back after more replication (etcd TestLeaderTransferToUpToDateNode)', async () => {
  const c = await ledByN1();
  const first = transfer(c, 'n1', 'n2');
  await c.clock.advance(20);
  expect(first.outcome).toEqual({ leaderId: 'n2' });
  expect(c.replication('n1')).toMatchObject({ role: 'follower', leaderId: 'n2', transfer: null });
  proposeLater(c, 'n2');
  await c.clock.advance(20);
  const back = transfer(c, 'n2', 'n1');
  await c.clock.advance(20);
  expect(back.outcome).toEqual({ leaderId: 'n1' });
  expect(c.replication('n1')).toMatchObject({ role: 'leader', leaderId: 'n1', transfer: null });
  await c.stop();
});

test('§3.10, §4.2.3: a transfer succeeds while the leader\'s lease holds: TimeoutNow overrides CheckQuorum\'s stickiness (etcd TestLeaderTransferWithCheckQuorum)', async () => {
  const c = await ledByN1({ checkQuorum: true });
  const first = transfer(c, 'n1', 'n2');
  await c.clock.advance(20);
  expect(first.outcome).toEqual({ leaderId: 'n2' });
  expect(c.replication('n1')).toMatchObject({ role: 'follower', leaderId: 'n2' });
  proposeLater(c, 'n2');
  await c.clock.advance(20);
  const back = transfer(c, 'n2', 'n1');
  await c.clock.advance(20);
  expect(back.outcome).toEqual({ leaderId: 'n1' });
  await c.stop();
});

test('§3.10: a transfer to a follower that lacks entries first brings its log up to date (etcd TestLeaderTransferToSlowFollower)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  proposeLater(c, 'n1');
  await c.clock.advance(20);
  c.hub.heal();
  expect(c.replication('n1').progress!.get('n3')!.match).toBe(1);
  const t = transfer(c, 'n1', 'n3');
  await c.clock.advance(30);
  expect(t.outcome).toEqual({ leaderId: 'n3' });
  expect(c.replication('n1')).toMatchObject({ role: 'follower', leaderId: 'n3' });
  expect(c.logTerms('n3')).toEqual([1, 1, 2]);
  await c.stop();
});

test('§3.10, ch. 5: a transfer to a follower that needs a snapshot waits for it to install, then completes (etcd TestLeaderTransferAfterSnapshot)', async () => {
  const stateMachine = { snapshot: () => [new Uint8Array([1])], restore: () => undefined };
  const snapshot = { everyEntries: 3, keepEntries: 0, catchUpEntries: 0, chunkBytes: 1024 };
  const c = await ledByN1({ stateMachine, snapshot });
  c.hub.isolate('n3');
  for (let i = 0; i < 6; i++) proposeLater(c, 'n1', `w${i}`);
  await c.clock.advance(30);
  expect(c.replication('n1').snapshotIndex).toBeGreaterThan(1); // n3's next entry is compacted away
  const installed = c.hub.intercept(matching({ type: 'InstallSnapshotResponse', from: 'n3' }), 'hold');
  c.hub.heal();
  const t = transfer(c, 'n1', 'n3');
  await c.waitFor(() => installed.held.length > 0, TRANSFER_DEADLINE, 1);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', transfer: { to: 'n3', timeoutNowSent: false } });
  expect(c.replication('n1').progress!.get('n3')!.state).toBe('snapshot');
  installed.remove();
  installed.release();
  await c.clock.advance(30);
  expect(t.outcome).toEqual({ leaderId: 'n3' });
  expect(c.replication('n1')).toMatchObject({ role: 'follower', leaderId: 'n3' });
  await c.stop();
});

test.each(['n1', 'n4'])('§3.10: a transfer to %s (the leader itself, or no member) is refused and the leader stays (etcd TestLeaderTransferToSelf, TestLeaderTransferToNonExistingNode)', async (to) => {
  const c = await ledByN1();
  const t = transfer(c, 'n1', to);
  await c.clock.advance(5);
  expect(t.outcome).toBeInstanceOf(LeadershipTransferError);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', transfer: null });
  await c.stop();
});

test('§3.10: a transfer whose target does not take over within an election timeout is abandoned; the leader stays (etcd TestLeaderTransferTimeout)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  const t = transfer(c, 'n1', 'n3');
  await c.clock.advance(TRANSFER_DEADLINE - PLAIN.heartbeatInterval!);
  expect(c.replication('n1').transfer).toMatchObject({ to: 'n3' }); // TimeoutNow was sent, and lost
  expect(t.outcome).toBeUndefined();
  await c.clock.advance(2 * PLAIN.heartbeatInterval!);
  expect(t.outcome).toBeInstanceOf(LeadershipTransferError);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', leaderId: 'n1', transfer: null });
  await c.stop();
});

test('§3.10: a leader that CheckQuorum deposes during a transfer ends the transfer at once', async () => {
  const c = await ledByN1({ checkQuorum: true });
  c.hub.isolate('n1');
  await c.clock.advance(150); // the followers' last answers are 150 ms old
  const t = transfer(c, 'n1', 'n2');
  // CheckQuorum deposes n1 ~200 ms after the last answers, before the transfer's own deadline (150 + 200).
  await c.clock.advance(100);
  expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 1, transfer: null });
  expect(t.outcome).toBeInstanceOf(LeadershipTransferError);
  expect((t.outcome as Error).message).toMatch(/stepped down in term 1 before n2 took over/);
  await c.stop();
});

test('§3.10: stop({ transferLeadership }) on a leader cut off from its followers stops once CheckQuorum deposes it', async () => {
  const c = await ledByN1({ checkQuorum: true });
  c.hub.isolate('n1');
  await c.clock.advance(150);
  let stopped = false;
  void c.node('n1').stop({ transferLeadership: true }).then(() => (stopped = true));
  await c.clock.advance(30);
  expect(stopped).toBe(false); // handing over: n2 cannot answer yet
  await c.clock.advance(70);
  expect(stopped).toBe(true);
  await c.stop();
});

test('§3.10: a leader deposed by a newer term during a transfer fails the transfer when no leader follows within an election timeout', async () => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  const t = transfer(c, 'n1', 'n3'); // TimeoutNow is lost
  c.hub.block('n1', 'n2'); // n2 hears n1, but n1's vote never reaches it: nobody can win
  await campaign(c, 'n2');
  expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 2, leaderId: null, transfer: null });
  expect(t.outcome).toBeUndefined(); // n2 may yet win: wait
  await c.clock.advance(PLAIN.electionTimeout!.max - 30);
  expect(t.outcome).toBeUndefined();
  await c.clock.advance(20);
  expect(c.replication('n1').leaderId).toBeNull();
  expect(t.outcome).toBeInstanceOf(LeadershipTransferError);
  expect((t.outcome as Error).message).toMatch(/no new leader within 200 ms of n1 stepping down/);
  await c.stop();
});

test('§3.10: while a transfer is under way the leader appends no proposal (etcd TestLeaderTransferIgnoreProposal)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  transfer(c, 'n1', 'n3');
  await c.clock.advance(1);
  const p = proposeLater(c, 'n1');
  await c.clock.advance(PLAIN.heartbeatInterval!);
  expect(c.replication('n1')).toMatchObject({ lastIndex: 1, transfer: { to: 'n3' } });
  expect(c.replication('n1').progress!.get('n2')!.match).toBe(1);
  expect(p.outcome).toBeUndefined(); // it waits for the transfer's end
  await c.stop();
});

test('§3.10, §5.1: a RequestVote of a newer term during a transfer ends it: the leader steps down for the new term (etcd TestLeaderTransferReceiveHigherTermVote)', async () => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  const t = transfer(c, 'n1', 'n3');
  await c.clock.advance(1);
  await campaign(c, 'n2');
  expect(roles(c, ['n1', 'n2'])).toEqual({ n1: 'follower', n2: 'leader' });
  expect(c.replication('n1')).toMatchObject({ leaderId: 'n2', term: 2, transfer: null });
  expect(t.outcome).toEqual({ leaderId: 'n2' });
  await c.stop();
});

test.each(['n1', 'n2', 'n3'])('§3.10: a second transfer (to %s) while one is under way is refused, and the first keeps its deadline (etcd TestLeaderTransferBack, TestLeaderTransferSecondTransferToAnotherNode, TestLeaderTransferSecondTransferToSameNode)', async (to) => {
  const c = await ledByN1();
  c.hub.isolate('n3');
  const first = transfer(c, 'n1', 'n3');
  await c.clock.advance(TRANSFER_DEADLINE / 2);
  const second = transfer(c, 'n1', to);
  await c.clock.advance(1);
  expect(second.outcome).toBeInstanceOf(LeadershipTransferError);
  expect(first.outcome).toBeUndefined();
  await c.clock.advance(TRANSFER_DEADLINE / 2 + 2 * PLAIN.heartbeatInterval!); // well before a deadline counted from the second request
  expect(first.outcome).toBeInstanceOf(LeadershipTransferError);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', transfer: null });
  await c.stop();
});

test('§3.10, §4.1: TimeoutNow reaching a node that is not a voter of its configuration starts nothing (etcd TestTransferNonMember)', async () => {
  const c = await seeded({ n1: { term: 1, log: [{ term: 1, config: { voters: ['n2', 'n3', 'n4'] } }] } }, {}, { scripted: ['n2', 'n3', 'n4'] });
  c.peer('n2').send('n1', { type: 'TimeoutNow', term: 1 });
  await c.clock.advance(3);
  c.peer('n2').send('n1', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
  c.peer('n3').send('n1', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
  await c.clock.advance(3);
  expect(c.replication('n1').role).toBe('follower'); // it learned term 2 from the answers, and counted none
  expect(c.peer('n3').received).toEqual([]); // no RequestVote went out
  await c.stop();
});
