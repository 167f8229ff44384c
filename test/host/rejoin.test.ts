/**
 * A host restarted while its group had a new leader (task rejoin): the messages that reach
 * a host before its group runs are dropped by its router, without a loss report. When the
 * new leader's first probe to that follower is one of them, the follower still answers
 * every heartbeat; the leader must send the probe again then, not after `stallTicks`
 * (12 ticks here; 20 ticks = 2 s with the sharded example's timeouts).
 */
import type { Envelope } from '../../src/messages/types';
import { Hosts } from './hostHarness';

const H3 = ['h1', 'h2', 'h3'];
const HEARTBEAT = 50; // the harness's heartbeatInterval

describe('a follower host restarted under a new leader (in-memory network, virtual time)', () => {
  let hosts: Hosts;

  afterEach(async () => {
    await hosts.stopAll();
  });

  it("the new leader's probe dropped by the restarted host before its group ran: the follower catches up within a few heartbeats, not stallTicks", async () => {
    hosts = new Hosts(H3, 11);
    await hosts.create('g1', H3);
    await hosts.commit('g1', H3, 'before');
    const first = hosts.leaderOf('g1', H3)!;
    const [next, down] = H3.filter((h) => h !== first);
    // The follower's host goes down; leadership moves to the other survivor, which knows nothing of the follower's log.
    const stopped = hosts.host(down).stop();
    await hosts.clock.advance(100);
    await stopped;
    const survivors = [first, next];
    const moved = hosts.node(first, 'g1').transferLeadership(next);
    await hosts.waitFor(() => hosts.leaderOf('g1', survivors) === next, `${next} leads g1`);
    await moved;
    await hosts.commit('g1', survivors, 'while away');
    // The follower's host restarts; the new leader's probe (after index 0, unlike its heartbeats at match 0) reaches it before g1 runs there.
    const isProbe = (e: Envelope) => e.to === down && e.message.type === 'AppendEntries' && e.message.prevLogIndex > 0;
    const probe = hosts.hub.intercept(isProbe, 'hold', { times: 1 });
    hosts.start(down);
    await hosts.waitFor(() => probe.held.length === 1, 'the probe to the restarted host');
    probe.release();
    await hosts.clock.advance(10); // delivered to the restarted host's router, which drops it: g1 does not run there yet
    expect(hosts.errors.some(({ host, error }) => host === down && error.name === 'UnknownGroupError')).toBe(true);
    const startedAt = hosts.clock.now();
    await hosts.create('g1', [down], { peers: H3 });
    await hosts.waitFor(() => hosts.committedOn(down, 'g1').includes('while away'), `${down} catches up`);
    // A heartbeat answered, then the probe again (50 virtual ms measured); before, the stall rule's 12 ticks (`stallTicks` at 150-300 / 50 ms) = 600.
    expect(hosts.clock.now() - startedAt).toBeLessThanOrEqual(3 * HEARTBEAT);
  });
});
