/**
 * What an idle group costs in memory: 3 hosts × 100 groups in one process (in-memory
 * network and storage, virtual time), each group with a leader and heartbeating, the
 * heap plus external memory (ArrayBuffers) measured after a full collection before and after. Measured at 59–64 KiB per group
 * replica (the node's streams, pipelines and subjects, its log and storage); the bound
 * is generous (200 KiB) so that only a gross regression fails it — e.g. a buffer or ring
 * preallocated per group, as the KV store's 832 KiB outcome ring once was.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Hosts } from './hostHarness';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const H3 = ['h1', 'h2', 'h3'];
const GROUPS = 100;
const BOUND_BYTES_PER_REPLICA = 200 * 1024;

/** The JavaScript heap and the memory outside it that JavaScript objects hold (ArrayBuffers' bytes), after a full collection. */
const memoryUsed = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

describe('memory per idle group', () => {
  let hosts: Hosts;
  afterEach(() => hosts.stopAll());

  it(`3 hosts × ${GROUPS} groups, each led and idle: memory grows by less than 200 KiB per group replica`, async () => {
    hosts = new Hosts(H3, 21);
    await hosts.clock.advance(10);
    const before = memoryUsed();
    const groups = Array.from({ length: GROUPS }, (_, i) => `g${i}`);
    for (const g of groups) await hosts.create(g, H3);
    await hosts.waitFor(() => groups.every((g) => hosts.leaderOf(g, H3) !== null), 'a leader in every group');
    await hosts.clock.advance(2000); // heartbeats only
    const perReplica = (memoryUsed() - before) / (GROUPS * H3.length);
    expect(groups.every((g) => hosts.leaderOf(g, H3) !== null)).toBe(true);
    expect(perReplica).toBeGreaterThan(0);
    expect(perReplica).toBeLessThan(BOUND_BYTES_PER_REPLICA);
  });
});
