/**
 * A candidate whose disk hangs (found by the simulator's disk stalls: `npm run sim --
 * --seeds 1 --from 600081 --nodes 3 --snapshots on --reads mixed` reported "n1 leads in
 * term 11, but its durable hard state is term 8").
 */
import { campaign, cluster } from '../paper/script';

test('a candidate whose disk hangs does not take office on the others’ votes alone; it does once its term and vote are durable', async () => {
  // Without PreVote (PLAIN). Had n1 led term 1 before saving it, a crash could take the
  // term back: restarted, it could win term 1 again from voters that already voted for it,
  // with another log — a different entry at an (index, term) a follower already holds.
  const c = await cluster(3);
  c.storage('n1').stallWrites();
  await campaign(c, 'n1'); // n2 and n3 grant: a majority without n1's own vote
  expect(c.storage('n2').durableHardState()).toEqual({ term: 1, votedFor: 'n1' });
  expect(c.storage('n3').durableHardState()).toEqual({ term: 1, votedFor: 'n1' });
  expect(c.replication('n1')).toMatchObject({ role: 'candidate', term: 1 }); // was: leader of term 1, saved nowhere
  expect(c.replication('n2').leaderId).toBeNull();
  c.storage('n1').resumeWrites();
  await c.clock.advance(10);
  expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 1 });
  expect(c.replication('n2')).toMatchObject({ leaderId: 'n1', term: 1 });
  await c.stop();
});
