import { StorageFailedError } from '../../src/errors';
import { Entry, EntryKind } from '../../src/messages/entry';
import { HardState, Storage } from '../../src/storage/storage';

/**
 * How the conformance suite drives one `Storage` implementation.
 *
 * @example
 * describeStorageConformance('MemoryStorage', () => ({
 *   create: async () => new MemoryStorage(),
 *   restart: async (s) => s,
 *   injectFailure: (s) => { (s as MemoryStorage).failWith(new Error('EIO')); return () => {}; },
 *   cleanup: async () => {},
 * }));
 */
export interface StorageHarness {
  /** A fresh, empty storage. */
  create(): Promise<Storage>;
  /**
   * What a restart sees: for files, close and reopen the same directory; for memory,
   * the same instance (its `load()` returns the durable state).
   */
  restart(storage: Storage): Promise<Storage>;
  /** Makes every later write or sync of `storage` fail; returns a function that heals the fault. */
  injectFailure(storage: Storage): () => void;
  /** Closes whatever is open and removes temp files. */
  cleanup(): Promise<void>;
}

/** An entry whose payload encodes its index and term, so mix-ups show. */
export function entry(index: number, term: number, size = 8): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, kind: EntryKind.Command, data };
}

export function entries(from: number, to: number, term: number, size = 8): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

/** Entries as plain comparable values (data as arrays). */
export function plain(list: readonly Entry[]): { index: number; term: number; kind: number; data: number[] }[] {
  return list.map((e) => ({ index: e.index, term: e.term, kind: e.kind, data: Array.from(e.data) }));
}

/**
 * The `Storage` contract (see `src/storage/storage.ts`), run against one implementation.
 * Every implementation (memory, file) runs the same suite.
 */
