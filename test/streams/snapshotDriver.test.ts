import { DEFAULT_SNAPSHOT_POLICY } from '../../src/options';
import type { RaftEvent } from '../../src/core/events';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { SessionTable } from '../../src/streams/sessions';
import { SnapshotDriver } from '../../src/streams/snapshots';
import type { RaftState } from '../../src/core/state';
import { makeState } from '../core/helpers';

/** A snapshot's chunks that record whether they were read or closed. */
function watchedChunks() {
  const seen = { reads: 0, closed: 0 };
  const iterator: AsyncIterableIterator<Uint8Array> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: async () => {
      seen.reads++;
      return { done: true, value: undefined };
    },
    return: async () => {
      seen.closed++;
      return { done: true, value: undefined };
    },
  };
  return { iterator, seen };
}

/** A driver over `storage` whose state machine's snapshot is `snapshot`; failures throw. */
function driverFor(storage: MemoryStorage, snapshot: () => AsyncIterableIterator<Uint8Array>, isStopped: () => boolean, dispatch: (e: RaftEvent) => void = () => undefined): { driver: SnapshotDriver; s: RaftState } {
  const s = makeState({ log: [1, 1, 1] });
  s.appliedIndex = 3;
  const fail = (e: Error) => {
    throw e;
  };
  const driver = new SnapshotDriver({
    id: 'n1',
    storage,
    stateMachine: { snapshot, restore: async () => undefined },
    policy: { ...DEFAULT_SNAPSHOT_POLICY, everyEntries: 1, minLogPercent: 0 },
    sessions: new SessionTable(),
    dispatch,
    failStop: fail,
    report: fail,
    isStopped,
    exclusive: async (work) => work(s.appliedIndex),
    restored: () => undefined,
  });
  return { driver, s };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('SnapshotDriver', () => {
  it("closes the application's chunks unread when a newer snapshot was installed before they could be written", async () => {
    const storage = new MemoryStorage();
    await storage.load();
    const newer = storage.createSnapshot({ index: 10, term: 1, config: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} } });
    await newer.commit({ compactUpTo: 0, discardLog: false });
    const { iterator, seen } = watchedChunks();
    const dispatched: RaftEvent[] = [];
    const { driver, s } = driverFor(storage, () => iterator, () => false, (e) => dispatched.push(e));
    driver.maybeTake(s);
    await settle();
    expect(seen).toEqual({ reads: 0, closed: 1 });
    expect(dispatched).toEqual([]); // no snapshot taken
  });

  it("closes the application's chunks unread when the node stopped before they could be written", async () => {
    const storage = new MemoryStorage();
    await storage.load();
    const { iterator, seen } = watchedChunks();
    let stopped = false;
    const snapshot = () => {
      stopped = true; // the node stops while the state is captured
      return iterator;
    };
    const { driver, s } = driverFor(storage, snapshot, () => stopped);
    driver.maybeTake(s);
    await settle();
    expect(seen).toEqual({ reads: 0, closed: 1 });
    expect(storage.readSnapshot()).toBeNull();
  });
});
