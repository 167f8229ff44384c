/**
 * Raft paper, Figure 8: a leader may not conclude that an entry of an earlier term is
 * committed once it is stored on a majority — a later leader can still overwrite it. Only
 * entries of the leader's current term are committed by counting replicas (§5.4.2).
 */
import { step } from '../../src/core/step';
import { entryRunDelivery, matching, TestCluster } from '../../src/testing';
import { makeState } from '../core/helpers';

test('Figure 8 (rule): replicas of an older-term entry on a majority do not commit it', () => {
  const s = makeState({ voters: ['s1', 's2', 's3', 's4', 's5'], id: 's1', term: 3, log: [1, 2] });
  step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }); // term 4
  step(s, { kind: 'hardStateSaved', term: 4, votedFor: 's1' });
  for (const v of ['s2', 's3']) step(s, { kind: 'message', from: v, message: { type: 'RequestVoteResponse', term: 4, voteGranted: true } });
  expect(s.role.name).toBe('leader'); // log is now [1, 2, 4(no-op)]
  step(s, { kind: 'persisted', index: 3, term: 4 });
  const ack = (from: string, matchIndex: number) =>
    step(s, { kind: 'message', from, message: { type: 'AppendEntriesResponse', term: 4, success: true, matchIndex, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 0 } });
  ack('s2', 2);
  ack('s3', 2);
  expect(s.commitIndex).toBe(0); // index 2 (term 2) is on s1, s2, s3 — still not committed
  ack('s2', 3);
  ack('s3', 3);
  expect(s.commitIndex).toBe(3); // the term-4 entry commits, and index 2 with it
});

// Entries handed over as lists (in-memory transport), and as runs of their blocks, as TCP delivers them.
test.each([
  ['as lists', undefined],
  ['as runs of their blocks', entryRunDelivery],
])('Figure 8 (cluster): an entry of term 2 stored on a majority is overwritten by a later leader, and nobody ever applied it (entries received %s)', async (_, delivery) => {
  const cluster = TestCluster.fromLogs(
    {
      s1: { term: 3, log: [1, 2] },
      s2: { term: 3, log: [1, 2] },
      s3: { term: 3, log: [1, 2] },
      s4: { term: 3, log: [1] },
      s5: { term: 3, log: [1, 3] },
    },
    { nodeOptions: { preVote: false, checkQuorum: false, heartbeatInterval: 5 }, manualElections: true, transport: delivery && ((_id, t) => delivery(t)) },
  );
  await cluster.clock.advance(1);
  // s1 wins term 4, but none of its AppendEntries ever arrives.
  const s1Appends = cluster.hub.intercept(matching({ type: 'AppendEntries', from: 's1' }), 'drop');
  cluster.campaign('s1');
  await cluster.clock.advance(20);
  expect(cluster.replication('s1')).toMatchObject({ role: 'leader', term: 4 });
  cluster.hub.isolate('s1');
  s1Appends.remove();
  // s5 (last entry of term 3) wins term 5 with the votes of s2, s3, s4.
  cluster.campaign('s5');
  await cluster.clock.advance(20);
  expect(cluster.replication('s5')).toMatchObject({ role: 'leader', term: 5 });
  cluster.hub.heal();
  await cluster.clock.advance(500);

  for (const id of cluster.ids) {
    expect(cluster.logTerms(id)).toEqual([1, 3, 5]); // s5's entry of term 3 replaced s1's entry of term 2
    expect(cluster.committedRunsOf(id)[0].map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 3]]);
  }
  await cluster.stop();
});
