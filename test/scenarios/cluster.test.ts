/**
 * Whole-cluster behaviour on virtual time: real nodes, in-memory network and storage,
 * one seed per test.
 */
import { firstValueFrom, take, toArray } from 'rxjs';
import { LeaderOverloadedError, NotLeaderError, ProposalDroppedError, PayloadTooLargeError, NodeStoppedError, StorageFailedError, UnknownPeerError } from '../../src/errors';
import { TestCluster } from '../../src/testing';

const encode = (s: string) => new TextEncoder().encode(s);

async function withCluster(options: ConstructorParameters<typeof TestCluster>[0], body: (c: TestCluster) => Promise<void>) {
  const cluster = new TestCluster(options);
  try {
    await body(cluster);
  } finally {
    await cluster.stop();
  }
}

describe('elections', () => {
  for (const size of [3, 5]) {
    for (const seed of [1, 2, 3]) {
      test(`a ${size}-node cluster elects exactly one leader that everyone follows (seed ${seed})`, () =>
        withCluster({ nodes: size, seed }, async (c) => {
          const leader = await c.waitForLeader(2000);
          expect(c.leaders()).toHaveLength(1);
          await c.clock.advance(2000); // a stable leader keeps its followers: no new elections
          expect(c.leaders()).toEqual([{ id: leader, term: c.status(leader)!.term }]);
        }));
    }
  }

  test('after the leader crashes, the others elect a new leader of a higher term and keep committing', () =>
    withCluster({ nodes: 5, seed: 7 }, async (c) => {
      const first = await c.waitForLeader();
      await c.propose(first, 'before');
      const term = c.status(first)!.term;
      c.crash(first);
      const second = await c.waitForLeader(2000);
      expect(second).not.toBe(first);
      expect(c.status(second)!.term).toBeGreaterThan(term);
      await c.propose(second, 'after');
      await c.restart(first);
      await c.waitFor(() => c.committedData(first).join() === 'before,after');
    }));

  test('late subscribers get the current leader, role and term at once', () =>
    withCluster({ nodes: 3, seed: 4 }, async (c) => {
      const leader = await c.waitForLeader();
      const follower = c.ids.find((id) => id !== leader)!;
      const node = c.node(follower);
      expect(await firstValueFrom(node.leader$)).toEqual({ id: leader, term: c.status(leader)!.term, self: false });
      expect(await firstValueFrom(node.role$)).toBe('follower');
      expect(await firstValueFrom(node.members$)).toEqual({ voters: ['n1', 'n2', 'n3'], learners: [], index: 0, term: 0, committed: true, addresses: {} });
    }));
});

