/**
 * Found by the multi-group simulator (`npm run sim -- --seeds 1 --from 92 --nodes 5
 * --steps 30 --groups 8`, group g1): a node that led an earlier term and leads again
 * takes a follower's refusal of its OLD AppendEntries (sent in the follower's current
 * term, with conflictIndex 0) for an answer of its new term. The refusal passes the
 * "disk lost entries" check (`seq` above the new round's `matchSeq`, conflictTerm 0,
 * conflictIndex - 1 < match), so `forgetLost(-1)` sets match -1 and next 0, and the leader
 * starts a snapshot transfer of index 0 (there is no snapshot) that never completes: the
 * follower gets no entry again. Fixed: such a refusal is no answer to the new leadership
 * (`isStaleTermRefusal`).
 */

import { matching, TestCluster } from '../../src/testing';

test('a refusal of a stale AppendEntries from its own earlier term does not stall a re-elected leader', async () => {
  const cluster = TestCluster.fromLogs(
    { n1: {}, n2: {}, n3: {} },
    { nodeOptions: { preVote: false, checkQuorum: false, heartbeatInterval: 5 }, manualElections: true },
  );
  await cluster.clock.advance(1);
  // n1 leads term 1; its first AppendEntries to n3 (prevLogIndex 0) is held back.
  const old = cluster.hub.intercept(matching({ type: 'AppendEntries', from: 'n1', to: 'n3' }), 'hold', { times: 1 });
  cluster.campaign('n1');
  await cluster.clock.advance(20);
  expect(cluster.replication('n1')).toMatchObject({ role: 'leader', term: 1 });
  // n2 leads term 2, then n1 term 3.
  cluster.campaign('n2');
  await cluster.clock.advance(20);
  expect(cluster.replication('n2')).toMatchObject({ role: 'leader', term: 2 });
  // In term 3, n3's real answers to n1 are held; its refusal of the stale message passes.
  const answers = cluster.hub.intercept(
    (e) => e.from === 'n3' && e.to === 'n1' && e.message.type === 'AppendEntriesResponse' && !(e.message.success === false && e.message.conflictIndex === 0),
    'hold',
  );
  cluster.campaign('n1');
  await cluster.clock.advance(20);
  expect(cluster.replication('n1')).toMatchObject({ role: 'leader', term: 3 });
  old.release();
  await cluster.clock.advance(20);
  answers.release();
  answers.remove();
  await cluster.clock.advance(50);
  await cluster.propose('n1', 'after');
  await cluster.waitFor(() => cluster.committedData('n3').includes('after'), 2000);
  await cluster.stop();
});