export function describeStorageConformance(name: string, factory: () => StorageHarness): void {
  describe(`Storage conformance: ${name}`, () => {
    let harness: StorageHarness;
    let storage: Storage;

    beforeEach(async () => {
      harness = factory();
      storage = await harness.create();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    test('a new storage loads the initial hard state and an empty log', async () => {
      const state = await storage.load();
      expect(state.hardState).toEqual({ term: 0, votedFor: null });
      expect(state.entries).toEqual([]);
    });

    test('hard state round trip: the last saved state is loaded, also after a restart', async () => {
      await storage.load();
      await storage.saveHardState({ term: 3, votedFor: 'n2' });
      expect((await storage.load()).hardState).toEqual({ term: 3, votedFor: 'n2' });
      await storage.saveHardState({ term: 4, votedFor: null });
      await storage.saveHardState({ term: 2 ** 40, votedFor: 'nœud-é' });
      storage = await harness.restart(storage);
      expect((await storage.load()).hardState).toEqual({ term: 2 ** 40, votedFor: 'nœud-é' });
    });

    test('append then load returns the entries with index, term, kind and data', async () => {
      await storage.load();
      const first = [entry(1, 1, 0), { index: 2, term: 1, kind: EntryKind.Noop, data: new Uint8Array(0) }, entry(3, 1, 1000)];
      await storage.append(first);
      await storage.append([{ index: 4, term: 2, kind: EntryKind.Config, data: new Uint8Array([1, 2, 3]) }]);
      await storage.append(entries(5, 40, 2));
      const loaded = (await storage.load()).entries;
      expect(loaded.map((e) => e.index)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(plain(loaded.slice(0, 4))).toEqual(plain([...first, { index: 4, term: 2, kind: EntryKind.Config, data: new Uint8Array([1, 2, 3]) }]));
      expect(plain(loaded.slice(4))).toEqual(plain(entries(5, 40, 2)));
    });

    test('an empty append resolves and changes nothing', async () => {
      await storage.load();
      await storage.append(entries(1, 2, 1));
      await storage.append([]);
      expect((await storage.load()).entries.map((e) => e.index)).toEqual([1, 2]);
    });

    test('an overlapping append truncates the conflicting suffix first', async () => {
      await storage.load();
      await storage.append(entries(1, 5, 1));
      await storage.append(entries(3, 4, 2));
      const expected = [...entries(1, 2, 1), ...entries(3, 4, 2)];
      expect(plain((await storage.load()).entries)).toEqual(plain(expected));
      await storage.append(entries(1, 1, 3)); // replaces the whole log
      expect(plain((await storage.load()).entries)).toEqual(plain(entries(1, 1, 3)));
      await storage.append(entries(2, 3, 3));
      storage = await harness.restart(storage);
      expect(plain((await storage.load()).entries)).toEqual(plain(entries(1, 3, 3)));
    });

    test('truncations and appends issued without waiting take effect in call order', async () => {
      await storage.load();
      const calls = [
        storage.append(entries(1, 10, 1)),
        storage.append(entries(6, 8, 2)),
        storage.saveHardState({ term: 2, votedFor: 'a' }),
        storage.append(entries(9, 9, 2)),
        storage.append(entries(4, 4, 3)),
        storage.saveHardState({ term: 3, votedFor: 'b' }),
        storage.append(entries(5, 6, 3)),
      ];
      await Promise.all(calls);
      const expected = [...entries(1, 3, 1), ...entries(4, 6, 3)];
      expect(plain((await storage.load()).entries)).toEqual(plain(expected));
      storage = await harness.restart(storage);
      const after = await storage.load();
      expect(plain(after.entries)).toEqual(plain(expected));
      expect(after.hardState).toEqual({ term: 3, votedFor: 'b' });
    });

    test('promises resolve in call order', async () => {
      await storage.load();
      const order: number[] = [];
      const calls: Promise<void>[] = [];
      let next = 1;
      for (let i = 0; i < 60; i++) {
        const call =
          i % 7 === 3
            ? storage.saveHardState({ term: i, votedFor: `n${i}` })
            : i % 11 === 5
              ? storage.append([])
              : storage.append(entries(next, (next += 1 + (i % 3)) - 1, 1));
        calls.push(call.then(() => void order.push(i)));
        // Let some calls arrive while a write is in flight.
        if (i % 13 === 0) await Promise.resolve();
      }
      await Promise.all(calls);
      expect(order).toEqual(Array.from({ length: 60 }, (_, i) => i));
      expect((await storage.load()).entries.length).toBe(next - 1);
    });

    test('a restart sees everything that was acknowledged', async () => {
      await storage.load();
      let expected: Entry[] = [];
      let state: HardState = { term: 0, votedFor: null };
      for (let round = 1; round <= 5; round++) {
        state = { term: round, votedFor: round % 2 ? `n${round}` : null };
        const from = Math.max(1, expected.length - 1); // overlap the last entry each round
        const batch = entries(from, from + 20, round, 50);
        await Promise.all([storage.saveHardState(state), storage.append(batch)]);
        expected = [...expected.slice(0, from - 1), ...batch];
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.hardState).toEqual(state);
        expect(plain(loaded.entries)).toEqual(plain(expected));
      }
    });

    test('after a failure, that call and every later one reject, even once the fault is gone', async () => {
      await storage.load();
      await storage.append(entries(1, 3, 1));
      await storage.saveHardState({ term: 1, votedFor: 'x' });
      const heal = harness.injectFailure(storage);
      const failed = storage.append(entries(4, 4, 1));
      const queued = storage.saveHardState({ term: 2, votedFor: 'y' });
      await expect(failed).rejects.toBeInstanceOf(StorageFailedError);
      await expect(queued).rejects.toBeInstanceOf(StorageFailedError);
      heal();
      await expect(storage.append(entries(4, 4, 1))).rejects.toBeInstanceOf(StorageFailedError);
      await expect(storage.saveHardState({ term: 3, votedFor: null })).rejects.toBeInstanceOf(StorageFailedError);
      await expect(storage.append([])).rejects.toBeInstanceOf(StorageFailedError);
      // What was acknowledged before the failure is still there after a restart.
      storage = await harness.restart(storage);
      const loaded = await storage.load();
      expect(plain(loaded.entries.slice(0, 3))).toEqual(plain(entries(1, 3, 1)));
      expect(loaded.hardState.term).toBeGreaterThanOrEqual(1);
    });

    test('a failing hard-state save rejects with StorageFailedError and stops later appends', async () => {
      await storage.load();
      harness.injectFailure(storage);
      await expect(storage.saveHardState({ term: 5, votedFor: 'z' })).rejects.toBeInstanceOf(StorageFailedError);
      await expect(storage.append(entries(1, 1, 5))).rejects.toBeInstanceOf(StorageFailedError);
    });
  });
}
