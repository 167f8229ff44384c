/**
 * Request forwarding (dissertation §6.2) with a network that duplicates messages: a
 * follower's forwarded proposal that the leader appended must never be reported as
 * "nothing was appended" (`NotLeaderError`), because a client would retry it and the
 * command would apply twice. Found by the simulator (seed 7352, "b.b.": one append
 * applied twice).
 */
import { NotLeaderError, ProposalDroppedError } from '../../src/errors';
import { matching, TestCluster } from '../../src/testing';

test('§6.2: a copy of a forwarded proposal that reaches its leader after it stepped down gets an unknown outcome, not NotLeaderError, and the command applies once', async () => {
  const cluster = new TestCluster({ nodes: 3, seed: 7352, manualElections: true, nodeOptions: { heartbeatInterval: 10 } });
  await cluster.clock.advance(400); // past the start-up window in which voters refuse pre-votes
  cluster.campaign('n1');
  await cluster.waitForLeader();
  expect(cluster.replication('n1').role).toBe('leader');

  // n2 forwards a proposal to n1; n1 appends it, but its answer is lost.
  const requests = cluster.hub.intercept(matching({ type: 'ProposeRequest', from: 'n2', to: 'n1' }), 'pass');
  cluster.hub.intercept(matching({ type: 'ProposeResponse', from: 'n1', to: 'n2' }), 'drop', { times: 1 });
  const outcome = cluster.node('n2').propose(new TextEncoder().encode('once')).then(
    () => 'resolved',
    (e: unknown) => e,
  );
  await cluster.clock.advance(20);
  expect(requests.seen).toHaveLength(1);
  const appended = cluster.replication('n1').lastIndex;

  // n1 hands leadership to n3; then the network delivers a second copy of the request.
  const transfer = cluster.node('n1').transferLeadership('n3');
  await cluster.clock.advance(100);
  await expect(transfer).resolves.toEqual({ leaderId: 'n3' });
  expect(cluster.replication('n1').role).toBe('follower');
  cluster.hub.inject('n2', 'n1', requests.seen[0].message);
  await cluster.clock.advance(50);

  const result = await outcome;
  expect(result).not.toBeInstanceOf(NotLeaderError);
  expect(result).toBeInstanceOf(ProposalDroppedError);
  // The entry n1 appended committed under the new leader, once.
  await cluster.clock.advance(100);
  const applied = cluster.committedRunsOf('n3').flat().filter((e) => new TextDecoder().decode(e.data) === 'once');
  expect(applied.map((e) => e.index)).toEqual([appended]);
  await cluster.stop();
});
