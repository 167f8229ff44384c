/**
 * Faults beyond the crash model (issue 18): a disk that loses acknowledged writes. Raft
 * assumes storage keeps what it acknowledged; when it does not, a follower must still be
 * repaired from the cluster rather than stay stuck.
 */
import type { SchedulerLike } from 'rxjs';
import type { PersistedState } from '../../src/storage/storage';
import { HardStateLostError } from '../../src/errors';
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

/** A disk that, at its next load, loses its last `lose` durable entries and reports the cut, until cleared. */
class DamagedTailStorage extends MemoryStorage {
  lose = 0;
  damaged: { from: number; reason: string } | null = null;
  cleared = 0;
  override async load(): Promise<PersistedState> {
    const state = await super.load();
    if (this.lose > 0) {
      const kept = state.entries.slice(0, Math.max(0, state.entries.length - this.lose));
      this.damaged = { from: (kept[kept.length - 1]?.index ?? 0) + 1, reason: 'checksum mismatch' };
      this.lose = 0;
      return { ...state, entries: kept, damage: { hardStateMissing: false, truncatedTail: this.damaged } };
    }
    return this.damaged ? { ...state, damage: { hardStateMissing: false, truncatedTail: this.damaged } } : state;
  }
  override async clearDamage(): Promise<void> {
    this.damaged = null;
    this.cleared++;
  }
}

describe('a node whose log lost acknowledged entries neither votes nor campaigns until repaired (issue 18)', () => {
  test('a committed write acknowledged only by the damaged follower survives: the follower does not help elect a leader without it', async () => {
    const { c, storages } = clusterOn(DamagedTailStorage, 184);
    const leader = await c.waitForLeader();
    const [damaged, other] = c.ids.filter((id) => id !== leader);
    c.hub.block(leader, other); // `other` never receives e: e commits on the leader and `damaged` only
    const e = await c.propose(leader, 'e');
    c.crash(leader);
    storages.get(damaged)!.lose = 1; // e was the last entry `damaged` acknowledged
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
    await c.waitFor(() => storages.get(damaged)!.cleared === 1, 3000);
    await c.stop();
  });
});

test('a node whose hard state is missing beside its log refuses to start with HardStateLostError (issue 18, finding 6)', async () => {
  class LostHardState extends MemoryStorage {
    override async load(): Promise<PersistedState> {
      return { ...(await super.load()), damage: { hardStateMissing: true, truncatedTail: null } };
    }
  }
  const c = new TestCluster({ nodes: 3, seed: 185, storage: (id, scheduler, syncDelay) => (id === 'n1' ? new LostHardState({ scheduler, syncDelay }) : new MemoryStorage({ scheduler, syncDelay })) });
  const started = await outcome(c, c.node('n1').ready, 100);
  expect(started.ok).toBe(false);
  expect(!started.ok && started.error).toBeInstanceOf(HardStateLostError);
  expect(String(!started.ok && (started.error as Error).message)).toMatch(/remove it from the cluster/);
  await c.waitFor(() => c.leader() !== undefined && c.leader() !== 'n1', 3000); // the others elect a leader without it
  await c.stop();
});
