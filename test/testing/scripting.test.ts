/**
 * The scripting API of rxraft/testing: programmable network rules on MemoryHub, seeded
 * clusters, elections and timers by hand, the read-only replication view, scripted peers.
 */
import type { Envelope, RaftMessage } from '../../src/messages/types';
import { seededRandom } from '../../src/random';
import { MemoryHub } from '../../src/transports/memoryHub';
import { matching, SimulatorClock, TestCluster } from '../../src/testing';
import { accept, heartbeat, taken } from '../paper/script';

function network() {
  const clock = new SimulatorClock();
  const hub = new MemoryHub({ scheduler: clock.scheduler, random: seededRandom(3) });
  const got: { at: number; e: Envelope }[] = [];
  const a = hub.connect('a');
  const b = hub.connect('b');
  b.inbound$.subscribe((e) => got.push({ at: clock.now(), e }));
  const send = (term: number) => a.send('b', { type: 'TimeoutNow', term });
  const terms = () => got.map((g) => (g.e.message as Extract<RaftMessage, { type: 'TimeoutNow' }>).term);
  return { clock, hub, got, send, terms };
}

describe('MemoryHub.intercept', () => {
  test('hold keeps matching messages until release, which delivers them in order, scheduled, never synchronously', async () => {
    const n = network();
    const rule = n.hub.intercept(matching({ type: 'TimeoutNow', from: 'a' }), 'hold');
    n.send(1);
    n.send(2);
    await n.clock.advance(50);
    expect(n.got).toEqual([]);
    expect(rule.held.map((e) => e.to)).toEqual(['b', 'b']);
    expect(rule.release()).toBe(2);
    expect(n.got).toEqual([]); // not synchronous
    await n.clock.advance(1);
    expect(n.terms()).toEqual([1, 2]);
    expect(rule.held).toEqual([]);
  });

  test('releaseReversed reorders held messages: the last sent arrives first', async () => {
    const n = network();
    const rule = n.hub.intercept(() => true, 'hold');
    for (const t of [1, 2, 3]) n.send(t);
    rule.releaseReversed();
    await n.clock.advance(5);
    expect(n.terms()).toEqual([3, 2, 1]);
  });

  test('release(which) lets some go; discard loses the rest; remove lets later messages pass', async () => {
    const n = network();
    const rule = n.hub.intercept(() => true, 'hold');
    for (const t of [1, 2, 3]) n.send(t);
    rule.release((e) => (e.message as { term: number }).term === 2);
    expect(rule.discard()).toBe(2);
    rule.remove();
    n.send(4);
    await n.clock.advance(5);
    expect(n.terms()).toEqual([2, 4]);
    expect(n.hub.stats.dropped).toBe(2);
  });

  test('drop, duplicate and delay act on individual messages; times limits a rule to its first matches', async () => {
    const n = network();
    n.hub.intercept((e) => (e.message as { term: number }).term === 1, 'drop');
    n.hub.intercept((e) => (e.message as { term: number }).term === 2, 'duplicate');
    n.hub.intercept((e) => (e.message as { term: number }).term === 3, { delay: 30 });
    const once = n.hub.intercept((e) => (e.message as { term: number }).term === 4, 'drop', { times: 1 });
    for (const t of [1, 2, 3, 4, 4, 5]) n.send(t);
    await n.clock.advance(100);
    expect(n.terms()).toEqual([2, 2, 4, 5, 3]); // 3 was overtaken by the later messages
    expect(n.got.find((g) => (g.e.message as { term: number }).term === 3)!.at).toBe(31);
    expect(once.isActive).toBe(false);
    expect(once.seen).toHaveLength(1);
  });

  test('the first matching rule acts; pass only records; a link cut while a message is held still stops it', async () => {
    const n = network();
    const tap = n.hub.intercept(() => true, 'pass', { times: 1 });
    const hold = n.hub.intercept(() => true, 'hold');
    n.send(1);
    n.send(2);
    await n.clock.advance(5);
    expect(n.terms()).toEqual([1]);
    expect(tap.seen.map((e) => (e.message as { term: number }).term)).toEqual([1]);
    n.hub.block('a', 'b');
    hold.release();
    await n.clock.advance(5);
    expect(n.terms()).toEqual([1]);
  });

  test('bad actions are refused with a clear error', () => {
    const n = network();
    expect(() => n.hub.intercept(() => true, { delay: -1 })).toThrow(RangeError);
  });
});

