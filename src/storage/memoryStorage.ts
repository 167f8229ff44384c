import { entrySize } from '../messages/blockEntry';
import { SchedulerLike } from 'rxjs';
import { StorageFailedError } from '../errors';
import type { Entry } from '../messages/entry';
import { HardState, SnapshotMeta } from '../messages/persisted';
import { checkEntryRange } from './entryRange';
import { INITIAL_HARD_STATE, PersistedState, SnapshotWriter, Storage, StorageDamage } from './storage';

/**
 * Options of `new MemoryStorage`.
 *
 * @example
 * const storage = new MemoryStorage({ scheduler, syncDelay: 2 }); // every write durable 2 ms (virtual) later
 */
export interface MemoryStorageOptions {
  /** Completes writes on this scheduler after `syncDelay`; without it, on the next microtask. */
  readonly scheduler?: SchedulerLike;
  /** Simulated fsync latency in the scheduler's time unit (default 0). */
  readonly syncDelay?: number;
}

type Write =
  | { readonly kind: 'hardState'; readonly state: HardState }
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'clearDamage' }
  | {
      readonly kind: 'snapshot';
      readonly snapshot: StoredSnapshot;
      readonly compactUpTo: number;
      readonly discardLog: boolean;
    };

interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly chunks: readonly Uint8Array[];
}

interface PendingWrite {
  readonly write: Write;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * In-memory `Storage` that keeps durable and not-yet-durable writes apart, so a
 * simulated crash (`crash()`) loses exactly what was not synced. Writes issued before a
 * sync completes are synced together (group commit), like `FileStorage`.
 *
 * @example
 * const storage = new MemoryStorage({ scheduler, syncDelay: 1 });
 * const node = createRaftNode({ id: 'n1', peers, transport, storage, scheduler });
 * // ... later, simulate power loss: unsynced writes vanish
 * storage.crash();
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = INITIAL_HARD_STATE;
  /** The durable log. Invariant: entries[i].index === entries[0].index + i. */
  private entries: Entry[] = [];
  private snapshot: StoredSnapshot | null = null;
  private writerOpen = false;
  private pending: PendingWrite[] = [];
  private syncScheduled = false;
  private failure: Error | null = null;
  /** Bumped by `crash()`: a sync scheduled before the crash must not make anything durable. */
  private generation = 0;
  /** Damage a test or the simulator inflicted (`damageTail`), reported by `load()` until cleared. */
  private damage: StorageDamage | null = null;
  /** Set by `stallWrites()`: writes wait, none completes, until `resumeWrites()`. */
  private stalled = false;

  constructor(private readonly options: MemoryStorageOptions = {}) {}

  /** Durable writes so far (for tests and the simulator). */
  syncs = 0;
  /**
   * Calls of `readEntries` so far, the entries they returned, the snapshot chunks read
   * through `readSnapshot`, and the snapshot reads open now (pulled, neither finished nor
   * closed: a file storage holds a file handle for each) — for tests and the simulator.
   */
  readonly reads = { calls: 0, entries: 0, snapshotChunks: 0, openSnapshotReads: 0 };

  async load(): Promise<PersistedState> {
    return { hardState: this.hardState, snapshot: this.snapshot?.meta ?? null, entries: this.entries.slice(), damage: this.damage };
  }

  /** Forgets the damage `load()` reports (see `StorageDamage`) once durable, ordered with the writes. */
  clearDamage(): Promise<void> {
    return this.enqueue({ kind: 'clearDamage' });
  }

  /**
   * Simulates a disk that lost the last `count` durable log entries, acknowledged ones
   * included: they are gone, and `load()` reports them as `truncatedTail` (as FileStorage
   * does for a damaged last record) until `clearDamage()`. For the simulator's storage
   * faults and for tests; call it while the node is down (after `crash()`).
   *
   * @example
   * storage.crash();
   * storage.damageTail(2); // the next run of the node finds its last two entries gone
   */
  damageTail(count: number): void {
    // Only entries after the snapshot can be lost this way: the snapshot holds the rest.
    const covered = this.entries.filter((e) => e.index <= (this.snapshot?.meta.index ?? 0)).length;
    const kept = Math.max(covered, this.entries.length - count);
    if (kept === this.entries.length) return;
    const from = this.entries[kept].index;
    this.entries = this.entries.slice(0, kept);
    const earlier = this.damage?.truncatedTail;
    this.damage = { hardStateMissing: false, truncatedTail: { from: Math.min(from, earlier?.from ?? from), reason: 'simulated damage to the last records' } };
  }

