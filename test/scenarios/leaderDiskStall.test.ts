/**
 * A leader whose own disk hangs while its followers' do not (found unaudited in the
 * promises audit; the simulator's `disk-stall` faults strike leaders too). Raft lets it
 * commit on its followers' copies, but it holds every entry it has not written: its
 * memory must stay within `maxUncommittedBytes` all the same.
 */
import { LeaderOverloadedError } from '../../src/errors';
import { TestCluster } from '../../src/testing';
import { testHooksOf } from '../../src/testHooks';

const LIMIT = 1000;
const COMMAND_BYTES = 100;

test("a leader whose disk hangs refuses proposals once its unwritten entries reach maxUncommittedBytes, though its followers commit them; it takes them again once its disk returns", async () => {
  const c = new TestCluster({ nodes: 3, seed: 17, nodeOptions: { maxUncommittedBytes: LIMIT } });
  const leader = await c.waitForLeader();
  await c.propose(leader, 'before');
  c.storage(leader).stallWrites();
  const command = new Uint8Array(COMMAND_BYTES);
  const outcomes: (string | null)[] = [];
  for (let i = 0; i < 40; i++) {
    c.node(leader).propose(command).then(
      () => outcomes.push(null),
      (e: unknown) => outcomes.push(e instanceof LeaderOverloadedError ? 'overloaded' : String(e)),
    );
    await c.clock.advance(5); // one proposal per turn, each committed by the followers meanwhile
  }
  const view = c.replication(leader);
  expect(view.commitIndex).toBeGreaterThan(view.durableIndex); // committed on the followers' copies
  const held = testHooksOf(c.node(leader)).leaderUnsettledBytes()!;
  expect(held.bytes).toBeLessThanOrEqual(LIMIT); // was 40 x 100 bytes, and more with every proposal
  expect(outcomes.filter((o) => o === 'overloaded').length).toBeGreaterThanOrEqual(40 - LIMIT / COMMAND_BYTES);
  expect(outcomes.every((o) => o === 'overloaded')).toBe(true); // the admitted ones wait for the disk
  c.storage(leader).resumeWrites();
  await c.clock.advance(50);
  expect(outcomes.filter((o) => o === null).length).toBe(LIMIT / COMMAND_BYTES); // the admitted ones resolve, none lost
  await expect(c.propose(leader, 'after')).resolves.toMatchObject({ term: view.term });
  await c.stop();
});
