/**
 * Issue 17: heartbeats travel on a lane of their own (the TCP transport's control
 * connection), so they overtake the entries sent before them. The core must not count on
 * their order: a heartbeat is at the follower's `match`, so it passes the consistency
 * check however far ahead of the entries it arrives, and it commits no further than the
 * follower holds; the entries, when they come, are taken as usual.
 */
import { TestCluster } from '../../src/testing';
import type { AppendEntriesResponse } from '../../src/messages/types';

test('heartbeats that overtake the entries sent before them pass the consistency check and commit no further than the follower holds', async () => {
  const c = new TestCluster({ nodes: 3, seed: 17 });
  try {
    const leader = await c.waitForLeader();
    const term = c.status(leader)!.term;
    const slow = c.ids.find((id) => id !== leader)!;
    const before = c.replication(slow).lastIndex;
    // Entries to `slow` wait (a full bulk lane); its heartbeats and answers go through.
    const entries = c.hub.intercept((e) => e.to === slow && e.message.type === 'AppendEntries' && e.message.entries.length > 0, 'hold');
    const heartbeats = c.hub.intercept((e) => e.to === slow && e.message.type === 'AppendEntries' && e.message.entries.length === 0, 'pass');
    const answers = c.hub.intercept((e) => e.from === slow && e.message.type === 'AppendEntriesResponse', 'pass');
    for (const value of ['a', 'b', 'c']) await c.propose(leader, value); // committed by the leader and the other follower
    await c.clock.advance(300); // heartbeat rounds reach `slow` ahead of the held entries

    expect(entries.held.length).toBeGreaterThan(0);
    expect(heartbeats.seen.length).toBeGreaterThan(0);
    const held = c.replication(slow);
    expect(held.lastIndex).toBe(before);
    expect(held.commitIndex).toBeLessThanOrEqual(before);
    expect(c.replication(leader).commitIndex).toBeGreaterThan(before);
    // Every heartbeat passed the consistency check; no election was started.
    expect(answers.seen.map((e) => (e.message as AppendEntriesResponse).success)).not.toContain(false);
    for (const id of c.ids) expect(c.status(id)).toMatchObject({ term, leaderId: leader });

    entries.release();
    entries.remove();
    await c.waitFor(() => c.committedData(slow).join() === 'a,b,c');
    expect(c.replication(slow).log).toEqual(c.replication(leader).log);
  } finally {
    await c.stop();
  }
});
