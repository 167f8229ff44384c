/**
 * "Applied means the application applied it" (DESIGN.md invariant 8): with
 * `stateMachine.apply`, `propose()` and `read()` resolve only after the application's
 * own handler has finished with their index, even when it takes time; a slow handler
 * holds back delivery from the log; a failing one stops the node.
 */
import { Observable, timer } from 'rxjs';
import { map } from 'rxjs/operators';
import { ApplyFailedError, CommittedEntry, NodeId } from '../../src';
import { TestCluster } from '../../src/testing';
import { outcome } from './outcome';

const text = (e: CommittedEntry) => new TextDecoder().decode(e.data);
const bytes = (s: string) => new TextEncoder().encode(s);

/** A state machine per node: a list of applied commands, each apply taking `delay(id)` virtual ms. */
function slowMachines(c: () => TestCluster, delay: (id: NodeId) => number) {
  const state = new Map<NodeId, string[]>();
  const options = (id: NodeId) => {
    const applied: string[] = [];
    state.set(id, applied);
    return {
      stateMachine: {
        apply: (e: CommittedEntry): Observable<unknown> => timer(delay(id), c().clock.scheduler).pipe(map(() => applied.push(text(e)))),
      },
    };
  };
  return { state, options };
}

describe('apply with acknowledgement', () => {
  test('read-after-write on the leader sees the write although apply takes time', async () => {
    let c!: TestCluster;
    const machines = slowMachines(() => c, () => 40);
    c = new TestCluster({ nodes: 3, seed: 1601, nodeOptionsFor: machines.options });
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    const w = await outcome(c, node.propose(bytes('x=1')));
    expect(w.ok).toBe(true);
    expect(machines.state.get(leader)).toContain('x=1'); // the proposer sees its own write applied
    const r = await outcome(c, node.read());
    expect(r.ok).toBe(true);
    expect(machines.state.get(leader)).toContain('x=1');
    await c.stop();
  });

  test('propose resolves only after apply has finished with its index, and committed$ emits after apply', async () => {
    let c!: TestCluster;
    const events: string[] = [];
    c = new TestCluster({
      nodes: 3,
      seed: 1602,
      nodeOptionsFor: (id) => ({
        stateMachine: {
          apply: async (e: CommittedEntry) => {
            events.push(`${id} apply start ${e.index}`);
            await new Promise((resolve) => c.clock.scheduler.schedule(resolve, 25));
            events.push(`${id} apply end ${e.index}`);
          },
        },
      }),
    });
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    node.committed$.subscribe((e) => events.push(`${leader} committed$ ${e.index}`));
    let index = 0;
    const done = node.propose(bytes('a')).then((at) => {
      index = at.index;
      events.push(`${leader} resolved ${at.index}`);
    });
    expect((await outcome(c, done)).ok).toBe(true);
    const mine = events.filter((e) => e.startsWith(`${leader} `) && e.endsWith(` ${index}`));
    expect(mine).toEqual([`${leader} apply start ${index}`, `${leader} apply end ${index}`, `${leader} committed$ ${index}`, `${leader} resolved ${index}`]);
    await c.stop();
  });

  test('a follower read and a forwarded propose resolve after the follower applied, however slowly', async () => {
    let c!: TestCluster;
    let follower = '';
    const machines = slowMachines(() => c, (id) => (id === follower ? 80 : 1));
    c = new TestCluster({ nodes: 3, seed: 1603, nodeOptionsFor: machines.options });
    const leader = await c.waitForLeader();
    follower = c.ids.find((id) => id !== leader)!; // from now on its applies take 80 ms each

    const forwarded = await outcome(c, c.node(follower).propose(bytes('via follower')));
    expect(forwarded.ok).toBe(true);
    expect(machines.state.get(follower)).toContain('via follower');

    const w = await outcome(c, c.node(leader).propose(bytes('on leader')));
    expect(w.ok).toBe(true);
    expect(machines.state.get(follower)).not.toContain('on leader'); // the follower is still applying
    const r = await outcome(c, c.node(follower).read());
    expect(r.ok).toBe(true);
    expect(machines.state.get(follower)).toContain('on leader');
    await c.stop();
  });

  test('a follower that applies while its next write is in the disk: its engine hears every acknowledgement, and its reads resolve meanwhile', async () => {
    // With a slow fsync, each follower applies entry n right after starting the write of
    // n + 1 and acknowledges between turns; the engine steps that acknowledgement with
    // the write's completion (AppliedAcks.mayHold), unless a read waits for it.
    const c = new TestCluster({ nodes: 3, seed: 1607, syncDelay: 20, nodeOptions: { eagerCommitNotices: false } }); // commits reach followers with the next entries
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const writes: Promise<unknown>[] = [];
    const reads: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      writes.push(c.node(leader).propose(bytes(`w${i}`))); // a write every 5 ms, each in the disk for 20
      if (i % 10 === 5) reads.push(c.node(follower).read());
      await c.clock.advance(5);
    }
    const all = await outcome(c, Promise.all([...writes, ...reads]));
    expect(all.ok).toBe(true);
    await c.clock.advance(200); // the last commit notice, and its apply
    for (const id of c.ids) {
      const v = c.replication(id);
      expect(v.appliedIndex).toBe(v.commitIndex);
      expect(v.commitIndex).toBe(c.replication(leader).commitIndex);
      expect(c.status(id)?.appliedIndex).toBe(v.commitIndex);
    }
    await c.stop();
  });

  test('a follower whose leader goes silent right after a write learns the write is durable within a heartbeat interval, and the next leader keeps it', async () => {
    // The follower's `persisted` waits for its next turn (DurableCompletions); with no
    // commit notice and no heartbeat to come, its fallback hands it over.
    const c = new TestCluster({ nodes: 3, seed: 1608, syncDelay: 5, nodeOptions: { eagerCommitNotices: false, heartbeatInterval: 50 } });
    const leader = await c.waitForLeader();
    const w = await outcome(c, c.node(leader).propose(bytes('kept')));
    expect(w.ok).toBe(true);
    c.hub.isolate(leader);
    const followers = c.ids.filter((id) => id !== leader);
    await c.clock.advance(50);
    for (const id of followers) expect(c.replication(id).durableIndex).toBe(c.replication(id).lastIndex);
    const newLeader = () => followers.find((id) => c.status(id)?.role === 'leader');
    for (let t = 0; t < 100 && !newLeader(); t++) await c.clock.advance(50); // bounded: 5 s of virtual time
    const next = newLeader()!;
    expect(next).toBeDefined();
    const r = await outcome(c, c.node(next).read());
    expect(r.ok).toBe(true);
    expect(c.replication(next).log.map((e) => e.index)).toContain((w as { value: { index: number } }).value.index);
    await c.stop();
  });

  test('a slow apply holds back delivery: entries handed out and not acknowledged stay within maxApplyingEntries', async () => {
    let c!: TestCluster;
    const machines = slowMachines(() => c, () => 10);
    c = new TestCluster({ nodes: 3, seed: 1604, nodeOptions: { maxApplyingEntries: 4 }, nodeOptionsFor: machines.options });
    const leader = await c.waitForLeader();
    const all = Promise.all(Array.from({ length: 40 }, (_, i) => c.node(leader).propose(bytes(`w${i}`))));
    let widest = 0;
    let settled = false;
    all.then(() => (settled = true), () => (settled = true));
    for (let t = 0; t < 2000 && !settled; t++) {
      for (const id of c.ids) {
        const v = c.replication(id);
        expect(v.applyingIndex - v.appliedIndex).toBeLessThanOrEqual(4);
        expect(v.applyingIndex).toBeLessThanOrEqual(Math.min(v.commitIndex, v.durableIndex));
        widest = Math.max(widest, v.applyingIndex - v.appliedIndex);
      }
      await c.clock.advance(1);
    }
    expect(settled).toBe(true);
    expect(widest).toBe(4); // the budget was used: the log was ahead of the application
    expect(machines.state.get(leader)!.filter((s) => s.startsWith('w'))).toHaveLength(40);
    await c.stop();
  });

  test('a slow apply within maxApplyingBytes: payload handed out and not acknowledged stays within the budget', async () => {
    let c!: TestCluster;
    const machines = slowMachines(() => c, () => 10);
    c = new TestCluster({ nodes: 3, seed: 1605, nodeOptions: { maxApplyingBytes: 300 }, nodeOptionsFor: machines.options });
    const leader = await c.waitForLeader();
    const payload = 'p'.repeat(100);
    const all = Promise.all(Array.from({ length: 12 }, () => c.node(leader).propose(bytes(payload))));
    let widest = 0;
    let settled = false;
    all.then(() => (settled = true), () => (settled = true));
    for (let t = 0; t < 2000 && !settled; t++) {
      const v = c.replication(leader);
      widest = Math.max(widest, v.applyingIndex - v.appliedIndex);
      await c.clock.advance(1);
    }
    expect(settled).toBe(true);
    expect(widest).toBe(3); // three 100-byte entries fit in 300 bytes, a fourth does not
    await c.stop();
  });

  test('a throwing apply stops the node with ApplyFailedError; a rejecting one fails the waiting proposal with it', async () => {
    let c!: TestCluster;
    c = new TestCluster({
      nodes: 3,
      seed: 1606,
      nodeOptionsFor: (id) => ({
        stateMachine: {
          apply: (e: CommittedEntry) => {
            if (text(e) !== 'boom') return undefined;
            if (id === c.leader()) return Promise.reject(new Error('disk full'));
            throw new Error('bad command');
          },
        },
      }),
    });
    const leader = await c.waitForLeader();
    const p = await outcome(c, c.node(leader).propose(bytes('boom')));
    expect(p.ok).toBe(false);
    expect(p.ok ? null : p.error).toBeInstanceOf(ApplyFailedError);
    await c.clock.advance(100);
    for (const id of c.ids) {
      expect(c.status(id)?.stopped).toBe(true);
      const reported = c.errors.filter((e) => e.id === id).map((e) => e.error);
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(ApplyFailedError);
      expect((reported[0] as ApplyFailedError).message).toMatch(id === leader ? /disk full/ : /bad command/);
      expect((reported[0] as ApplyFailedError).index).toBe((p as { error: ApplyFailedError }).error.index); // the entry of 'boom'
    }
    await c.stop();
  });
});
