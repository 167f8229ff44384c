/**
 * PreVote and CheckQuorum (Raft dissertation §9.6, §6.2): partial connectivity and
 * returning nodes must not make leaders flap.
 */
import { firstValueFrom } from 'rxjs';
import { TestCluster } from '../../src/testing';
import { step } from '../../src/core/step';
import { makeState, sent, types } from '../core/helpers';
import { outcome } from './outcome';

const robust = { preVote: true, checkQuorum: true };

function leaderChanges(c: TestCluster): { count: () => number } {
  const seen = new Set<string>();
  for (const id of c.ids) c.node(id).leader$.subscribe((l) => l && seen.add(`${l.id}@${l.term}`));
  return { count: () => seen.size };
}

describe('PreVote (§9.6)', () => {
  test('a pre-candidate asks with term + 1 and raises nothing; a majority of pre-votes starts the real election', () => {
    const s = makeState({ term: 3, log: [1, 3], options: robust });
    let fx = step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list;
    expect(s.role.name).toBe('precandidate');
    expect(s.term).toBe(3);
    expect(types(fx)).toEqual(['send PreVote to n2', 'send PreVote to n3']); // nothing persisted
    expect(sent(fx)[0].message).toEqual({ type: 'PreVote', term: 4, candidateId: 'n1', lastLogIndex: 2, lastLogTerm: 3 });
    fx = step(s, { kind: 'message', from: 'n2', message: { type: 'PreVoteResponse', term: 4, voteGranted: true } }).list;
    expect(s.role.name).toBe('candidate');
    expect(s.term).toBe(4);
    expect(types(fx)).toContain('send RequestVote to n3');
  });

  test('a voter that heard from its leader within the minimum election timeout refuses, and changes nothing', () => {
    const s = makeState({ term: 2, options: robust });
    s.now = 1000;
    step(s, { kind: 'message', from: 'n2', message: { type: 'AppendEntries', term: 2, leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 1 } });
    s.now = 1100;
    const ask = { type: 'PreVote', term: 3, candidateId: 'n3', lastLogIndex: 0, lastLogTerm: 0 } as const;
    let fx = step(s, { kind: 'message', from: 'n3', message: ask }).list;
    expect(sent(fx)[0].message).toEqual({ type: 'PreVoteResponse', term: 2, voteGranted: false });
    expect(s.term).toBe(2);
    expect(s.leaderId).toBe('n2');
    s.now = 1000 + 150; // the leader has been silent for the minimum election timeout
    fx = step(s, { kind: 'message', from: 'n3', message: ask }).list;
    expect(sent(fx)[0].message).toEqual({ type: 'PreVoteResponse', term: 3, voteGranted: true });
    expect(s.votedFor).toBeNull();
  });

  test('a refusal carrying a newer term makes the pre-candidate adopt it', () => {
    const s = makeState({ term: 2, options: robust });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    step(s, { kind: 'message', from: 'n2', message: { type: 'PreVoteResponse', term: 7, voteGranted: false } });
    expect(s.role.name).toBe('follower');
    expect(s.term).toBe(7);
  });

  test('one broken link does not make leaders flap (and does without PreVote)', async () => {
    for (const [options, flaps] of [[robust, false], [{ preVote: false, checkQuorum: false }, true]] as const) {
      const c = new TestCluster({ nodes: 3, seed: 12, nodeOptions: options });
      const leader = await c.waitForLeader();
      const cut = c.ids.find((id) => id !== leader)!;
      const changes = leaderChanges(c);
      c.hub.block(leader, cut);
      c.hub.block(cut, leader);
      await c.clock.advance(5000);
      if (flaps) expect(changes.count()).toBeGreaterThanOrEqual(3); // repeated elections
      else {
        expect(changes.count()).toBe(1);
        expect(c.leader()).toBe(leader);
        await c.propose(leader, 'still serving');
      }
      await c.stop();
    }
  });

  test('a node returning from isolation does not depose a healthy leader: the leader term is unchanged', async () => {
    const c = new TestCluster({ nodes: 5, seed: 13, nodeOptions: robust });
    const leader = await c.waitForLeader();
    const term = c.status(leader)!.term;
    const loner = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(loner);
    await c.clock.advance(3000); // many election timeouts: without PreVote its term would soar
    expect(c.status(loner)!.term).toBe(term);
    c.hub.heal();
    await c.clock.advance(1000);
    expect(c.leader()).toBe(leader);
    expect(c.status(leader)!.term).toBe(term);
    await c.propose(leader, 'x');
    await c.stop();
  });
});

describe('CheckQuorum (§6.2)', () => {
  test('a leader cut off from the majority steps down within an election timeout', async () => {
    const c = new TestCluster({ nodes: 5, seed: 14, nodeOptions: robust });
    const leader = await c.waitForLeader();
    c.hub.isolate(leader);
    const start = c.clock.now();
    await c.waitFor(() => c.status(leader)!.role !== 'leader', 1000, 1);
    expect(c.clock.now() - start).toBeLessThanOrEqual(300 + 50); // the ticks of electionTimeout.max (checkQuorumTicks) + a heartbeat tick
    expect(await firstValueFrom(c.node(leader).leader$)).toBeNull();
    await c.stop();
  });

  test('PreVote with CheckQuorum does not deadlock: a leader that cannot commit, still seen by one follower', async () => {
    // L can send to A but hears nothing back; L and B cannot talk at all. L cannot commit,
    // yet A keeps hearing heartbeats and would veto B's pre-votes forever. CheckQuorum makes L
    // step down; once L is silent, A's veto lapses and B (or A) is elected.
    for (const checkQuorum of [true, false]) {
      const c = new TestCluster({ nodes: 3, seed: 15, nodeOptions: { preVote: true, checkQuorum } });
      const L = await c.waitForLeader();
      const [A, B] = c.ids.filter((id) => id !== L);
      c.hub.block(A, L);
      c.hub.block(L, B);
      c.hub.block(B, L);
      const elected = () => [A, B].some((id) => c.status(id)!.role === 'leader');
      if (checkQuorum) {
        await c.waitFor(elected, 3000);
        const next = c.leader()!;
        expect([A, B]).toContain(next);
        await c.propose(next, 'progress');
      } else {
        await c.clock.advance(3000); // the control: PreVote alone is stuck
        expect(elected()).toBe(false);
      }
      await c.stop();
    }
  });
});

describe('forwarded and failed reads', () => {
  test('a deposed leader in a minority partition cannot complete read()', async () => {
    const c = new TestCluster({ nodes: 5, seed: 16, nodeOptions: robust });
    const old = await c.waitForLeader();
    await c.propose(old, 'v1');
    const minority = [old, c.ids.find((id) => id !== old)!];
    c.hub.partition(minority, c.ids.filter((id) => !minority.includes(id)));
    const reads = [c.node(old).read(), c.node(minority[1]).read()];
    const results = await Promise.all(reads.map((r) => outcome(c, r, 2000)));
    for (const r of results) expect(r.ok).toBe(false);
    // Meanwhile the majority moves on.
    const next = c.ids.find((id) => !minority.includes(id) && c.status(id)!.role === 'leader');
    expect(next).toBeDefined();
    await c.stop();
  });
});