describe('TestCluster: seeds, elections by hand, the replication view', () => {
  test('fromLogs starts nodes on the given terms, votes and logs; nobody campaigns with manualElections', async () => {
    const c = TestCluster.fromLogs({ n1: { term: 3, votedFor: 'n2', log: [1, 1, 3] }, n2: { term: 2, log: [1] }, n3: {} }, { manualElections: true });
    await c.clock.advance(2_000);
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 3, votedFor: 'n2', lastIndex: 3, lastTerm: 3, durableIndex: 3, commitIndex: 0 });
    expect(c.replication('n1').log).toEqual([{ index: 1, term: 1 }, { index: 2, term: 1 }, { index: 3, term: 3 }]);
    expect(c.replication('n3')).toMatchObject({ term: 0, lastIndex: 0 });
    c.campaign('n1'); // n1's log is the most up to date: n2 and n3 vote for it in term 4
    await c.clock.advance(10);
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 4 });
    await c.stop();
  });

  test('seeds that no Raft log can hold are refused', () => {
    expect(() => TestCluster.fromLogs({ n1: { term: 2, log: [2, 1] } })).toThrow(/never decrease/);
    expect(() => TestCluster.fromLogs({ n1: { term: 1, log: [1, 2] } })).toThrow(/older than its last entry/);
    expect(() => new TestCluster({ nodes: ['n1'], seed: 1, seeds: { n9: {} } })).toThrow(/not a node/);
  });

  test('a configuration entry seeds a learner: it is told apart in the view and never campaigns', async () => {
    const config = { voters: ['n1'], learners: ['n2'] };
    const c = TestCluster.fromLogs({ n1: { term: 1, log: [{ term: 1, config }] }, n2: { term: 1, log: [{ term: 1, config }] } }, { manualElections: true });
    await c.clock.advance(1);
    expect(c.replication('n2').config).toEqual({ voters: ['n1'], learners: ['n2'], addresses: {} });
    c.campaign('n2');
    await c.clock.advance(20);
    expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 1 });
    c.campaign('n1');
    await c.clock.advance(20);
    expect(c.replication('n1').progress!.get('n2')).toMatchObject({ match: 2, next: 3, state: 'replicate', inflight: 0 });
    await c.stop();
  });

  test('the view shows unstable entries until they are durable, and in-flight AppendEntries per follower', async () => {
    const c = TestCluster.fromLogs({ n1: {}, n2: {}, n3: {} }, { manualElections: true, syncDelay: 5, nodeOptions: { preVote: false } });
    await c.clock.advance(150); // voters refuse RequestVote for electionTimeout.min after they start (§4.2.3)
    c.campaign('n1');
    await c.clock.advance(30);
    const held = c.hub.intercept(matching({ type: 'AppendEntriesResponse', to: 'n1' }), 'hold');
    void c.node('n1').propose(new TextEncoder().encode('x'));
    await c.clock.advance(0);
    let view = c.replication('n1');
    expect(view.unstable).toEqual([{ index: 2, term: 1 }]);
    expect(view.durableIndex).toBe(1);
    await c.clock.advance(5);
    view = c.replication('n1');
    expect(view.unstable).toEqual([]);
    expect(view.progress!.get('n2')).toMatchObject({ match: 1, next: 3, inflight: 1, state: 'replicate' });
    held.release();
    held.remove();
    await c.clock.advance(10);
    expect(c.replication('n1')).toMatchObject({ commitIndex: 2 });
    expect(c.replication('n1').progress!.get('n2')).toMatchObject({ match: 2, inflight: 0 });
    await c.stop();
  });

  test('setElectionTimeout changes when a node times out, at run time; never stops its timer', async () => {
    const c = TestCluster.fromLogs({ n1: {}, n2: {}, n3: {} }, { nodeOptions: { electionTimeout: { min: 100, max: 200 } } });
    c.setElectionTimeout('n1', 'never');
    c.setElectionTimeout('n2', 'never');
    c.setElectionTimeout('n3', { min: 250, max: 250 });
    await c.clock.advance(249);
    expect(c.leader()).toBeUndefined();
    await c.clock.advance(20);
    expect(c.leader()).toBe('n3');
    await c.stop();
  });

  test('a scripted peer sends what the test writes and keeps what the node answers', async () => {
    const c = TestCluster.fromLogs({ n1: { term: 1 } }, { scripted: ['n2', 'n3'], manualElections: true, nodeOptions: { preVote: false, checkQuorum: false } });
    await c.clock.advance(1);
    const n2 = c.peer('n2');
    n2.send('n1', heartbeat(2, 'n2'));
    await c.clock.advance(5);
    const [reply] = taken(n2, 'AppendEntriesResponse');
    expect(reply.message).toMatchObject({ term: 2, success: true });
    expect(c.replication('n1')).toMatchObject({ term: 2, leaderId: 'n2' });
    c.hub.inject('n3', 'n1', { ...heartbeat(1, 'n3') }); // stale: answered with the current term
    await c.clock.advance(5);
    expect(taken(c.peer('n3'), 'AppendEntriesResponse')[0].message).toMatchObject({ term: 2, success: false });
    expect(accept(heartbeat(2, 'n2')).matchIndex).toBe(0);
    await c.stop();
  });
});
