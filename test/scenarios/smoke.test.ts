import { TestCluster } from '../../src/testing';

test('3 nodes elect and commit', async () => {
  const c = new TestCluster({ nodes: 3, seed: 1 });
  const leader = await c.waitForLeader();
  await c.propose(leader, 'a');
  await c.propose(leader, 'b');
  await c.waitFor(() => c.ids.every((id) => c.committedData(id).length === 2));
  for (const id of c.ids) expect(c.committedData(id)).toEqual(['a', 'b']);
  await c.stop();
  expect(c.clock.pending).toBe(0);
});
