/** Client sessions (dissertation §6.3): a command retried through a new leader applies once. */
import { TestCluster } from '../../src/testing';
import { outcome } from './outcome';

const encode = (s: string) => new TextEncoder().encode(s);

test('a retried proposal applies once, even when the retry goes through a new leader', async () => {
  const c = new TestCluster({ nodes: 3, seed: 41 });
  const first = await c.waitForLeader();
  const session = { clientId: 'client-1', seq: 1 };
  // The leader commits the command, then crashes before the client hears back.
  const lost = c.node(first).propose(encode('charge $10'), { session });
  await c.waitFor(() => c.ids.filter((id) => id !== first).every((id) => c.committedData(id).includes('charge $10')));
  c.crash(first);
  void lost.catch(() => undefined);
  const second = await c.waitForLeader(3000);
  const retry = await outcome(c, c.node(second).propose(encode('charge $10'), { session }));
  expect(retry.ok).toBe(true);
  const original = c.committedRunsOf(second)[0].find((e) => e.session?.clientId === 'client-1')!;
  if (retry.ok) expect(retry.value).toEqual({ index: original.index, term: original.term });
  await c.restart(first);
  await c.propose(second, 'later');
  await c.waitFor(() => c.ids.every((id) => c.committedData(id).includes('later')));
  for (const id of c.ids) expect(c.committedData(id).filter((d) => d === 'charge $10')).toHaveLength(1);
  // A new seq of the same client is a new command.
  await outcome(c, c.node(second).propose(encode('charge $10'), { session: { clientId: 'client-1', seq: 2 } }));
  expect(c.committedData(second).filter((d) => d === 'charge $10')).toHaveLength(2);
  await c.stop();
});

test('without a session, the same retry would apply twice', async () => {
  const c = new TestCluster({ nodes: 3, seed: 41 });
  const leader = await c.waitForLeader();
  await c.propose(leader, 'charge $10');
  await c.propose(leader, 'charge $10');
  expect(c.committedData(leader).filter((d) => d === 'charge $10')).toHaveLength(2);
  await c.stop();
});
