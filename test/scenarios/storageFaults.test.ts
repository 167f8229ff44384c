/**
 * Faults beyond the crash model (issue 18): a disk that loses acknowledged writes. Raft
 * assumes storage keeps what it acknowledged; when it does not, a follower must still be
 * repaired from the cluster rather than stay stuck.
 */
import type { SchedulerLike } from 'rxjs';
import type { PersistedState } from '../../src/storage/storage';
import { HardStateLostError, HardStateRecoveryStalledError } from '../../src/errors';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { TestCluster } from '../../src/testing';
import { outcome } from './outcome';

/** At its next load, forgets the last `lose` durable entries, as a torn tail cut at restart would. */
class TornTailStorage extends MemoryStorage {
  lose = 0;
  override async load(): Promise<PersistedState> {
    const state = await super.load();
    if (this.lose === 0) return state;
    const kept = state.entries.slice(0, Math.max(0, state.entries.length - this.lose));
    this.lose = 0;
    return { ...state, entries: kept };
  }
}

/** Three nodes, each on its own storage of class `Kind`. */
function clusterOn<S extends MemoryStorage>(Kind: new (options: { scheduler: SchedulerLike; syncDelay: number }) => S, seed: number) {
  const storages = new Map<string, S>();
  const c = new TestCluster({
    nodes: 3,
    seed,
    storage: (id: string, scheduler: SchedulerLike, syncDelay: number) => {
      const s = new Kind({ scheduler, syncDelay });
      storages.set(id, s);
      return s;
    },
  });
  return { c, storages };
}

test('a follower that lost the tail of its log at restart is repaired and serves reads within two election timeouts', async () => {
  const { c, storages } = clusterOn(TornTailStorage, 183);
  const leader = await c.waitForLeader();
  for (let i = 0; i < 10; i++) await c.propose(leader, `w${i}`);
  const follower = c.ids.find((id) => id !== leader)!;
  await c.waitFor(() => c.status(follower)?.appliedIndex === c.status(leader)?.appliedIndex);
  const lastBefore = c.status(follower)!.lastIndex;
  storages.get(follower)!.lose = 3;
  await c.restart(follower);
  const restartedAt = c.clock.now();
  expect(c.status(follower)!.lastIndex).toBe(lastBefore - 3);
  // The leader still believes the follower holds its old match; no write comes to push it along.
  await c.waitFor(() => c.status(follower)?.leaderId === leader, 300, 1); // a client retries until a leader is known
  const r = await outcome(c, c.node(follower).read(), 2000);
  expect(r.ok).toBe(true);
  expect(r.at - restartedAt).toBeLessThanOrEqual(2 * 300);
  expect(c.status(follower)!.appliedIndex).toBe(c.status(leader)!.appliedIndex);
  expect(c.committedData(follower)).toEqual(c.committedData(leader).slice(-c.committedData(follower).length));
  await c.stop();
});

describe('a node whose log lost acknowledged entries neither votes nor campaigns until repaired (issue 18)', () => {
  test('a committed write acknowledged only by the damaged follower survives: the follower does not help elect a leader without it', async () => {
    const { c, storages } = clusterOn(MemoryStorage, 184);
    const leader = await c.waitForLeader();
    const [damaged, other] = c.ids.filter((id) => id !== leader);
    c.hub.block(leader, other); // `other` never receives e: e commits on the leader and `damaged` only
    const e = await c.propose(leader, 'e');
    c.crash(leader);
    c.crash(damaged);
    storages.get(damaged)!.damageTail(1); // e was the last entry `damaged` acknowledged
    await c.restart(damaged);
    c.hub.heal();
    await c.clock.advance(1000);
    // Without the leader nobody may lead: `other` lacks e, and so does `damaged`, which abstains.
    expect(c.leaders()).toEqual([]);
    expect(c.status(damaged)!.role).toBe('follower');
    await c.restart(leader);
    await c.waitForLeader(3000);
    await c.propose(c.leader()!, 'after');
    await c.waitFor(() => c.ids.every((id) => c.committedData(id).includes('after')), 3000);
    for (const id of c.ids) {
      const entries = c.committedRunsOf(id).flat();
      expect(entries.find((x) => x.index === e.index)).toMatchObject({ term: e.term, data: new TextEncoder().encode('e') });
    }
    // The marker the damaged node proposed committed once a leader was back: it is repaired.
    await c.waitFor(() => !storages.get(damaged)!.damaged, 3000);
    await c.stop();
  });
});

describe('a node whose hard state is missing beside its log (issue 18, finding 6)', () => {
  test('it rejoins, recovers a term no lower than any the cluster reached, and only then votes and can lead', async () => {
    const c = new TestCluster({ nodes: 3, seed: 185 });
    const leader = await c.waitForLeader();
    await c.propose(leader, 'before');
    const lost = c.ids.find((id) => id !== leader)!;
    await c.waitFor(() => c.committedData(lost).includes('before'), 3000);
    const termBefore = Math.max(...c.ids.map((id) => c.status(id)!.term));
    c.crash(lost);
    c.storage(lost).loseHardState();
    await c.restart(lost);
    expect(c.storage(lost).damaged).toBe(true);
    await c.waitFor(() => !c.storage(lost).damaged, 3000); // repaired: the damage record is cleared
    const view = c.replication(lost);
    expect(view.term).toBeGreaterThanOrEqual(termBefore);
    await c.propose(c.leader()!, 'after');
    await c.waitFor(() => c.committedData(lost).includes('after'), 3000);
    const handedOver = await outcome(c, c.node(c.leader()!).transferLeadership(lost), 3000); // it campaigns again, and wins
    expect(handedOver).toMatchObject({ ok: true, value: { leaderId: lost } });
    await c.propose(lost, 'led');
    await c.stop();
  });

  test('while a member does not answer it stays in repair, neither votes nor campaigns, and says why once', async () => {
    const c = new TestCluster({ nodes: 3, seed: 186 });
    const leader = await c.waitForLeader();
    await c.propose(leader, 'before');
    const [lost, silent] = c.ids.filter((id) => id !== leader);
    await c.waitFor(() => c.committedData(lost).includes('before'), 3000);
    c.crash(lost);
    c.crash(silent);
    c.storage(lost).loseHardState();
    const node = await c.restart(lost);
    const reports: Error[] = [];
    node.errors$.subscribe((e) => reports.push(e));
    c.campaign(lost);
    await c.clock.advance(3000);
    expect(reports.filter((e) => e instanceof HardStateRecoveryStalledError).map((e) => (e as HardStateRecoveryStalledError).missing)).toEqual([[silent]]);
    expect(c.storage(lost).damaged).toBe(true);
    expect(c.status(lost)!.role).toBe('follower');
    expect(c.replication(lost).votedFor).toBeNull(); // no vote granted to anyone
    await c.restart(silent);
    await c.waitFor(() => !c.storage(lost).damaged, 3000);
    await c.stop();
  });

  test('a single-node cluster cannot be repaired from anyone: it refuses to start with HardStateLostError', async () => {
    const c = new TestCluster({ nodes: 1, seed: 187 });
    const leader = await c.waitForLeader();
    await c.propose(leader, 'x');
    c.crash(leader);
    c.storage(leader).loseHardState();
    c.start(leader);
    const started = await outcome(c, c.node(leader).ready, 100);
    expect(started.ok).toBe(false);
    expect(!started.ok && started.error).toBeInstanceOf(HardStateLostError);
    expect(String(!started.ok && (started.error as Error).message)).toMatch(/no configuration in the log names another member/);
    await c.stop();
  });
});