  /**
   * Simulates a lost hard state file beside the kept log: the next `load()` finds term 0
   * and no vote, and reports `hardStateMissing` (as FileStorage does) until
   * `clearDamage()`. For the simulator's storage faults and for tests; call it while the
   * node is down (after `crash()`).
   *
   * @example
   * storage.crash();
   * storage.loseHardState(); // the next run of the node recovers its term from the cluster
   */
  loseHardState(): void {
    this.hardState = INITIAL_HARD_STATE;
    this.damage = { hardStateMissing: true, truncatedTail: this.damage?.truncatedTail ?? null };
  }

  /**
   * Simulates a disk that hangs (a stuck fsync, an unresponsive network volume): from now
   * on no write completes — appends, hard state, snapshot commits, `clearDamage` — and
   * none fails; they wait, in order, until `resumeWrites()`. Reads of what is durable go
   * on. A `crash()` meanwhile loses the waiting writes, as it loses any unsynced write;
   * the disk stays hung across it until resumed. For the simulator's disk-stall faults
   * and for tests.
   *
   * @example
   * storage.stallWrites();   // the node's appends and votes hang; its network still works
   * storage.resumeWrites();  // what waited is synced now, in order: nothing is lost
   */
  stallWrites(): void {
    this.stalled = true;
  }

  /** Ends a `stallWrites()`: the writes that waited are synced now (after the sync delay), in order. */
  resumeWrites(): void {
    if (!this.stalled) return;
    this.stalled = false;
    if (this.pending.length > 0) this.scheduleSync();
  }

  /** Whether writes are stalled (`stallWrites`). */
  get writesStalled(): boolean {
    return this.stalled;
  }

  /** Whether `load()` would report damage now. */
  get damaged(): boolean {
    return this.damage !== null;
  }

  /** The first log index `damageTail` may have taken, while the damage is not cleared; else null. */
  get damagedFrom(): number | null {
    return this.damage?.truncatedTail?.from ?? null;
  }

  createSnapshot(meta: SnapshotMeta): SnapshotWriter {
    if (this.writerOpen) throw new Error('a snapshot is already being written');
    this.writerOpen = true;
    const staged: Uint8Array[] = [];
    const generation = this.generation;
    let open = true;
    const close = () => {
      if (open) this.writerOpen = false;
      open = false;
    };
    return {
      write: async (chunk) => {
        if (!open || generation !== this.generation) throw new StorageFailedError('snapshot writer is closed');
        if (this.failure) throw new StorageFailedError(`snapshot write failed: ${this.failure.message}`, this.failure);
        staged.push(new Uint8Array(chunk)); // a copy: a Buffer's slice() is a view
      },
      commit: ({ compactUpTo, discardLog }) => {
        if (!open || generation !== this.generation) return Promise.reject(new StorageFailedError('snapshot writer is closed'));
        close();
        if (compactUpTo > meta.index) return Promise.reject(new RangeError('compactUpTo is beyond the snapshot'));
        return this.enqueue({ kind: 'snapshot', snapshot: { meta, chunks: staged }, compactUpTo, discardLog });
      },
      abort: async () => close(),
    };
  }

  readSnapshot(): { meta: SnapshotMeta; chunks: AsyncIterable<Uint8Array> } | null {
    const snapshot = this.snapshot;
    if (!snapshot) return null;
    const reads = this.reads;
    return {
      meta: snapshot.meta,
      chunks: (async function* () {
        reads.openSnapshotReads++;
        try {
          for (const chunk of snapshot.chunks) {
            reads.snapshotChunks++;
            yield chunk;
          }
        } finally {
          reads.openSnapshotReads--;
        }
      })(),
    };
  }

  saveHardState(state: HardState): Promise<void> {
    return this.enqueue({ kind: 'hardState', state });
  }

  append(entries: readonly Entry[]): Promise<void> {
    return this.enqueue({ kind: 'append', entries });
  }

