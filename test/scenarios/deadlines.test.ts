/**
 * Every wait a client starts has a deadline (DESIGN.md invariant 7): a follower that
 * cannot apply — here its disk stops completing writes — fails its callers with
 * RequestTimeoutError after `requestTimeout` instead of holding them forever (issue 18,
 * finding 2).
 */
import { RequestTimeoutError } from '../../src/errors';
import { TestCluster } from '../../src/testing';
import { outcome } from './outcome';
import { clusterOnStallingDisks } from './stallingDisks';

async function clusterWithStalledFollower() {
  const { c, leader, storages } = await clusterOnStallingDisks();
  const follower = c.ids.find((id) => id !== leader)!;
  storages.get(follower)!.stall = true;
  return { c, leader, follower };
}

test('a read on a follower that cannot catch up to the read index fails with RequestTimeoutError after requestTimeout', async () => {
  // The follower hears heartbeats (it stays a follower and forwards the read) but no
  // entries reach it, so it never applies the index the leader confirms.
  let starve: string | null = null;
  const c = new TestCluster({
    nodes: 3,
    seed: 182,
    nodeOptions: { requestTimeout: 400 },
    transport: (_id, inner) => ({
      ...inner,
      send: (to, m) => {
        if (!(to === starve && m.type === 'AppendEntries' && m.entries.length > 0)) inner.send(to, m);
      },
    }),
  });
  const leader = await c.waitForLeader();
  const follower = c.ids.find((id) => id !== leader)!;
  await c.propose(leader, 'before');
  starve = follower;
  await c.propose(leader, 'w');
  const asked = c.clock.now();
  const r = await outcome(c, c.node(follower).read(), 2000);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error).toBeInstanceOf(RequestTimeoutError);
  expect(r.at - asked).toBeLessThanOrEqual(2 * 400 + 10); // the leader's answer, then the apply
  expect(r.at - asked).toBeGreaterThan(400); // it was the wait for the apply that ran out
  await c.stop();
});

test('a proposal forwarded by a follower that cannot apply it fails with RequestTimeoutError, although it committed', async () => {
  const { c, leader, follower } = await clusterWithStalledFollower();
  const asked = c.clock.now();
  const r = await outcome(c, c.node(follower).propose(new TextEncoder().encode('w')), 2000);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error).toBeInstanceOf(RequestTimeoutError);
  expect(r.at - asked).toBeLessThanOrEqual(2 * 400 + 10); // the forward's wait, then the apply's
  expect(c.committedData(leader)).toContain('w');
  await c.stop();
});
