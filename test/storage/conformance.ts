import type { ClusterConfig } from '../../src/messages/config';
import { EntryRangeError, StorageFailedError } from '../../src/errors';
import { Entry, EntryKind } from '../../src/messages/entry';
import { HardState, SnapshotMeta } from '../../src/messages/persisted';
import { encodeEntries } from '../../src/messages/entryCodec';
import { EntryRun, readEntryRun } from '../../src/messages/entryRun';
import { PersistedState, Storage } from '../../src/storage/storage';

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

export const CONFIG: ClusterConfig = { voters: ['n1', 'n2', 'n3'], learners: ['l1'], addresses: { n1: 'host-1:7000' } };

export function snapshotMeta(index: number, term: number): SnapshotMeta {
  return { index, term, config: CONFIG };
}

/** A chunk of `size` bytes whose content depends on `seed`. */
export function chunk(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return data;
}

/** A chunk as a comparable value (base64: cheap to compare even when large). */
export function bytes(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** Reads every chunk of the current snapshot (see `bytes`), or null when there is none. */
export async function readBack(storage: Storage): Promise<{ meta: SnapshotMeta; chunks: string[] } | null> {
  const snapshot = storage.readSnapshot();
  if (!snapshot) return null;
  const chunks: string[] = [];
  for await (const c of snapshot.chunks) chunks.push(bytes(c));
  return { meta: snapshot.meta, chunks };
}

/** Writes `chunks` through a new snapshot writer and commits it. */
export async function takeSnapshot(
  storage: Storage,
  meta: SnapshotMeta,
  chunks: readonly Uint8Array[],
  options: { compactUpTo?: number; discardLog?: boolean } = {},
): Promise<void> {
  const writer = storage.createSnapshot(meta);
  for (const c of chunks) await writer.write(c);
  await writer.commit({ compactUpTo: options.compactUpTo ?? meta.index, discardLog: options.discardLog ?? false });
}

/**
 * The entries of a loaded state after `after` (the compaction point), checking what the
 * contract promises of the rest: contiguous, and starting at or before `after + 1`
 * (an implementation may return a few entries before the compaction point).
 */
export function entriesAfter(state: PersistedState, after: number): Entry[] {
  const list = state.entries;
  for (let i = 1; i < list.length; i++) expect(list[i].index).toBe(list[0].index + i);
  if (list.length > 0 && list[list.length - 1].index > after) expect(list[0].index).toBeLessThanOrEqual(after + 1);
  return list.filter((e) => e.index > after);
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

    test('a new storage reports no damage; clearDamage resolves in order with the writes', async () => {
      const state = await storage.load();
      expect(state.damage ?? null).toBeNull();
      const order: string[] = [];
      await Promise.all([
        storage.saveHardState({ term: 1, votedFor: null }).then(() => order.push('save')),
        storage.clearDamage?.().then(() => order.push('clear')),
        storage.append(entries(1, 1, 1)).then(() => order.push('append')),
      ]);
      expect(order).toEqual(storage.clearDamage ? ['save', 'clear', 'append'] : ['save', 'append']);
      storage = await harness.restart(storage);
      expect((await storage.load()).damage ?? null).toBeNull();
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

    test('appendRun is append of the run\'s entries: a suffix truncated, order kept with appends', async () => {
      // Optional: without it the runtime appends the run's entries, made (durableWrites).
      const appendRun = (r: EntryRun) => (storage.appendRun !== undefined ? storage.appendRun(r) : storage.append(r.entries()));
      const run = (list: Entry[]) => readEntryRun(encodeEntries(list), { prevLogIndex: list[0].index - 1, prevLogTerm: 0, term: list[list.length - 1].term });
      await storage.load();
      await storage.append(entries(1, 5, 1));
      const writes = [appendRun(run(entries(3, 4, 2))), storage.append(entries(5, 6, 2)), appendRun(run(entries(7, 9, 3)))];
      await Promise.all(writes);
      const expected = [...entries(1, 2, 1), ...entries(3, 6, 2), ...entries(7, 9, 3)];
      expect(plain((await storage.load()).entries)).toEqual(plain(expected));
      await appendRun(run(entries(10, 10, 3)));
      storage = await harness.restart(storage);
      expect(plain((await storage.load()).entries)).toEqual(plain([...expected, ...entries(10, 10, 3)]));
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

    describe('readEntries', () => {
      /** The error `readEntries` rejects with (fails the test when it resolves). */
      const rangeError = async (from: number, to: number, maxBytes = 1 << 20): Promise<EntryRangeError> => {
        const error = await storage.readEntries(from, to, maxBytes).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(EntryRangeError);
        return error as EntryRangeError;
      };

      test('serves [from, to) of the durable log, across writes and segments, also after a restart', async () => {
        await storage.load();
        const log = [...entries(1, 60, 1, 100), ...entries(61, 61, 2, 0), ...entries(62, 130, 2, 100)];
        for (let i = 0; i < log.length; i += 13) await storage.append(log.slice(i, i + 13));
        expect(plain(await storage.readEntries(1, 131, Infinity))).toEqual(plain(log));
        expect(plain(await storage.readEntries(5, 6, 1))).toEqual(plain(log.slice(4, 5)));
        expect(plain(await storage.readEntries(40, 100, 1 << 20))).toEqual(plain(log.slice(39, 99)));
        storage = await harness.restart(storage);
        expect(plain(await storage.readEntries(59, 64, 1 << 20))).toEqual(plain(log.slice(58, 63)));
        expect(plain(await storage.readEntries(1, 131, 1 << 20))).toEqual(plain(log));
      });

      test('maxBytes bounds the payload read, but the first entry always comes', async () => {
        await storage.load();
        await storage.append(entries(1, 10, 1, 100));
        expect((await storage.readEntries(1, 11, 350)).map((e) => e.index)).toEqual([1, 2, 3]);
        expect((await storage.readEntries(1, 11, 300)).map((e) => e.index)).toEqual([1, 2, 3]);
        expect((await storage.readEntries(4, 11, 1)).map((e) => e.index)).toEqual([4]);
        expect((await storage.readEntries(4, 11, 1000)).map((e) => e.index)).toEqual([4, 5, 6, 7, 8, 9, 10]);
      });

      test('after a conflicting tail is truncated, the new entries are served, also after a restart', async () => {
        await storage.load();
        await storage.append(entries(1, 10, 1, 30));
        await storage.append(entries(6, 8, 2, 30));
        const expected = [...entries(1, 5, 1, 30), ...entries(6, 8, 2, 30)];
        expect(plain(await storage.readEntries(1, 9, 1 << 20))).toEqual(plain(expected));
        expect((await rangeError(8, 10)).available).toEqual({ first: 1, last: 8 });
        storage = await harness.restart(storage);
        expect(plain(await storage.readEntries(1, 9, 1 << 20))).toEqual(plain(expected));
        await storage.append(entries(2, 2, 3, 30)); // replaces all but entry 1
        expect(plain(await storage.readEntries(1, 3, 1 << 20))).toEqual(plain([...entries(1, 1, 1, 30), ...entries(2, 2, 3, 30)]));
        expect((await rangeError(3, 4)).compacted).toBe(false);
      });

      test('only durable entries are served: a write not yet acknowledged is not', async () => {
        await storage.load();
        await storage.append(entries(1, 3, 1));
        const pending = storage.append(entries(4, 6, 1));
        const early = storage.readEntries(4, 5, 1 << 20).then(
          () => null,
          (e: unknown) => e,
        );
        await pending;
        expect(await early).toBeInstanceOf(EntryRangeError);
        expect((await storage.readEntries(4, 7, 1 << 20)).map((e) => e.index)).toEqual([4, 5, 6]);
      });

      test('after compaction the kept tail is served and the compacted part is refused as compacted, also after a restart', async () => {
        await storage.load();
        await storage.append(entries(1, 40, 1, 60));
        await takeSnapshot(storage, snapshotMeta(30, 1), [chunk(50, 1)], { compactUpTo: 20 });
        expect(plain(await storage.readEntries(21, 41, 1 << 20))).toEqual(plain(entries(21, 40, 1, 60)));
        const compacted = await rangeError(20, 25);
        expect(compacted.compacted).toBe(true);
        expect(compacted.available).toEqual({ first: 21, last: 40 });
        storage = await harness.restart(storage);
        expect(plain(await storage.readEntries(25, 41, 1 << 20))).toEqual(plain(entries(25, 40, 1, 60)));
        expect((await rangeError(1, 2)).compacted).toBe(true);
        await storage.append(entries(41, 42, 1, 60));
        expect(plain(await storage.readEntries(40, 43, 1 << 20))).toEqual(plain(entries(40, 42, 1, 60)));
        // A snapshot of the whole log leaves nothing to read until the log continues.
        await takeSnapshot(storage, snapshotMeta(42, 1), [chunk(50, 2)]);
        const gone = await rangeError(42, 43);
        expect(gone.compacted).toBe(true);
        expect(gone.available).toBeNull();
        await storage.append(entries(43, 43, 1, 60));
        expect(plain(await storage.readEntries(43, 44, 1))).toEqual(plain(entries(43, 43, 1, 60)));
      });

      test('discardLog makes every earlier entry unavailable, conflicting ones after the snapshot too', async () => {
        await storage.load();
        await storage.append(entries(1, 20, 1));
        await takeSnapshot(storage, snapshotMeta(12, 3), [chunk(20, 1)], { compactUpTo: 12, discardLog: true });
        expect((await rangeError(13, 14)).available).toBeNull();
        await storage.append(entries(13, 14, 3));
        expect(plain(await storage.readEntries(13, 15, 1 << 20))).toEqual(plain(entries(13, 14, 3)));
        storage = await harness.restart(storage);
        expect(plain(await storage.readEntries(13, 15, 1 << 20))).toEqual(plain(entries(13, 14, 3)));
        expect((await rangeError(12, 14)).compacted).toBe(true);
      });

      test('a bad range is refused with a clear EntryRangeError', async () => {
        await storage.load();
        expect((await rangeError(1, 2)).message).toMatch(/past the end.*holds no entry/);
        await storage.append(entries(1, 5, 1));
        expect((await rangeError(0, 2)).message).toMatch(/not a non-empty range of positive integers/);
        expect((await rangeError(3, 3)).message).toMatch(/not a non-empty range/);
        expect((await rangeError(1.5, 3)).message).toMatch(/not a non-empty range/);
        expect((await rangeError(4, 7)).message).toMatch(/\[4, 7\).*past the end of the durable log.*holds 1\.\.5/);
        expect((await rangeError(1, 2, 0)).message).toMatch(/maxBytes must be a positive number/);
        const past = await rangeError(6, 7);
        expect([past.from, past.to, past.compacted, past.available]).toEqual([6, 7, false, { first: 1, last: 5 }]);
      });

      test('after a failure, reads reject with StorageFailedError', async () => {
        await storage.load();
        await storage.append(entries(1, 3, 1));
        harness.injectFailure(storage);
        await expect(storage.append(entries(4, 4, 1))).rejects.toBeInstanceOf(StorageFailedError);
        await expect(storage.readEntries(1, 2, 1 << 20)).rejects.toBeInstanceOf(StorageFailedError);
      });
    });

    describe('snapshots', () => {
      test('no snapshot at first: load() says null and readSnapshot() returns null', async () => {
        expect((await storage.load()).snapshot).toBeNull();
        expect(storage.readSnapshot()).toBeNull();
      });

      test('a committed snapshot reads back chunk by chunk, identical, also after a restart', async () => {
        await storage.load();
        await storage.append(entries(1, 12, 1));
        const written = [chunk(10, 1), chunk(0, 2), chunk(1, 3), chunk(300 * 1024 + 17, 4), chunk(4096, 5)];
        await takeSnapshot(storage, snapshotMeta(12, 1), written);
        const expected = { meta: snapshotMeta(12, 1), chunks: written.map(bytes) };
        expect(await readBack(storage)).toEqual(expected);
        expect(await readBack(storage)).toEqual(expected); // each call reads afresh
        expect((await storage.load()).snapshot).toEqual(snapshotMeta(12, 1));
        storage = await harness.restart(storage);
        expect((await storage.load()).snapshot).toEqual(snapshotMeta(12, 1));
        expect(await readBack(storage)).toEqual(expected);
      });

      test('a snapshot without chunks is a snapshot too', async () => {
        await storage.load();
        await storage.append(entries(1, 2, 1));
        await takeSnapshot(storage, snapshotMeta(2, 1), []);
        storage = await harness.restart(storage);
        expect(await readBack(storage)).toEqual({ meta: snapshotMeta(2, 1), chunks: [] });
      });

      test('a chunk may be reused once its write settles, a Buffer too: the snapshot keeps what it was', async () => {
        await storage.load();
        await storage.append(entries(1, 1, 1));
        const writer = storage.createSnapshot(snapshotMeta(1, 1));
        const buffer = chunk(64, 9);
        await writer.write(buffer);
        buffer.fill(0);
        const node = Buffer.from(chunk(64, 10)); // a Buffer's slice() is a view, not a copy
        await writer.write(node);
        node.fill(0);
        await writer.commit({ compactUpTo: 1, discardLog: false });
        expect((await readBack(storage))!.chunks).toEqual([bytes(chunk(64, 9)), bytes(chunk(64, 10))]);
      });

      test('a chunk read stays as it was while the next ones are read: a leader keeps the chunk it sent last, to send it again', async () => {
        await storage.load();
        await storage.append(entries(1, 3, 1));
        const written = [chunk(100, 1), chunk(100, 2), chunk(5000, 3), chunk(100, 4)];
        await takeSnapshot(storage, snapshotMeta(3, 1), written);
        const kept: Uint8Array[] = [];
        for await (const c of storage.readSnapshot()!.chunks) kept.push(c); // every chunk kept, as it came
        await readBack(storage); // and another read of the whole snapshot meanwhile
        expect(kept.map(bytes)).toEqual(written.map(bytes));
      });

      test('after a restart, load() sees the snapshot and only the entries after the compaction point', async () => {
        await storage.load();
        await storage.saveHardState({ term: 2, votedFor: 'n1' });
        await storage.append([...entries(1, 20, 1, 40), ...entries(21, 30, 2, 40)]);
        await takeSnapshot(storage, snapshotMeta(20, 1), [chunk(100, 1)]);
        expect(plain(entriesAfter(await storage.load(), 20))).toEqual(plain(entries(21, 30, 2, 40)));
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.hardState).toEqual({ term: 2, votedFor: 'n1' });
        expect(loaded.snapshot).toEqual(snapshotMeta(20, 1));
        expect(plain(entriesAfter(loaded, 20))).toEqual(plain(entries(21, 30, 2, 40)));
        // The log continues after the kept entries.
        await storage.append(entries(31, 32, 2, 40));
        storage = await harness.restart(storage);
        expect(plain(entriesAfter(await storage.load(), 20))).toEqual(plain([...entries(21, 30, 2, 40), ...entries(31, 32, 2, 40)]));
      });

      test('compaction keeps the tail after compactUpTo, and a snapshot of the whole log leaves it empty', async () => {
        await storage.load();
        await storage.append(entries(1, 30, 1, 40));
        await takeSnapshot(storage, snapshotMeta(25, 1), [chunk(50, 1)], { compactUpTo: 15 });
        expect(plain(entriesAfter(await storage.load(), 15))).toEqual(plain(entries(16, 30, 1, 40)));
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(25, 1));
        expect(plain(entriesAfter(loaded, 15))).toEqual(plain(entries(16, 30, 1, 40)));
        // A conflict inside the kept tail (after compactUpTo) still truncates it.
        await storage.append(entries(28, 29, 2, 40));
        storage = await harness.restart(storage);
        expect(plain(entriesAfter(await storage.load(), 15))).toEqual(plain([...entries(16, 27, 1, 40), ...entries(28, 29, 2, 40)]));
        // Compacting everything: the log is empty and continues at index + 1.
        await takeSnapshot(storage, snapshotMeta(29, 2), [chunk(50, 2)]);
        storage = await harness.restart(storage);
        expect(entriesAfter(await storage.load(), 29)).toEqual([]);
        await storage.append(entries(30, 31, 2, 40));
        storage = await harness.restart(storage);
        expect(plain(entriesAfter(await storage.load(), 29))).toEqual(plain(entries(30, 31, 2, 40)));
      });

      test('discardLog drops every entry, and the next append starts at the snapshot index + 1', async () => {
        await storage.load();
        await storage.append(entries(1, 10, 1));
        // A follower whose log is shorter than the leader's snapshot.
        await takeSnapshot(storage, snapshotMeta(15, 2), [chunk(20, 1)], { compactUpTo: 15, discardLog: true });
        let loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(15, 2));
        expect(entriesAfter(loaded, 15)).toEqual([]);
        await storage.append(entries(16, 18, 2));
        storage = await harness.restart(storage);
        loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(15, 2));
        expect(plain(entriesAfter(loaded, 15))).toEqual(plain(entries(16, 18, 2)));
      });

      test('discardLog also drops conflicting entries after the snapshot index', async () => {
        await storage.load();
        await storage.append(entries(1, 20, 1));
        // The follower's entry 12 has term 1, the snapshot's has term 3: its whole log goes.
        await takeSnapshot(storage, snapshotMeta(12, 3), [chunk(20, 1)], { compactUpTo: 12, discardLog: true });
        storage = await harness.restart(storage);
        let loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(12, 3));
        expect(entriesAfter(loaded, 12)).toEqual([]);
        await storage.append(entries(13, 14, 3));
        storage = await harness.restart(storage);
        loaded = await storage.load();
        expect(plain(entriesAfter(loaded, 12))).toEqual(plain(entries(13, 14, 3)));
      });

      test('an aborted snapshot leaves no trace, and a new one can be written after it', async () => {
        await storage.load();
        await storage.append(entries(1, 10, 1));
        await takeSnapshot(storage, snapshotMeta(5, 1), [chunk(30, 1)]);
        const writer = storage.createSnapshot(snapshotMeta(10, 1));
        await writer.write(chunk(1000, 2));
        await writer.write(chunk(1000, 3));
        await writer.abort();
        await writer.abort(); // idempotent
        await expect(writer.write(chunk(1, 4))).rejects.toThrow();
        await expect(writer.commit({ compactUpTo: 10, discardLog: false })).rejects.toThrow();
        const expected = { meta: snapshotMeta(5, 1), chunks: [bytes(chunk(30, 1))] };
        expect(await readBack(storage)).toEqual(expected);
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(5, 1));
        expect(plain(entriesAfter(loaded, 5))).toEqual(plain(entries(6, 10, 1)));
        expect(await readBack(storage)).toEqual(expected);
        await takeSnapshot(storage, snapshotMeta(8, 1), [chunk(30, 5)]);
        expect((await readBack(storage))!.meta).toEqual(snapshotMeta(8, 1));
      });

      test('only one writer at a time: createSnapshot throws while another is open', async () => {
        await storage.load();
        await storage.append(entries(1, 4, 1));
        const first = storage.createSnapshot(snapshotMeta(2, 1));
        expect(() => storage.createSnapshot(snapshotMeta(3, 1))).toThrow();
        await first.commit({ compactUpTo: 2, discardLog: false });
        const second = storage.createSnapshot(snapshotMeta(3, 1));
        await second.abort();
        await takeSnapshot(storage, snapshotMeta(4, 1), []);
      });

      test('commit rejects compactUpTo beyond the snapshot index', async () => {
        await storage.load();
        await storage.append(entries(1, 4, 1));
        const writer = storage.createSnapshot(snapshotMeta(2, 1));
        await expect(writer.commit({ compactUpTo: 3, discardLog: false })).rejects.toBeInstanceOf(RangeError);
        expect(storage.readSnapshot()).toBeNull();
        expect(plain((await storage.load()).entries)).toEqual(plain(entries(1, 4, 1)));
      });

      test('a newer snapshot replaces the older one', async () => {
        await storage.load();
        await storage.append(entries(1, 40, 1));
        await takeSnapshot(storage, snapshotMeta(10, 1), [chunk(100, 1), chunk(100, 2)]);
        await takeSnapshot(storage, snapshotMeta(30, 1), [chunk(70, 3)], { compactUpTo: 25 });
        const expected = { meta: snapshotMeta(30, 1), chunks: [bytes(chunk(70, 3))] };
        expect(await readBack(storage)).toEqual(expected);
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(30, 1));
        expect(plain(entriesAfter(loaded, 25))).toEqual(plain(entries(26, 40, 1)));
        expect(await readBack(storage)).toEqual(expected);
      });

      test('commit is ordered with appends: append, commit, append issued together resolve in order', async () => {
        await storage.load();
        const writer = storage.createSnapshot(snapshotMeta(5, 1));
        await writer.write(chunk(500, 1));
        const order: string[] = [];
        const calls = [
          storage.append(entries(1, 5, 1)).then(() => order.push('append 1..5')),
          writer.commit({ compactUpTo: 5, discardLog: false }).then(() => order.push('commit')),
          storage.append(entries(6, 8, 1)).then(() => order.push('append 6..8')),
          storage.saveHardState({ term: 1, votedFor: 'n2' }).then(() => order.push('hard state')),
          storage.append(entries(9, 9, 1)).then(() => order.push('append 9')),
        ];
        await Promise.all(calls);
        expect(order).toEqual(['append 1..5', 'commit', 'append 6..8', 'hard state', 'append 9']);
        const check = async () => {
          const loaded = await storage.load();
          expect(loaded.snapshot).toEqual(snapshotMeta(5, 1));
          expect(plain(entriesAfter(loaded, 5))).toEqual(plain(entries(6, 9, 1)));
          expect(loaded.hardState).toEqual({ term: 1, votedFor: 'n2' });
        };
        await check();
        storage = await harness.restart(storage);
        await check();
      });

      test('a discardLog commit issued between appends drops exactly the entries called before it', async () => {
        await storage.load();
        const writer = storage.createSnapshot(snapshotMeta(7, 2));
        await writer.write(chunk(10, 1));
        const order: number[] = [];
        await Promise.all([
          storage.append(entries(1, 9, 1)).then(() => order.push(1)),
          writer.commit({ compactUpTo: 7, discardLog: true }).then(() => order.push(2)),
          storage.append(entries(8, 9, 2)).then(() => order.push(3)),
        ]);
        expect(order).toEqual([1, 2, 3]);
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(7, 2));
        expect(plain(entriesAfter(loaded, 7))).toEqual(plain(entries(8, 9, 2)));
      });

      test('a failure while writing a snapshot is fail-stop; the old snapshot and log survive', async () => {
        await storage.load();
        await storage.append(entries(1, 6, 1));
        await takeSnapshot(storage, snapshotMeta(3, 1), [chunk(40, 1)]);
        const heal = harness.injectFailure(storage);
        const writer = storage.createSnapshot(snapshotMeta(6, 1));
        const attempt = (async () => {
          await writer.write(chunk(5000, 2));
          await writer.write(chunk(5000, 3));
          await writer.commit({ compactUpTo: 6, discardLog: false });
        })();
        await expect(attempt).rejects.toBeInstanceOf(StorageFailedError);
        await writer.abort().catch(() => undefined);
        heal();
        await expect(storage.append(entries(7, 7, 1))).rejects.toBeInstanceOf(StorageFailedError);
        await expect(storage.saveHardState({ term: 2, votedFor: null })).rejects.toBeInstanceOf(StorageFailedError);
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        expect(loaded.snapshot).toEqual(snapshotMeta(3, 1));
        expect(plain(entriesAfter(loaded, 3))).toEqual(plain(entries(4, 6, 1)));
        expect((await readBack(storage))!.chunks).toEqual([bytes(chunk(40, 1))]);
      });

      test('a failure at commit is fail-stop; a restart sees the old snapshot and log or the new ones, never a mix', async () => {
        await storage.load();
        await storage.append(entries(1, 6, 1));
        const writer = storage.createSnapshot(snapshotMeta(6, 1));
        await writer.write(chunk(100, 1));
        harness.injectFailure(storage);
        await expect(writer.commit({ compactUpTo: 4, discardLog: false })).rejects.toBeInstanceOf(StorageFailedError);
        await expect(storage.append(entries(7, 7, 1))).rejects.toBeInstanceOf(StorageFailedError);
        storage = await harness.restart(storage);
        const loaded = await storage.load();
        if (loaded.snapshot === null) {
          expect(plain(loaded.entries)).toEqual(plain(entries(1, 6, 1)));
        } else {
          expect(loaded.snapshot).toEqual(snapshotMeta(6, 1));
          expect(plain(entriesAfter(loaded, 4))).toEqual(plain(entries(5, 6, 1)));
          expect((await readBack(storage))!.chunks).toEqual([bytes(chunk(100, 1))]);
        }
      });
    });
  });
}
