/**
 * Issue 17, item 1: no load of any entry size may depose a healthy leader. 256 proposers
 * push 64 KiB entries through a network whose links carry a bounded number of bytes per
 * ms, in order (MemoryHub `bandwidth`, like a TCP connection): entries sent to a
 * follower wait behind every entry already queued on its link's bulk lane. Flow control
 * in bytes (`maxInflightBytes`) bounds that queue. Heartbeats travel on the control lane
 * and wait for none of it (as over TCP, where each lane is a connection of its own).
 *
 * What virtual time cannot show: CPU. Here encoding, appending and decoding take no time,
 * so a turn holding the event loop (the other half of the failure measured on the real
 * machine) is not modelled; `bench/cluster.ts --entry-bytes` measures that.
 */
import { TestCluster } from '../../src/testing';
import { wireBytes } from '../../src/transports/memoryHub';

const ENTRY_BYTES = 64 * 1024;
const PROPOSERS = 256;
const ROUNDS = 3; // proposals per proposer, one after the other
/** Bytes per virtual ms on every link: 64 MB/s, about what a follower took on the test machine. */
const BANDWIDTH = 64 * 1024;
const MAX_INFLIGHT_BYTES = 4 << 20;

test('256 proposers of 64 KiB entries over links of bounded bandwidth: all commit, the leader is never deposed, entries wait behind at most maxInflightBytes', async () => {
  const c = new TestCluster({
    nodes: 3,
    seed: 17,
    faults: { bandwidth: BANDWIDTH },
    nodeOptions: { maxInflightBytes: MAX_INFLIGHT_BYTES },
  });
  try {
    const leader = await c.waitForLeader();
    const term = c.status(leader)!.term;
    c.hub.stats.maxLinkBacklog = 0;
    c.hub.stats.maxLinkWait = 0;

    let done = 0;
    const failures: unknown[] = [];
    const proposer = async (p: number) => {
      for (let r = 0; r < ROUNDS; r++) {
        const data = new Uint8Array(ENTRY_BYTES).fill((p + r) & 0xff);
        await c.node(leader).propose(data).then(() => done++, (e: unknown) => failures.push(e));
      }
    };
    for (let p = 0; p < PROPOSERS; p++) void proposer(p);
    await c.waitFor(() => done + failures.length === PROPOSERS * ROUNDS, 60_000);

    expect(failures).toEqual([]);
    expect(done).toBe(PROPOSERS * ROUNDS);
    for (const id of c.ids) expect(c.status(id)).toMatchObject({ term, leaderId: leader }); // terms only grow: no election ever started
    // What flow control in bytes promises: entries queued on a link's bulk lane stay within
    // the window (plus one AppendEntries' overhead), so entries wait at most window / bandwidth.
    const slack = wireBytes({ type: 'AppendEntries', term, leaderId: leader, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0 });
    expect(c.hub.stats.maxLinkBacklog).toBeLessThanOrEqual(MAX_INFLIGHT_BYTES + 64 * slack);
    expect(c.hub.stats.maxLinkWait).toBeLessThan(150); // electionTimeout.min
  } finally {
    await c.stop();
  }
}, 60_000);
