/**
 * Linearizable reads (dissertation §6.4): ReadIndex on the leader and through followers,
 * and lease reads that never return stale data within the drift bound.
 */
import { TestCluster } from '../../src/testing';
import { outcome } from './outcome';

describe('ReadIndex', () => {
  test('a read on the leader resolves at an index covering every write that completed before it', async () => {
    const c = new TestCluster({ nodes: 3, seed: 31 });
    const leader = await c.waitForLeader();
    const w = await c.propose(leader, 'w1');
    const r = await outcome(c, c.node(leader).read());
    expect(r.ok && r.value.index).toBeGreaterThanOrEqual(w.index);
    await c.stop();
  });

  test('a read on a follower waits until the follower has applied the leader commit index', async () => {
    const c = new TestCluster({ nodes: 3, seed: 32, faults: { delay: { min: 1, max: 20 } } });
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const w = await c.propose(leader, 'w1');
    const read = c.node(follower).read();
    const r = await outcome(c, read);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.index).toBeGreaterThanOrEqual(w.index);
    expect(c.committedData(follower)).toContain('w1'); // applied before the read resolved
    await c.stop();
  });

  test('reads of one turn share one heartbeat round', async () => {
    const c = new TestCluster({ nodes: 3, seed: 33 });
    const leader = await c.waitForLeader();
    await c.clock.advance(100);
    const before = c.hub.stats.sent;
    const all = Promise.all(Array.from({ length: 50 }, () => c.node(leader).read()));
    await c.clock.advance(3);
    expect(c.hub.stats.sent - before).toBe(4); // one heartbeat per follower, one reply each
    const r = await outcome(c, all);
    expect(r.ok).toBe(true);
    await c.stop();
  });

  test('with forwarding off, a follower read is refused with NotLeaderError', async () => {
    const c = new TestCluster({ nodes: 3, seed: 34, nodeOptions: { forward: false } });
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const r = await outcome(c, c.node(follower).read());
    expect(r.ok).toBe(false);
    if (!r.ok) expect((r.error as Error).name).toBe('NotLeaderError');
    await c.stop();
  });
});

describe('lease reads', () => {
  test('a partitioned leader serves lease reads only until its lease ends, never once another leader exists', async () => {
    const c = new TestCluster({ nodes: 3, seed: 35, faults: { delay: { min: 1, max: 3 } } });
    const old = await c.waitForLeader();
    await c.propose(old, 'v1');
    await c.clock.advance(200);
    const partitionedAt = c.clock.now();
    c.hub.isolate(old);

    let otherLeaderSince = Infinity;
    for (const id of c.ids.filter((i) => i !== old)) {
      c.node(id).role$.subscribe((role) => {
        if (role === 'leader') otherLeaderSince = Math.min(otherLeaderSince, c.clock.now());
      });
    }
    const successes: number[] = [];
    for (let t = 0; t < 600; t += 5) {
      c.node(old).read({ lease: true }).then(() => successes.push(c.clock.now()), () => undefined);
      await c.clock.advance(5);
    }
    expect(otherLeaderSince).toBeLessThan(Infinity);
    expect(successes.length).toBeGreaterThan(0); // the lease did serve reads without a round trip...
    expect(Math.max(...successes)).toBeLessThan(otherLeaderSince); // ...but never once it could be stale
    expect(Math.max(...successes)).toBeLessThan(partitionedAt + 150 - 30); // within min timeout − drift margin
    await c.stop();
  });

  test('without CheckQuorum a lease read falls back to ReadIndex', async () => {
    const c = new TestCluster({ nodes: 3, seed: 36, nodeOptions: { checkQuorum: false } });
    const leader = await c.waitForLeader();
    await c.clock.advance(100);
    c.hub.isolate(leader);
    const r = await outcome(c, c.node(leader).read({ lease: true }), 2000);
    expect(r.ok).toBe(false);
    await c.stop();
  });
});
