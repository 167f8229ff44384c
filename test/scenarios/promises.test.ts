/**
 * Every promise of the API settles (DESIGN.md invariant 7): the cases where one waited
 * for a state change that could stop happening. The table of what settles each promise
 * is docs/notes/api-promises.md.
 */
import { MembershipChangeError, ProposalDroppedError, RequestTimeoutError } from '../../src/errors';
import { TestCluster } from '../../src/testing';
import { campaign, cluster, elect, MIN_TIMEOUT, proposeLater, ROBUST } from '../paper/script';
import { kvCluster } from './kvMachine';
import { outcome } from './outcome';
import { clusterOnStallingDisks } from './stallingDisks';

async function ledByN1(nodes = 3, options = {}): Promise<TestCluster> {
  const c = await cluster(nodes, options);
  await c.clock.advance(MIN_TIMEOUT);
  await elect(c, 'n1');
  proposeLater(c, 'n1', 'first');
  await c.clock.advance(20);
  return c;
}

test('a forwarded proposal whose index a newer leader gives to another proposal fails with ProposalDroppedError (it waited forever)', async () => {
  const c = await ledByN1();
  // n1 keeps its new entries to itself: its own proposal takes the next index, n2's forwarded one the one after.
  const cut = c.hub.intercept((e) => e.from === 'n1' && e.message.type === 'AppendEntries' && e.message.entries.length > 0, 'drop');
  proposeLater(c, 'n1', 'q');
  await c.clock.advance(5);
  const first = proposeLater(c, 'n2', 'p1');
  await c.clock.advance(20); // n2 heard that n1 appended p1
  const at = c.replication('n1').lastIndex;
  c.hub.isolate('n1');
  cut.remove();
  await campaign(c, 'n3'); // n3 leads term 2 and appends its own entry at p1's index - 1
  const second = proposeLater(c, 'n2', 'p2'); // forwarded to n3: appended at p1's index, in term 2
  await c.clock.advance(40);
  expect(c.replication('n2')).toMatchObject({ leaderId: 'n3', commitIndex: at, appliedIndex: at });
  expect(second.outcome).toBe('committed');
  expect(first.outcome).toBeInstanceOf(ProposalDroppedError); // was: still pending, forever (the tracker replaced it)
  await c.stop();
});

test('a joint change whose leader is cut off after the joint configuration committed fails after requestTimeout x 5 (it waited forever)', async () => {
  const c = await ledByN1(4, ROBUST); // requestTimeout: 2 x 200 ms
  const last = c.replication('n1').lastIndex;
  // The joint configuration (last + 1) reaches the followers; the final one (last + 2) does not.
  c.hub.intercept((e) => e.from === 'n1' && e.message.type === 'AppendEntries' && e.message.entries.some((x) => x.index > last + 1), 'drop');
  const asked = c.clock.now();
  const change = c.node('n1').changeMembership({ voters: ['n1', 'n2'] });
  await c.clock.advance(30);
  expect(c.replication('n1')).toMatchObject({ commitIndex: last + 1, lastIndex: last + 2 });
  c.hub.isolate('n1'); // CheckQuorum deposes n1; nobody else can win the joint configuration's new half without it
  const result = await outcome(c, change, 10_000);
  expect(c.replication('n1').role).not.toBe('leader');
  expect(result).toMatchObject({ ok: false, error: expect.any(MembershipChangeError) });
  expect(result.at - asked).toBeLessThanOrEqual(5 * 400 + 10);
  await c.stop();
});

test('a forwarded proposal whose entry reaches its node inside a snapshot fails with ProposalDroppedError (it waited until the node stopped)', async () => {
  const { c } = kvCluster({ nodes: 3, seed: 71, nodeOptions: { snapshot: { everyEntries: 50, keepEntries: 10, catchUpEntries: 0, chunkBytes: 64 } } });
  const leader = await c.waitForLeader();
  const f = c.ids.find((id) => id !== leader)!;
  // f hears heartbeats and answers to what it forwards, but no entries and no snapshot.
  const cut = c.hub.intercept((e) => e.from === leader && e.to === f && ((e.message.type === 'AppendEntries' && e.message.entries.length > 0) || e.message.type === 'InstallSnapshot'), 'drop');
  const forwarded = proposeLater(c, f, 'k1=forwarded');
  await c.clock.advance(10);
  const at = c.replication(leader).lastIndex;
  for (let i = 0; i < 80; i++) await c.propose(leader, `k${i % 7}=v${i}`);
  expect(c.storage(leader).durableEntries()[0].index).toBeGreaterThan(at); // compacted past it: f gets a snapshot
  cut.remove();
  await c.waitFor(() => (c.storage(f).durableSnapshot()?.index ?? 0) >= at && c.replication(f).appliedIndex >= at, 2000);
  await c.clock.advance(10);
  expect(forwarded.outcome).toBeInstanceOf(ProposalDroppedError); // was: pending until f stopped (its apply wait had resolved)
  await c.stop();
});

test("a leader's own proposal that cannot commit while the leader keeps its quorum fails with RequestTimeoutError (it waited forever)", async () => {
  const { c, leader, storages } = await clusterOnStallingDisks();
  // Both followers' disks hang: they still answer heartbeats, so CheckQuorum keeps the leader.
  for (const id of c.ids) if (id !== leader) storages.get(id)!.stall = true;
  const asked = c.clock.now();
  const r = await outcome(c, c.node(leader).propose(new TextEncoder().encode('w')), 10_000);
  expect(r).toMatchObject({ ok: false, error: expect.any(RequestTimeoutError) });
  expect(r.at - asked).toBeGreaterThanOrEqual(5 * 400); // load alone never waits requestTimeout x 5
  expect(r.at - asked).toBeLessThanOrEqual(5 * 400 * 1.25 + 10); // checked every quarter of it
  expect(c.replication(leader).role).toBe('leader');
  const read = await outcome(c, c.node(leader).read(), 1000);
  expect(read.ok).toBe(true); // the leader still serves reads: only its new entries are stuck
  await c.stop();
});
