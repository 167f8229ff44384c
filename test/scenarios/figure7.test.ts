/**
 * Raft paper, Figure 7: when the leader of term 8 comes to power, followers (a)–(f) may
 * miss entries, hold extra uncommitted entries, or both. The leader brings every one of
 * them to its own log (§5.3), using the conflict hint to skip whole terms.
 */
import { entryRunDelivery, TestCluster } from '../../src/testing';

const LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
const followers: Record<string, number[]> = {
  a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 1, 4],
  c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 1, 4, 4, 4, 4],
  f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
};

// Entries handed over as lists (in-memory transport), and as runs of their blocks, as TCP delivers them.
test.each([
  ['as lists', undefined],
  ['as runs of their blocks', entryRunDelivery],
])('Figure 7: the leader of term 8 brings followers (a)-(f) to its log, entries received %s', async (_, delivery) => {
  const cluster = TestCluster.fromLogs(
    {
      leader: { term: 7, log: LEADER },
      ...Object.fromEntries(Object.entries(followers).map(([id, log]) => [id, { term: 7, log }])),
    },
    { nodeOptions: { preVote: false, checkQuorum: false, heartbeatInterval: 5 }, manualElections: true, transport: delivery && ((_id, t) => delivery(t)) },
  );
  await cluster.clock.advance(1);
  cluster.campaign('leader');
  await cluster.clock.advance(200);
  expect(cluster.replication('leader')).toMatchObject({ role: 'leader', term: 8 });

  const expected = [...LEADER, 8]; // the new leader's no-op commits everything before it
  for (const id of Object.keys(followers)) expect(cluster.logTerms(id)).toEqual(expected);
  for (const id of cluster.ids) {
    expect(cluster.committedRunsOf(id)[0].map((e) => [e.index, e.term])).toEqual(LEADER.map((t, i) => [i + 1, t]));
  }
  await cluster.stop();
});