describe('replication and commit', () => {
  test('committed$ gives identical sequences on every node, each index once and in order', () =>
    withCluster({ nodes: 5, seed: 11, faults: { drop: 0.05, duplicate: 0.05, reorder: 0.1, delay: { min: 1, max: 5 } } }, async (c) => {
      const leader = await c.waitForLeader();
      const sent = Array.from({ length: 40 }, (_, i) => `cmd-${i}`);
      await Promise.all(sent.map((cmd) => c.propose(leader, cmd)));
      await c.waitFor(() => c.ids.every((id) => c.committedData(id).length === sent.length), 5000);
      const reference = c.committedRunsOf(leader)[0].map((e) => `${e.index}:${e.term}`);
      for (const id of c.ids) {
        const run = c.committedRunsOf(id)[0];
        expect(run.map((e) => `${e.index}:${e.term}`)).toEqual(reference);
        const indexes = run.map((e) => e.index);
        expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
        expect(new Set(indexes).size).toBe(indexes.length);
      }
      expect(new Set(c.committedData(leader))).toEqual(new Set(sent));
    }));

  test('proposals made in one turn become one log append and one AppendEntries per follower', () =>
    withCluster({ nodes: 3, seed: 5 }, async (c) => {
      const leader = await c.waitForLeader();
      await c.clock.advance(100);
      const before = c.hub.stats.sent;
      const syncsBefore = c.storage(leader).syncs;
      const node = c.node(leader);
      const all = Promise.all(Array.from({ length: 100 }, (_, i) => node.propose(encode(`p${i}`))));
      await c.clock.advance(3); // less than a heartbeat interval: only replication traffic
      // Two AppendEntries out, two responses back, then the new commit index to each
      // (now idle) follower; one fsync of the leader.
      expect(c.hub.stats.sent - before).toBe(6);
      expect(c.storage(leader).syncs - syncsBefore).toBe(1);
      const results = await all;
      expect(results.map((r) => r.index)).toEqual(results.map((_, i) => results[0].index + i));
    }));

  /**
   * Messages a 3-node cluster sends for 10 writes of one closed-loop proposer on the leader
   * (each write proposed as soon as the one before is applied), turns as in Node (work a
   * turn schedules runs after the promises it settled), with `nodeOptions`.
   */
  async function messagesForTenWrites(nodeOptions: { readonly eagerCommitNotices?: boolean } = {}): Promise<number> {
    const c = new TestCluster({ nodes: 3, seed: 5, turns: 'node', nodeOptions });
    try {
      const leader = await c.waitForLeader();
      await c.clock.advance(100);
      const node = c.node(leader);
      const before = c.hub.stats.sent;
      const start = c.clock.now();
      let done = false;
      void (async () => {
        for (let i = 0; i < 10; i++) await node.propose(encode(`w${i}`));
        done = true;
      })();
      while (!done && c.clock.now() < start + 40) await c.clock.advance(1);
      await c.clock.advance(1); // the last write's notice, if any
      expect(done).toBe(true);
      const sent = c.hub.stats.sent - before;
      await c.waitFor(() => c.ids.every((id) => c.committedData(id).includes('w9')));
      return sent;
    } finally {
      await c.stop();
    }
  }

  test('a commit notice rides along with the next AppendEntries when one follows at once', async () => {
    // Per write: an AppendEntries to each follower and its answer; the commit index goes
    // out with the next write's AppendEntries. Only the last write's notice goes alone
    // (and is answered): 2 more each way.
    expect(await messagesForTenWrites()).toBe(10 * 4 + 4);
  });

  test('with eagerCommitNotices false, one proposer costs one AppendEntries and one answer per follower per write: no notice goes alone', async () => {
    // As above, but not even the last write's notice goes: the followers wait for none
    // and hear the commit index with the next heartbeat.
    expect(await messagesForTenWrites({ eagerCommitNotices: false })).toBe(10 * 4);
  });

  test('with forwarding off, a proposal to a follower is rejected with NotLeaderError carrying the leader hint', () =>
    withCluster({ nodes: 3, seed: 2, nodeOptions: { forward: false } }, async (c) => {
      const leader = await c.waitForLeader();
      const follower = c.ids.find((id) => id !== leader)!;
      const error = await c.propose(follower, 'x').catch((e) => e);
      expect(error).toBeInstanceOf(NotLeaderError);
      expect(error.leaderId).toBe(leader);
    }));

  test('a proposal to a follower is forwarded to the leader and resolves once applied on the follower', () =>
    withCluster({ nodes: 3, seed: 2 }, async (c) => {
      const leader = await c.waitForLeader();
      const follower = c.ids.find((id) => id !== leader)!;
      const at = await c.propose(follower, 'via follower');
      expect(c.committedData(follower)).toContain('via follower');
      expect(c.committedRunsOf(follower)[0].find((e) => e.index === at.index)?.term).toBe(at.term);
      await c.waitFor(() => c.committedData(leader).includes('via follower'));
    }));

  test('with eagerCommitNotices false, writes forwarded through a follower one after another each complete without waiting for a heartbeat: the follower is told the commit index it waits for', () =>
    withCluster({ nodes: 3, seed: 2, nodeOptions: { heartbeatInterval: 50, eagerCommitNotices: false } }, async (c) => {
      const leader = await c.waitForLeader();
      const follower = c.node(c.ids.find((id) => id !== leader)!);
      await c.clock.advance(100);
      const start = c.clock.now();
      let done = 0;
      void (async () => {
        for (let i = 0; i < 10; i++) {
          await follower.propose(encode(`f${i}`));
          done++;
        }
      })();
      while (done < 10 && c.clock.now() < start + 500) await c.clock.advance(1);
      expect(done).toBe(10);
      // About 5 ms each here. Had the follower heard each commit index only from a
      // heartbeat, each would wait for one: ten writes would take ten heartbeat intervals.
      expect(c.clock.now() - start).toBeLessThanOrEqual(2 * 50);
    }));

  test('bad input is refused with a named error and does not disturb the node', () =>
    withCluster({ nodes: 3, seed: 2, nodeOptions: { maxCommandBytes: 10 } }, async (c) => {
      const leader = await c.waitForLeader();
      const node = c.node(leader);
      await expect(node.propose(new Uint8Array(11))).rejects.toBeInstanceOf(PayloadTooLargeError);
      await expect(node.propose('text' as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError);
      // A message from a stranger is reported on errors$ and ignored.
      const errors = firstValueFrom(node.errors$);
      c.hub.connect('intruder').send(leader, { type: 'RequestVote', term: 99, candidateId: 'intruder', lastLogIndex: 9, lastLogTerm: 9, leadershipTransfer: false });
      await c.clock.advance(5);
      expect(await errors).toBeInstanceOf(UnknownPeerError);
      expect(c.status(leader)!.role).toBe('leader');
      await c.propose(leader, 'still fine');
    }));
});

describe('followers()', () => {
  test('the leader reports how far each follower is replicated; other nodes report null', () =>
    withCluster({ nodes: 3, seed: 5, nodeOptions: { checkQuorum: false } }, async (c) => {
      const leader = await c.waitForLeader();
      await c.propose(leader, 'a');
      await c.clock.advance(60); // a heartbeat round: every follower has answered
      const lastIndex = c.status(leader)!.lastIndex;
      const others = c.ids.filter((id) => id !== leader).sort();
      expect(c.node(leader).followers()!.map((f) => f.id).sort()).toEqual(others);
      for (const f of c.node(leader).followers()!) expect(f).toMatchObject({ matchIndex: lastIndex, lag: 0, state: 'replicating' });
      for (const id of others) expect(c.node(id).followers()).toBeNull();

      const [behind, ahead] = others;
      c.hub.isolate(behind);
      for (let i = 0; i < 5; i++) await c.propose(leader, `b${i}`);
      await c.clock.advance(100);
      const byId = new Map(c.node(leader).followers()!.map((f) => [f.id, f]));
      expect(byId.get(ahead)).toMatchObject({ lag: 0 });
      expect(byId.get(behind)!.lag).toBe(5);
      expect(byId.get(behind)!.sinceContact).toBeGreaterThanOrEqual(100);
      c.hub.heal();
      await c.waitFor(() => c.node(leader).followers()!.every((f) => f.lag === 0));
    }));
});

describe('overload', () => {
  test('a leader that cannot commit refuses proposals past maxUncommittedBytes with LeaderOverloadedError; its log stops growing; they are accepted again once it commits', () =>
    withCluster({ nodes: 3, seed: 4, nodeOptions: { checkQuorum: false, maxUncommittedBytes: 4096 } }, async (c) => {
      const leader = await c.waitForLeader();
      await c.propose(leader, 'before');
      for (const id of c.ids) if (id !== leader) c.hub.block(id, leader); // no acks: nothing commits
      const node = c.node(leader);
      const outcomes: unknown[] = [];
      const lastIndex = c.status(leader)!.lastIndex;
      for (let turn = 0; turn < 12; turn++) {
        void node.propose(new Uint8Array(1024)).then(() => (outcomes[turn] = 'committed'), (e: Error) => (outcomes[turn] = e));
        await c.clock.advance(1);
      }
      await c.clock.advance(5);
      expect(outcomes.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]); // waiting to commit
      expect(outcomes.slice(4)).toHaveLength(8);
      for (const e of outcomes.slice(4)) expect(e).toBeInstanceOf(LeaderOverloadedError);
      expect(c.status(leader)!.lastIndex).toBe(lastIndex + 4); // four commands of 1 KiB: the limit
      c.hub.heal();
      await c.waitFor(() => outcomes.filter((o) => o === 'committed').length === 4);
      await c.propose(leader, 'after');
    }));
});

