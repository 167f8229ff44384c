/**
 * A stall of every process at once (a starved machine, as in the 64 KiB benchmark runs
 * of issue 17): no node runs for longer than the minimum election timeout, then all run
 * again. Nobody failed, so the leader must keep its office.
 */
import { TestCluster } from '../../src/testing/cluster';

test('a 400 ms stall of all three nodes does not depose the leader (CheckQuorum counts its own missed ticks)', async () => {
  const c = new TestCluster({
    nodes: 3,
    seed: 11,
    manualElections: true, // followers campaign only when told: this test is about the leader's own rule
    nodeOptions: { checkQuorum: true, preVote: true, electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 },
  });
  await c.clock.advance(400); // past the start-up window in which voters refuse
  c.campaign('n1');
  await c.waitFor(() => c.status('n1')?.role === 'leader', 1000);
  await c.clock.advance(500);
  const term = c.status('n1')!.term;

  for (const id of c.ids) c.pause(id);
  await c.clock.advance(400);
  for (const id of c.ids) c.resume(id);
  await c.clock.advance(500);

  expect(c.status('n1')).toMatchObject({ role: 'leader', term });
  for (const id of ['n2', 'n3']) expect(c.status(id)).toMatchObject({ role: 'follower', term, leaderId: 'n1' });
  await c.stop();
});

test.each([true, false])('a 400 ms stall of all three nodes with election timers running (preVote %s): the followers hear the leader again before they campaign', async (preVote) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const c = new TestCluster({ nodes: 3, seed, nodeOptions: { checkQuorum: true, preVote, electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 } });
    const leader = await c.waitForLeader();
    await c.clock.advance(500);
    const term = c.status(leader)!.term;

    for (const id of c.ids) c.pause(id);
    await c.clock.advance(400); // every follower's election deadline falls due meanwhile
    for (const id of c.ids) c.resume(id);
    await c.clock.advance(1000);

    for (const id of c.ids) expect({ seed, id, ...c.status(id) }).toMatchObject({ seed, id, term, leaderId: leader });
    await c.stop();
  }
});