  /**
   * The durable entries `[from, to)` up to `maxBytes` of payload, at least one (see
   * `Storage.readEntries`): writes not yet synced are not served, so a crash never
   * un-serves what was read. Resolves on the next microtask.
   */
  async readEntries(from: number, to: number, maxBytes: number): Promise<Entry[]> {
    if (this.failure) throw new StorageFailedError(`storage failed: ${this.failure.message}`, this.failure);
    const entries = this.entries;
    // What survives compaction is exactly the durable entries (a kept tail included).
    const compactedThrough = entries.length > 0 ? entries[0].index - 1 : (this.snapshot?.meta.index ?? 0);
    const available = entries.length > 0 ? { first: entries[0].index, last: entries[entries.length - 1].index } : null;
    this.reads.calls++;
    checkEntryRange(from, to, maxBytes, available, compactedThrough);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = from; index < to; index++) {
      const entry = entries[index - entries[0].index];
      if (out.length > 0 && bytes + entrySize(entry) > maxBytes) break;
      out.push(entry);
      bytes += entrySize(entry);
    }
    this.reads.entries += out.length;
    return out;
  }

  async close(): Promise<void> {
    // Nothing to release; pending writes still complete.
  }

  /**
   * Makes `state` durable at once, as if written and synced by an earlier run: for tests
   * that start a node from a given log and hard state (the paper's figures). Only before
   * anything else was written; the entries must be contiguous from index 1.
   *
   * @example
   * const storage = new MemoryStorage();
   * storage.seed({ hardState: { term: 8, votedFor: null }, entries });
   */
  seed(state: { readonly hardState?: HardState; readonly entries?: readonly Entry[] }): void {
    if (this.syncs > 0 || this.pending.length > 0 || this.entries.length > 0 || this.snapshot) {
      throw new Error('MemoryStorage.seed: only a storage nothing was written to can be seeded');
    }
    const entries = state.entries ?? [];
    entries.forEach((e, i) => {
      if (e.index !== i + 1) throw new RangeError(`MemoryStorage.seed: entry ${i} has index ${e.index}, expected ${i + 1}`);
    });
    if (state.hardState) this.hardState = state.hardState;
    this.entries = entries.slice();
  }

  /** Simulates power loss: every write not yet synced is lost and its promise never settles. */
  crash(): void {
    this.pending = [];
    this.syncScheduled = false;
    this.writerOpen = false;
    this.generation++;
  }

  /** The durable snapshot's description, as a restart would see it. */
  durableSnapshot(): SnapshotMeta | null {
    return this.snapshot?.meta ?? null;
  }

  /** Makes the next sync, and everything after it, fail (for fail-stop tests). */
  failWith(error: Error): void {
    this.failure = error;
  }

  /** The durable log, as a restart would see it. */
  durableEntries(): readonly Entry[] {
    return this.entries;
  }

  /** The durable hard state, as a restart would see it. */
  durableHardState(): HardState {
    return this.hardState;
  }

  private enqueue(write: Write): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ write, resolve, reject });
      this.scheduleSync();
    });
  }

  private scheduleSync(): void {
    if (this.syncScheduled || this.stalled) return;
    this.syncScheduled = true;
    const generation = this.generation;
    const sync = () => {
      if (generation === this.generation) this.sync();
    };
    const { scheduler, syncDelay = 0 } = this.options;
    if (scheduler) scheduler.schedule(sync, syncDelay);
    else queueMicrotask(sync);
  }

  private sync(): void {
    this.syncScheduled = false;
    if (this.stalled) return; // the writes wait for resumeWrites()
    const batch = this.pending;
    this.pending = [];
    if (this.failure) {
      const error = new StorageFailedError(`sync failed: ${this.failure.message}`, this.failure);
      for (const p of batch) p.reject(error);
      return;
    }
    for (const { write } of batch) this.applyWrite(write);
    this.syncs++;
    for (const p of batch) p.resolve();
  }

  private applyWrite(write: Write): void {
    if (write.kind === 'clearDamage') {
      this.damage = null;
      return;
    }
    if (write.kind === 'hardState') {
      this.hardState = write.state;
      return;
    }
    if (write.kind === 'snapshot') {
      this.snapshot = write.snapshot;
      const upTo = write.discardLog ? Infinity : write.compactUpTo;
      this.entries = this.entries.filter((e) => e.index > upTo);
      return;
    }
    const first = write.entries[0];
    if (!first) return;
    const base = this.entries[0]?.index ?? (this.snapshot ? this.snapshot.meta.index + 1 : 1);
    const lastIndex = Math.max(base - 1 + this.entries.length, this.snapshot?.meta.index ?? 0);
    if (first.index > lastIndex + 1) throw new Error(`append at ${first.index} leaves a gap after ${lastIndex}`);
    if (this.entries.length > 0 && first.index < base) throw new Error(`append at ${first.index} is before the log's start ${base}`);
    if (this.entries.length === 0 && first.index < base) throw new Error(`append at ${first.index} is behind the snapshot at ${base - 1}`);
    if (first.index > base + this.entries.length) {
      // The kept tail ends before the snapshot: the log continues after the snapshot (as FileStorage's does).
      if (first.index !== (this.snapshot?.meta.index ?? 0) + 1) throw new Error(`append at ${first.index} leaves a gap after ${base + this.entries.length - 1}`);
      this.entries = [];
    } else {
      this.entries.length = first.index - base; // drops the entries the append replaces
    }
    for (const e of write.entries) this.entries.push(e);
  }
}
