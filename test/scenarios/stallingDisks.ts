import type { SchedulerLike } from 'rxjs';
import type { Entry } from '../../src/messages/entry';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { TestCluster } from '../../src/testing';

/** A disk that stops completing appends once `stall` is set (the writes hang, nothing fails). */
export class StallingStorage extends MemoryStorage {
  stall = false;
  override append(entries: readonly Entry[]): Promise<void> {
    return this.stall ? new Promise<void>(() => undefined) : super.append(entries);
  }
}

/**
 * Three nodes on stallable disks (`requestTimeout` 400 ms), a leader elected and one
 * entry committed; each node's storage by id, to stall.
 *
 * @example
 * const { c, leader, storages } = await clusterOnStallingDisks();
 * storages.get(follower)!.stall = true; // its appends never complete from now on
 */
export async function clusterOnStallingDisks(): Promise<{ c: TestCluster; leader: string; storages: Map<string, StallingStorage> }> {
  const storages = new Map<string, StallingStorage>();
  const c = new TestCluster({
    nodes: 3,
    seed: 181,
    nodeOptions: { requestTimeout: 400 },
    storage: (id: string, scheduler: SchedulerLike, syncDelay: number) => {
      const s = new StallingStorage({ scheduler, syncDelay });
      storages.set(id, s);
      return s;
    },
  });
  const leader = await c.waitForLeader();
  await c.propose(leader, 'before');
  return { c, leader, storages };
}
