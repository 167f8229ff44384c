/**
 * Linearizable reads without the log (Raft dissertation §6.4): ReadIndex, and reads from
 * the leader's lease (§6.4.1). The ReadOnly scenarios of etcd-io/raft's raft_test.go,
 * ported to rxraft/testing (`node.read()` is etcd's MsgReadIndex; the resolved index is
 * its ReadState), then the two lease schedules of issue 14.
 *
 * The lease tests rely on leader stickiness (a voter that acknowledged the leader within
 * the minimum election timeout disregards RequestVote) and on a leader that has sent
 * TimeoutNow serving no lease read; they fail on code without issue 14's fix.
 *
 * Not ported: TestRaftFreesReadOnlyMem (etcd's internal read queue bookkeeping).
 */
import type { TestCluster } from '../../src/testing';
import { matching } from '../../src/testing';
import { campaign, cluster, elect, MIN_TIMEOUT, PLAIN, proposeLater, seeded } from './script';

const ROBUST = { preVote: true, checkQuorum: true };

/** Reads on `id` without waiting; the outcome is kept, never thrown. */
function readLater(c: TestCluster, id: string, lease = false): { outcome?: { index: number } | Error } {
  const result: { outcome?: { index: number } | Error } = {};
  c.node(id)
    .read({ lease })
    .then(
      (v) => (result.outcome = v),
      (e: Error) => (result.outcome = e),
    );
  return result;
}

/** Ten proposals on n1, committed. */
async function tenWrites(c: TestCluster): Promise<void> {
  for (let i = 0; i < 10; i++) proposeLater(c, 'n1');
  await c.clock.advance(20);
}

test.each([false, true])('§6.4: a read asked on the leader or a follower returns the commit index at the time of the read (lease %s; etcd TestReadOnlyOptionSafe, TestReadOnlyOptionLease)', async (lease) => {
  const c = await cluster(3, lease ? ROBUST : {});
  await c.clock.advance(MIN_TIMEOUT);
  await elect(c, 'n1');
  const reads: [string, number][] = [
    ['n1', 11],
    ['n2', 21],
    ['n3', 31],
    ['n1', 41],
    ['n2', 51],
    ['n3', 61],
  ];
  for (const [id, index] of reads) {
    await tenWrites(c);
    const r = readLater(c, id, lease);
    await c.clock.advance(10);
    expect(r.outcome).toEqual({ index });
  }
  await c.stop();
});

test('§6.4, §4.2.1: a learner\'s reads are answered by the leader like a follower\'s (etcd TestReadOnlyWithLearner)', async () => {
  const log = [{ term: 1, config: { voters: ['n1'], learners: ['n2'] } }];
  const c = await seeded({ n1: { term: 1, log }, n2: { term: 1, log } });
  await elect(c, 'n1');
  const reads: [string, number][] = [
    ['n1', 12],
    ['n2', 22],
    ['n1', 32],
    ['n2', 42],
  ];
  for (const [id, index] of reads) {
    await tenWrites(c);
    const r = readLater(c, id);
    await c.clock.advance(10);
    expect(r.outcome).toEqual({ index });
  }
  await c.stop();
});

test('§6.4 step 1: a new leader answers reads only once an entry of its own term has committed (etcd TestReadOnlyForNewLeader)', async () => {
  const c = await seeded({ n1: { term: 1, log: [1, 1] }, n2: { term: 1, log: [1, 1] }, n3: { term: 1, log: [1, 1] } });
  const appends = c.hub.intercept(matching({ type: 'AppendEntries' }), 'drop');
  await campaign(c, 'n1');
  expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 2, commitIndex: 0 });
  const early = readLater(c, 'n1');
  await c.clock.advance(30);
  expect(early.outcome).toBeUndefined();
  appends.remove();
  await c.clock.advance(30);
  expect(c.replication('n1').commitIndex).toBe(3); // its no-op of term 2
  expect(early.outcome).toEqual({ index: 3 });
  const later = readLater(c, 'n1');
  await c.clock.advance(10);
  expect(later.outcome).toEqual({ index: 3 });
  await c.stop();
});

