/**
 * The bounded in-memory log (issue 17 item 2): entries durable and applied are evicted
 * from memory beyond `log.cacheBytes`, and a leader serves a follower that lags past its
 * cache with entries read back from storage, not with a snapshot.
 */
import { plain } from '../storage/conformance';
import { kvCluster } from './kvMachine';

const PAD = '.'.repeat(100);

/** The lagging follower caught up without a snapshot: no restore, none sent, the same map and the same durable log as the leader; the cluster is stopped. */
async function expectCaughtUpFromStorage({ c, machine }: ReturnType<typeof kvCluster>, lagging: string, leader: string, snapshotsSent: readonly unknown[]): Promise<void> {
  expect(machine(lagging).restores).toEqual([]);
  expect(snapshotsSent).toEqual([]);
  expect(machine(lagging).map).toEqual(machine(leader).map);
  await c.clock.advance(50);
  expect(plain(c.storage(lagging).durableEntries())).toEqual(plain(c.storage(leader).durableEntries()));
  await c.stop();
}

describe('bounded in-memory log', () => {
  test('a follower that lags past the cache catches up from the leader’s log in storage, without a snapshot', async () => {
    const cacheBytes = 2_048; // about 12 entries of ~170 bytes (payload + overhead)
    const cluster = kvCluster({ nodes: 3, seed: 1701, nodeOptions: { log: { cacheBytes } } });
    const { c, machine } = cluster;
    const snapshots = c.hub.intercept((e) => e.message.type === 'InstallSnapshot', 'pass');
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    for (let i = 0; i < 300; i++) await c.propose(leader, `k${i % 41}=v${i}${PAD}`);
    await c.clock.advance(50);
    const view = c.replication(leader);
    const laggingMatch = view.progress!.get(lagging)!.match;
    expect(view.held.from).toBeGreaterThan(laggingMatch + 250); // what it needs is no longer in memory
    expect(view.held.bytes).toBeLessThanOrEqual(cacheBytes);
    const readsBefore = c.storage(leader).reads.calls;
    c.hub.heal();
    await c.waitFor(() => machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(c.storage(leader).reads.calls - readsBefore).toBeGreaterThan(0);
    expect(c.storage(leader).reads.entries).toBeGreaterThanOrEqual(250);
    await expectCaughtUpFromStorage(cluster, lagging, leader, snapshots.seen);
  });

  test('a follower far behind catches up from storage while writes go on, read ahead of its window within maxInflightBytes', async () => {
    // Entries of ~110 bytes: a message holds 2, a window 9; the cache holds about 12.
    const maxInflightBytes = 1_024;
    const cluster = kvCluster({ nodes: 3, seed: 1702, nodeOptions: { log: { cacheBytes: 2_048 }, maxBytesPerMessage: 256, maxInflightBytes } });
    const { c, machine } = cluster;
    const snapshots = c.hub.intercept((e) => e.message.type === 'InstallSnapshot', 'pass');
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    for (let i = 0; i < 400; i++) await c.propose(leader, `k${i % 41}=v${i}${PAD}`);
    const before = { ...c.storage(leader).reads };
    expect(before.calls).toBeLessThanOrEqual(1); // probes to it while isolated carry no entries after the first (424 reads for them before)
    c.hub.heal();
    // Writes go on while it catches up; what is read ahead for it never passes the window's bytes (and one entry).
    let mostReadAhead = 0;
    let caughtUpAt = -1; // the write after which it was within one entry of the leader
    for (let i = 400; i < 600; i++) {
      await c.propose(leader, `k${i % 41}=v${i}${PAD}`);
      const view = c.replication(leader);
      const follower = view.progress!.get(lagging)!;
      mostReadAhead = Math.max(mostReadAhead, follower.readAheadBytes);
      if (caughtUpAt < 0 && view.lastIndex - follower.match <= 1) caughtUpAt = i;
    }
    await c.waitFor(() => machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(caughtUpAt).toBeGreaterThanOrEqual(400); // within one entry of the leader before the writes ended
    expect(mostReadAhead).toBeGreaterThan(0);
    expect(mostReadAhead).toBeLessThanOrEqual(maxInflightBytes + 256);
    // Each read spanned several messages (a message holds 2 entries): one read per message was the old way.
    const calls = c.storage(leader).reads.calls - before.calls;
    const entries = c.storage(leader).reads.entries - before.entries;
    expect(entries).toBeGreaterThanOrEqual(390);
    expect(calls).toBeLessThan(entries / 4);
    await expectCaughtUpFromStorage(cluster, lagging, leader, snapshots.seen);
  });

  test('a follower that is down costs the leader no reads from storage while it stays silent (at most one, for its first probe), and catches up once back', async () => {
    const heartbeatInterval = 50;
    const cluster = kvCluster({ nodes: 3, seed: 1703, nodeOptions: { heartbeatInterval, log: { cacheBytes: 2_048 }, maxBytesPerMessage: 256, maxInflightBytes: 1_024 } });
    const { c, machine } = cluster;
    const snapshots = c.hub.intercept((e) => e.message.type === 'InstallSnapshot', 'pass');
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    const progressOfLagging = () => c.node(leader).followers()!.find((f) => f.id === lagging)!;
    c.hub.isolate(lagging);
    // 400 heartbeat intervals (many stalls and loss reports), a write in each: what the follower needs next leaves memory early on.
    for (let i = 0; i < 400; i++) {
      await c.propose(leader, `k${i % 41}=v${i}${PAD}`);
      await c.clock.advance(heartbeatInterval);
    }
    const view = c.replication(leader);
    expect(view.held.from).toBeGreaterThan(view.progress!.get(lagging)!.match + 300);
    expect(progressOfLagging().storageReads).toBeLessThanOrEqual(1); // 771 before: one for each probe and each probe after a loss report
    c.hub.heal();
    await c.waitFor(() => machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(progressOfLagging().storageReads).toBeGreaterThan(1); // read once it answered
    await expectCaughtUpFromStorage(cluster, lagging, leader, snapshots.seen);
  });
});
