import { MemoryStorage } from '../../src/storage/memoryStorage';
import { VirtualTimeScheduler } from 'rxjs';
import { EntryRangeError } from '../../src/errors';
import { chunk, describeStorageConformance, entries, plain, snapshotMeta, takeSnapshot } from './conformance';

describeStorageConformance('MemoryStorage', () => ({
  create: async () => new MemoryStorage(),
  // A restart of a MemoryStorage sees its durable state: load() again on the same instance.
  restart: async (storage) => storage,
  injectFailure: (storage) => {
    (storage as MemoryStorage).failWith(new Error('EIO (injected)'));
    return () => undefined; // MemoryStorage's failure is permanent
  },
  cleanup: async () => undefined,
}));

describe('MemoryStorage.readEntries under the simulator’s fault model', () => {
  test('a write lost in a crash was never served, and is not after the crash', async () => {
    const scheduler = new VirtualTimeScheduler();
    const storage = new MemoryStorage({ scheduler, syncDelay: 1 });
    const first = storage.append(entries(1, 3, 1));
    scheduler.flush();
    await first;
    const lost = storage.append(entries(4, 6, 1)); // its sync is due at time 2: the crash comes first
    await expect(storage.readEntries(4, 5, 1 << 20)).rejects.toBeInstanceOf(EntryRangeError);
    storage.crash();
    scheduler.flush();
    await expect(storage.readEntries(4, 5, 1 << 20)).rejects.toBeInstanceOf(EntryRangeError);
    expect(plain(await storage.readEntries(1, 4, 1 << 20))).toEqual(plain(entries(1, 3, 1)));
    expect(await Promise.race([lost.then(() => 'settled'), Promise.resolve('pending')])).toBe('pending');
  });

  test('entries a damaged disk lost (damageTail) are not served', async () => {
    const storage = new MemoryStorage();
    await storage.append(entries(1, 5, 1));
    storage.crash();
    storage.damageTail(2);
    const error = await storage.readEntries(4, 6, 1 << 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntryRangeError);
    expect((error as EntryRangeError).available).toEqual({ first: 1, last: 3 });
    expect(storage.reads).toEqual({ calls: 1, entries: 0, snapshotChunks: 0, openSnapshotReads: 0 });
  });

  test('reads.openSnapshotReads counts the snapshot reads pulled and neither finished nor closed (what a file storage holds a handle for)', async () => {
    const storage = new MemoryStorage();
    await storage.append(entries(1, 2, 1));
    await takeSnapshot(storage, snapshotMeta(2, 1), [chunk(10, 1), chunk(10, 2)]);
    const finished = storage.readSnapshot()!.chunks[Symbol.asyncIterator]();
    const closed = storage.readSnapshot()!.chunks[Symbol.asyncIterator]();
    await Promise.all([finished.next(), closed.next()]);
    expect(storage.reads.openSnapshotReads).toBe(2);
    await closed.return!();
    while (!(await finished.next()).done);
    expect(storage.reads).toMatchObject({ snapshotChunks: 3, openSnapshotReads: 0 });
  });
});

describe('MemoryStorage.stallWrites: the simulator’s hung disk', () => {
  test('a stalled disk (stallWrites) completes no write until resumed, then all of them in order, nothing lost', async () => {
    const scheduler = new VirtualTimeScheduler();
    const storage = new MemoryStorage({ scheduler, syncDelay: 1 });
    const done: string[] = [];
    const before = storage.append(entries(1, 2, 1)).then(() => done.push('append 1-2'));
    storage.stallWrites(); // the sync already due for 1-2 finds the disk hung too
    const vote = storage.saveHardState({ term: 2, votedFor: 'n2' }).then(() => done.push('hard state'));
    const after = storage.append(entries(3, 3, 2)).then(() => done.push('append 3'));
    scheduler.flush();
    await Promise.resolve();
    expect(done).toEqual([]);
    expect(storage.durableEntries()).toEqual([]);
    expect(storage.writesStalled).toBe(true);
    storage.resumeWrites();
    scheduler.flush();
    await Promise.all([before, vote, after]);
    expect(done).toEqual(['append 1-2', 'hard state', 'append 3']);
    expect(plain(storage.durableEntries())).toEqual(plain([...entries(1, 2, 1), ...entries(3, 3, 2)]));
    expect(storage.durableHardState()).toEqual({ term: 2, votedFor: 'n2' });
  });

  test('a crash during a stall loses the writes that waited; the disk stays hung until resumed', async () => {
    const scheduler = new VirtualTimeScheduler();
    const storage = new MemoryStorage({ scheduler, syncDelay: 1 });
    storage.stallWrites();
    const lost = storage.append(entries(1, 2, 1));
    storage.crash();
    const next = storage.append(entries(1, 1, 2));
    scheduler.flush();
    expect(await Promise.race([next.then(() => 'settled'), Promise.resolve('pending')])).toBe('pending');
    storage.resumeWrites();
    scheduler.flush();
    await next;
    expect(plain(storage.durableEntries())).toEqual(plain(entries(1, 1, 2)));
    expect(await Promise.race([lost.then(() => 'settled'), Promise.resolve('pending')])).toBe('pending');
  });
});