test('§6.4: late heartbeat answers and a duplicated read request do not confirm a read on a deposed leader (etcd TestReadOnlyDuplicateRequest)', async () => {
  const c = await cluster(3);
  await elect(c, 'n1');
  // n2's read A: its request is duplicated later; the heartbeat answers it causes are delayed.
  const answers = c.hub.intercept(matching({ type: 'AppendEntriesResponse', to: 'n1' }), 'hold');
  const copies = c.hub.intercept(matching({ type: 'ReadIndexRequest', from: 'n2' }), 'pass', { times: 1 });
  const minimumA = c.replication('n1').commitIndex;
  const a = readLater(c, 'n2');
  await c.clock.advance(5);
  answers.remove();
  await c.clock.advance(15); // the next round's answers confirm A
  expect(a.outcome).toEqual({ index: expect.any(Number) });
  expect((a.outcome as { index: number }).index).toBeGreaterThanOrEqual(minimumA);
  // n1 is cut off; n2 leads term 2 and commits a write.
  const cut = c.hub.intercept((e) => e.from === 'n1' || e.to === 'n1', 'drop');
  await campaign(c, 'n2');
  proposeLater(c, 'n2', 'someOp');
  await c.clock.advance(20);
  const minimumB = c.replication('n2').commitIndex;
  expect(minimumB).toBeGreaterThan(minimumA);
  const b = readLater(c, 'n1'); // on the stale leader
  await c.clock.advance(1);
  // the duplicate of A, then the delayed answers, reach n1
  for (const e of copies.seen) c.hub.inject(e.from, e.to, e.message);
  answers.release();
  await c.clock.advance(10);
  expect(b.outcome).toBeUndefined(); // not confirmed by answers to older rounds
  cut.remove();
  await c.clock.advance(50);
  expect(b.outcome).toBeInstanceOf(Error); // n1 learned it was deposed
  await c.stop();
});

describe('§6.4.1 lease reads (issue 14)', () => {
  test('§3.10, §6.4.1: a leader that has sent TimeoutNow serves no lease read: the new leader\'s write cannot be missed (issue 14, schedule 1)', async () => {
    const c = await cluster(3, ROBUST);
    await c.clock.advance(MIN_TIMEOUT);
    await elect(c, 'n1');
    // From the moment n1 sends TimeoutNow, everything n2 and n3 send it is lost.
    let sent = false;
    c.hub.intercept((e) => {
      sent ||= e.message.type === 'TimeoutNow' && e.from === 'n1';
      return false;
    }, 'pass');
    c.hub.intercept((e) => sent && e.to === 'n1', 'drop');
    void c.node('n1').transferLeadership('n2').catch(() => undefined);
    await c.clock.advance(5);
    expect(c.replication('n2')).toMatchObject({ role: 'leader', term: 2 });
    const w = proposeLater(c, 'n2', 'W');
    await c.clock.advance(5);
    expect(w.outcome).toBe('committed');
    const wIndex = c.replication('n2').commitIndex;
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 1 }); // it has not heard of term 2
    const r = readLater(c, 'n1', true);
    await c.clock.advance(2 * MIN_TIMEOUT);
    // n1 never learns W: a read it serves would miss it. It must not serve one.
    expect(c.replication('n1').commitIndex).toBeLessThan(wIndex);
    expect(r.outcome === undefined || r.outcome instanceof Error).toBe(true);
    await c.stop();
  });

  test('§4.2.3, §6.4.1: a voter that acknowledged the leader\'s round disregards a RequestVote that a pre-vote granted earlier led to (issue 14, schedule 2)', async () => {
    const c = await cluster(3, ROBUST);
    await c.clock.advance(MIN_TIMEOUT);
    await elect(c, 'n1');
    // n2's answers to one round arrive late (n1 heard from n2 later than n2 heard from n1),
    // then the links n1→n2, n1→n3 and n3→n1 fail.
    const slowAcks = c.hub.intercept(matching({ type: 'AppendEntriesResponse', from: 'n2', to: 'n1' }), { delay: 15 });
    await c.clock.advance(PLAIN.heartbeatInterval!);
    slowAcks.remove();
    c.hub.block('n1', 'n2');
    c.hub.block('n1', 'n3');
    c.hub.block('n3', 'n1');
    // As soon as n2 has not heard from n1 for the minimum election timeout, n3 campaigns;
    // n2 grants its pre-vote, and that grant is held in the network.
    await c.waitFor(() => c.clock.now() - c.replication('n2').lastLeaderContact >= MIN_TIMEOUT, 2 * MIN_TIMEOUT, 1);
    expect(c.replication('n1').role).toBe('leader');
    const grant = c.hub.intercept(matching({ type: 'PreVoteResponse', from: 'n2', to: 'n3' }), 'hold');
    c.campaign('n3');
    await c.clock.advance(2);
    expect(grant.held.map((e) => e.message)).toEqual([expect.objectContaining({ voteGranted: true })]);
    // Meanwhile n2 acknowledges a heartbeat round of n1's: n1 holds a lease again.
    c.hub.unblock('n1', 'n2');
    const acked = c.hub.intercept(matching({ type: 'AppendEntriesResponse', from: 'n2', to: 'n1' }), 'pass', { times: 1 });
    await c.waitFor(() => acked.seen.length === 1, MIN_TIMEOUT, 1);
    await c.clock.advance(2);
    c.hub.block('n1', 'n2');
    // The late grant arrives: n3 asks for votes; n2 heard from n1 just now and must not vote.
    grant.remove();
    grant.release();
    await c.clock.advance(10);
    expect(c.replication('n2')).toMatchObject({ term: 1, leaderId: 'n1' });
    expect(c.replication('n3').role).not.toBe('leader');
    const r = readLater(c, 'n1', true);
    await c.clock.advance(5);
    expect(r.outcome).toEqual({ index: c.replication('n1').commitIndex }); // the lease read is served, and safe
    await c.stop();
  });
});
