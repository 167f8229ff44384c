/**
 * Faults beyond the crash model (issue 18): a disk that loses acknowledged writes. Raft
 * assumes storage keeps what it acknowledged; when it does not, a follower must still be
 * repaired from the cluster rather than stay stuck.
 */
import type { SchedulerLike } from 'rxjs';
import type { PersistedState } from '../../src/storage/storage';
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

test('a follower that lost the tail of its log at restart is repaired and serves reads within two election timeouts', async () => {
  const storages = new Map<string, TornTailStorage>();
  const c = new TestCluster({
    nodes: 3,
    seed: 183,
    storage: (id: string, scheduler: SchedulerLike, syncDelay: number) => {
      const s = new TornTailStorage({ scheduler, syncDelay });
      storages.set(id, s);
      return s;
    },
  });
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