describe('overload: a prefix of a turn', () => {
  /** A leader of `c` whose followers' acks are blocked (nothing commits), after one committed proposal. */
  async function stuckLeader(c: TestCluster) {
    const leader = await c.waitForLeader();
    await c.propose(leader, 'before');
    for (const id of c.ids) if (id !== leader) c.hub.block(id, leader);
    return leader;
  }

  /** Proposes `count` commands of 1 KiB on `leader` in one turn; the outcomes fill in as they settle. */
  function proposeOneTurn(c: TestCluster, leader: string, count: number): unknown[] {
    const outcomes: unknown[] = new Array(count).fill(undefined);
    for (let i = 0; i < count; i++) void c.node(leader).propose(new Uint8Array(1024).fill(i)).then((at) => (outcomes[i] = at), (e: Error) => (outcomes[i] = e));
    return outcomes;
  }

  test("proposals of one turn that would pass maxUncommittedBytes: the first ones that fit are appended and commit, the rest are refused with LeaderOverloadedError", () =>
    withCluster({ nodes: 3, seed: 4, nodeOptions: { checkQuorum: false, maxUncommittedBytes: 4096 } }, async (c) => {
      const leader = await stuckLeader(c);
      const lastIndex = c.status(leader)!.lastIndex;
      const first = proposeOneTurn(c, leader, 1); // 1 KiB uncommitted
      await c.clock.advance(1);
      const outcomes = proposeOneTurn(c, leader, 6); // 3 more fit under 4 KiB
      await c.clock.advance(5);
      expect(first).toEqual([undefined]);
      expect(outcomes.slice(0, 3)).toEqual([undefined, undefined, undefined]); // appended, waiting to commit
      for (const e of outcomes.slice(3)) expect(e).toBeInstanceOf(LeaderOverloadedError);
      expect(c.status(leader)!.lastIndex).toBe(lastIndex + 4);
      c.hub.heal();
      await c.waitFor(() => outcomes.slice(0, 3).every((o) => o !== undefined));
      const indexes = outcomes.slice(0, 3).map((o) => (o as { index: number }).index);
      expect(indexes).toEqual([lastIndex + 2, lastIndex + 3, lastIndex + 4]); // in the order they were proposed
      const committed = c.committedRunsOf(leader)[0].slice(-3).map((e) => e.data[0]);
      expect(committed).toEqual([0, 1, 2]);
    }));

  test('with nothing uncommitted, a turn gets the prefix that fits and the rest are refused', () =>
    withCluster({ nodes: 3, seed: 4, nodeOptions: { checkQuorum: false, maxUncommittedBytes: 4096 } }, async (c) => {
      const leader = await stuckLeader(c);
      const outcomes = proposeOneTurn(c, leader, 6);
      await c.clock.advance(5);
      expect(outcomes.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
      for (const e of outcomes.slice(4)) expect(e).toBeInstanceOf(LeaderOverloadedError);
      c.hub.heal();
      await c.waitFor(() => outcomes.every((o) => o !== undefined));
      expect(outcomes.slice(0, 4).every((o) => !(o instanceof Error))).toBe(true);
    }));
});

describe('partitions', () => {
  test('a minority partition cannot commit; after healing it converges on the majority log', () =>
    withCluster({ nodes: 5, seed: 3 }, async (c) => {
      const oldLeader = await c.waitForLeader();
      const others = c.ids.filter((id) => id !== oldLeader);
      const minority = [oldLeader, others[0]];
      const majority = others.slice(1);
      c.hub.partition(minority, majority);
      // The old leader keeps its office (no CheckQuorum yet) but cannot commit.
      const stuck = c.node(oldLeader).propose(encode('lost')).catch((e) => e);
      await c.clock.advance(1000);
      expect(c.committedData(oldLeader)).not.toContain('lost');
      const newLeader = c.leader();
      expect(majority).toContain(newLeader);
      await c.propose(newLeader!, 'majority');
      c.hub.heal();
      expect(await stuckOutcome(c, stuck)).toBeInstanceOf(ProposalDroppedError);
      await c.waitFor(() => c.ids.every((id) => c.committedData(id).includes('majority')), 3000);
      for (const id of c.ids) expect(c.committedData(id)).not.toContain('lost');
    }));

  test('a one-way partition: a leader that cannot hear its followers still loses no committed entry', () =>
    withCluster({ nodes: 3, seed: 9 }, async (c) => {
      const leader = await c.waitForLeader();
      await c.propose(leader, 'one');
      for (const id of c.ids) if (id !== leader) c.hub.block(id, leader);
      await c.clock.advance(1500);
      c.hub.heal();
      const next = await c.waitForLeader(3000);
      await c.propose(next, 'two');
      await c.waitFor(() => c.ids.every((id) => c.committedData(id).join() === 'one,two'), 3000);
    }));
});

async function stuckOutcome(c: TestCluster, outcome: Promise<unknown>): Promise<unknown> {
  let settled: unknown;
  let done = false;
  outcome.then((v) => ((settled = v), (done = true)));
  await c.waitFor(() => done, 3000);
  return settled;
}

describe('crashes and storage', () => {
  test('a crash loses only unsynced writes; acknowledged entries survive a full-cluster restart', () =>
    withCluster({ nodes: 3, seed: 21, syncDelay: 3 }, async (c) => {
      const leader = await c.waitForLeader();
      for (let i = 0; i < 5; i++) await c.propose(leader, `k${i}`);
      c.node(leader).propose(encode('maybe')).catch(() => undefined);
      await c.clock.advance(1);
      for (const id of c.ids) c.crash(id);
      for (const id of c.ids) await c.restart(id);
      const next = await c.waitForLeader(3000);
      await c.propose(next, 'after');
      await c.waitFor(() => c.ids.every((id) => c.committedData(id).includes('after')), 3000);
      for (const id of c.ids) {
        const data = c.committedData(id);
        expect(data.slice(0, 5)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      }
    }));

  test('a storage failure stops the node: errors$ says why, proposals reject, nothing more is acknowledged', () =>
    withCluster({ nodes: 3, seed: 8 }, async (c) => {
      const leader = await c.waitForLeader();
      const follower = c.ids.find((id) => id !== leader)!;
      const errors = firstValueFrom(c.node(follower).errors$);
      c.storage(follower).failWith(new Error('EIO: disk on fire'));
      await c.propose(leader, 'needs the other follower');
      expect(await errors).toBeInstanceOf(StorageFailedError);
      expect(c.status(follower)).toMatchObject({ stopped: true });
      expect(c.storage(follower).durableEntries().map((e) => new TextDecoder().decode(e.data))).not.toContain('needs the other follower');
      await expect(c.node(follower).propose(encode('x'))).rejects.toBeInstanceOf(NodeStoppedError);
    }));
});

describe('stop', () => {
  test('stop() leaves no scheduled work behind and completes the streams', async () => {
    const c = new TestCluster({ nodes: 3, seed: 6 });
    const leader = await c.waitForLeader();
    await c.propose(leader, 'x');
    const committed = c.node(leader).committed$.pipe(toArray());
    const pendingProposal = c.node(leader).propose(encode('never')).catch((e) => e);
    const ended = firstValueFrom(committed);
    await c.stop();
    expect(c.clock.pending).toBe(0);
    expect(await ended).toEqual([]);
    expect(await pendingProposal).toBeInstanceOf(NodeStoppedError);
  });

  test('leader$ of a stopped node ends with "no leader"', async () => {
    const c = new TestCluster({ nodes: 1, seed: 1 });
    await c.waitForLeader();
    const values = c.node('n1').leader$.pipe(take(3), toArray());
    const all = firstValueFrom(values);
    await c.stop();
    expect((await all).map((l) => l?.id ?? null)).toEqual(['n1', null]);
  });
});
