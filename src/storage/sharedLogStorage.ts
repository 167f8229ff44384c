import * as path from 'path';
import { InvalidOptionsError, RaftError, StorageFailedError } from '../errors';
import type { Entry } from '../messages/entry';
import type { EntryRun } from '../messages/entryRun';
import { entriesBlock } from '../messages/entryBlocks';
import { groupIdProblem } from '../messages/groupId';
import type { HardState, SnapshotMeta } from '../messages/persisted';
import { NonContiguousAppendError } from './fileErrors';
import { checkContiguous, checkStart } from './fileStorage';
import { checkEntryRange } from './entryRange';
import { DurableSnapshot, SnapshotFiles } from './fileSnapshots';
import { syncDirectory } from './fileSystem';
import type { SharedLog } from './sharedLog';
import type { GroupLog } from './sharedLogGroups';
import { damageBody, GroupRecordKind, hardStateBody } from './sharedLogRecords';
import { snapshotDir, SnapshotsAtOpen } from './sharedLogRecovery';
import type { PersistedState, SnapshotWriter, Storage, StorageDamage } from './storage';
import { OpenWriter, SnapshotSlot, viewAfterSnapshot } from './snapshotSlot';

/**
 * One Raft group's `Storage` on its host's `SharedLog`: what a group's node is given when
 * the host shares one write-ahead log among its groups. It meets the `Storage` contract
 * like `FileStorage` (call order, durable before resolve, conflict truncation, fail-stop,
 * atomic snapshot commits), with these differences:
 *
 * - Appends, hard-state saves and damage clears become group-tagged records of the shared
 *   log, written with every other group's records of the same turn: one write and one
 *   fdatasync for all of them.
 * - Snapshots live in `<dataDir>/groups/<id>/snapshots` (`fileSnapshots.ts`); committing
 *   one is the group's compaction: its records at or below the compaction point die, and
 *   with `discardLog` the shared log starts a fresh segment so that every record of the
 *   group before it dies (the snapshot's `firstLiveSegment`). While a commit waits for
 *   its chunks to be durable, this group's later calls wait behind it; other groups'
 *   calls do not.
 * - A failure of the shared log stops every group (fail-stop for the host); a failure of
 *   this group's snapshot files stops this group only.
 * - Damage: a torn tail of the shared log whose cut record was complete is reported by
 *   every group (see `recoverSharedLog`).
 *
 * @example
 * const log = await SharedLog.open('/var/lib/shards');
 * const storage = await SharedLogStorage.open(log, 'orders-1');
 * const { hardState, entries } = await storage.load();
 * await storage.append([{ index: entries.length + 1, term: hardState.term, kind: EntryKind.Noop, data: EMPTY_DATA }]);
 * await storage.close();
 */
export class SharedLogStorage implements Storage {
  private failure: StorageFailedError | null = null;
  private closed: Promise<void> | null = null;
  /** As of every call made so far: the log's last index, or the compaction point if higher. */
  private lastIndex: number;
  /** As of every call made so far: entries at or below this are compacted away. */
  private compactedThrough: number;
  /** The group's current snapshot and its open writer. */
  private readonly slot: SnapshotSlot;
  private recovered: Entry[] | null;
  private damage: StorageDamage | null;
  /**
   * While a snapshot commit waits for its chunks to be durable (outside the shared log's
   * queue, so that one group's large snapshot never stalls every group's writes), this
   * group's later calls wait behind it, in call order. Null when open.
   */
  private gate: Promise<void> | null = null;

  private constructor(
    private readonly log: SharedLog,
    /** The group's id. */
    readonly group: string,
    private readonly state: GroupLog,
    snapshots: SnapshotFiles,
    snapshot: DurableSnapshot | null,
    entries: Entry[],
  ) {
    this.slot = new SnapshotSlot(snapshots, snapshot);
    this.compactedThrough = snapshot?.compaction.compactedThrough ?? 0;
    this.lastIndex = entries.length > 0 ? entries[entries.length - 1].index : this.compactedThrough;
    this.recovered = entries;
    this.damage = state.damage;
  }

  /**
   * Opens `group`'s view of `log`. Throws `InvalidOptionsError` for a bad group id and
   * `StorageFailedError` when the group is already open or its files cannot be opened.
   *
   * @example
   * const storage = await SharedLogStorage.open(log, 'g1');
   */
  static async open(log: SharedLog, group: string): Promise<SharedLogStorage> {
    const problem = groupIdProblem(group);
    if (problem !== null) throw new InvalidOptionsError('group', problem);
    const state = log.group(group);
    if (state.open) throw new StorageFailedError(`group ${group} is already open on this shared log`);
    state.open = true;
    try {
      const { files, current } = log.takeSnapshots(group) ?? (await openSnapshotDir(log, group));
      if (current) state.compact(current.compaction);
      let entries = state.entries;
      state.entries = null;
      if (entries === null) {
        let read: Entry[] = [];
        await log.task(async () => void (read = await log.readLive(state)));
        entries = read;
      }
      return new SharedLogStorage(log, group, state, files, current, entries);
    } catch (e) {
      state.open = false;
      if (e instanceof RaftError) throw e;
      throw new StorageFailedError(`cannot open group ${group} on the shared log: ${errorMessage(e)}`, e);
    }
  }

  /** The durable state; right after `open` what recovery read, later read back from the log. */
  async load(): Promise<PersistedState> {
    const recovered = this.recovered;
    this.recovered = null;
    const snapshot = () => this.slot.current?.meta ?? null;
    if (recovered && !this.failure && !this.closed) {
      return { hardState: this.state.hardState, snapshot: snapshot(), entries: recovered, damage: this.damage };
    }
    const read: { entries?: Entry[]; error?: unknown } = {};
    await this.run(() =>
      this.log.task(async () => {
        try {
          read.entries = await this.log.readLive(this.state);
        } catch (e) {
          read.error = e; // a read error fails this call only
        }
      }),
    );
    if (read.entries) return { hardState: this.state.hardState, snapshot: snapshot(), entries: read.entries, damage: this.damage };
    if (read.error instanceof RaftError) throw read.error;
    throw new StorageFailedError(`cannot read group ${this.group} back: ${errorMessage(read.error)}`, read.error);
  }

  saveHardState(state: HardState): Promise<void> {
    const saved = { term: state.term, votedFor: state.votedFor };
    return this.run(() => this.log.write({ kind: GroupRecordKind.HardState, group: this.group, body: hardStateBody(saved) }, (segment) => this.state.savedHardState(saved, segment)));
  }

  /** See `Storage.appendRun`: the run's block is written as it came. */
  appendRun(run: EntryRun): Promise<void> {
    if (this.failure || this.closed || run.length === 0) return this.run(() => this.log.barrier());
    const problem = checkStart(run.firstIndex, this.lastIndex, this.compactedThrough);
    if (problem) {
      const error = new NonContiguousAppendError(this.lastIndex, run.firstIndex, problem);
      return this.run(() => this.log.barrier()).then(() => Promise.reject(error));
    }
    return this.writeBlock(run.block, run.firstIndex, run.lastIndex);
  }

  append(entries: readonly Entry[]): Promise<void> {
    if (this.failure || this.closed || entries.length === 0) return this.run(() => this.log.barrier());
    const problem = checkContiguous(entries, this.lastIndex, this.compactedThrough);
    if (problem) {
      const error = new NonContiguousAppendError(this.lastIndex, entries[0].index, problem);
      return this.run(() => this.log.barrier()).then(() => Promise.reject(error));
    }
    return this.writeBlock(entriesBlock(entries), entries[0].index, entries[entries.length - 1].index);
  }

  /** Writes the block of entries `first..last`, which follow the log (checked by the caller). */
  private writeBlock(block: Buffer, first: number, last: number): Promise<void> {
    this.lastIndex = last;
    this.recovered = null;
    return this.run(() => this.log.write({ kind: GroupRecordKind.Entries, group: this.group, body: block }, (segment, offset) => this.state.appended(segment, first, last, block.length, offset)));
  }

  /**
   * The durable entries `[from, to)` (see `Storage.readEntries`), read from the shared
   * log's records that hold them (one pread each, as `FileStorage` does); not queued
   * behind writes. Rejects with `EntryRangeError` for a range outside the durable log,
   * `StorageFailedError` after a failure.
   */
  readEntries(from: number, to: number, maxBytes: number): Promise<Entry[]> {
    const stopped = this.failure ?? this.log.failed;
    if (stopped) return Promise.reject(stopped);
    if (this.closed) return Promise.reject(new StorageFailedError(`group ${this.group}'s storage is closed`));
    const compacted = this.state.compaction.compactedThrough;
    const last = this.state.lastIndex;
    const available = last > compacted ? { first: compacted + 1, last } : null;
    try {
      checkEntryRange(from, to, maxBytes, available, compacted);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.log.readRange(this.state, { from, to, maxBytes, available });
  }

  /** Forgets the damage `load()` reports, durably (a Damage record saying none), in order with the other writes. */
  clearDamage(): Promise<void> {
    return this.run(() =>
      this.log.write({ kind: GroupRecordKind.Damage, group: this.group, body: damageBody(null) }, (segment) => {
        this.state.savedDamage(null, segment);
        this.damage = null;
      }),
    );
  }

  /** Starts writing a snapshot (see `FileStorage.createSnapshot`). */
  createSnapshot(meta: SnapshotMeta): SnapshotWriter {
    return this.slot.create(meta, {
      write: (writer, chunk) => {
        const stopped = this.failure ?? this.log.failed ?? (this.closed ? new StorageFailedError(`group ${this.group}'s storage is closed`) : null);
        return this.slot.writeChunk(writer, chunk, stopped, (what, e) => this.fail(what, e));
      },
      commit: (writer, compactUpTo, discardLog) => this.commitSnapshot(writer, compactUpTo, discardLog),
    });
  }

  readSnapshot(): { readonly meta: SnapshotMeta; readonly chunks: AsyncIterable<Uint8Array> } | null {
    return this.slot.read();
  }

  /** Lets calls already made complete, aborts an open snapshot writer, ends snapshot reads; the shared log stays open. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      while (this.gate) await this.gate;
      await this.log.barrier().catch(() => undefined);
      this.recovered = null;
      try {
        await this.slot.shut();
      } finally {
        this.state.open = false;
      }
    })();
    return this.closed;
  }

  /** Runs a log call unless this view stopped; a storage failure stops this view too. */
  private run(call: () => Promise<void>): Promise<void> {
    const stopped = this.failure ?? this.log.failed;
    if (stopped) return Promise.reject(stopped);
    if (this.closed) return Promise.reject(new StorageFailedError(`group ${this.group}'s storage is closed`));
    return this.inOrder(call).catch((e: unknown) => {
      throw this.fail(`group ${this.group}'s storage failed`, e);
    });
  }

  /** Makes the log call now, or once the gate opens, after the calls gated before it; returns its outcome. */
  private inOrder(call: () => Promise<void>): Promise<void> {
    const gate = this.gate;
    if (!gate) return call();
    let outcome: Promise<void> = Promise.resolve();
    const entered = gate.then(() => {
      const stopped = this.failure ?? this.log.failed;
      outcome = stopped ? Promise.reject(stopped) : call();
    });
    this.setGate(entered);
    return entered.then(() => outcome);
  }

  /** Holds this group's later log calls until `until` settles; other groups' calls go on. */
  private hold(until: Promise<unknown>): void {
    const previous = this.gate ?? Promise.resolve();
    this.setGate(previous.then(() => until).then(
      () => undefined,
      () => undefined,
    ));
  }

  private setGate(gate: Promise<void>): void {
    this.gate = gate;
    void gate.then(() => {
      if (this.gate === gate) this.gate = null;
    });
  }

  private fail(what: string, cause: unknown): StorageFailedError {
    this.failure ??= cause instanceof StorageFailedError ? cause : new StorageFailedError(`${what}, storage stopped: ${errorMessage(cause)}`, cause);
    return this.failure;
  }

  private commitSnapshot(writer: OpenWriter, compactUpTo: number, discardLog: boolean): Promise<void> {
    const refused = this.slot.takeForCommit(writer, compactUpTo);
    if (refused) return Promise.reject(refused);
    const { meta, staged } = writer;
    if (this.failure || this.log.failed || this.closed) {
      staged.discard().catch(() => undefined);
      return this.run(() => this.log.barrier());
    }
    ({ compactedThrough: this.compactedThrough, lastIndex: this.lastIndex } = viewAfterSnapshot({ compactedThrough: this.compactedThrough, lastIndex: this.lastIndex }, meta.index, compactUpTo, discardLog));
    const compactedThrough = this.compactedThrough;
    this.recovered = null;
    // The chunks' fdatasync starts now; the commit (and this group's later calls) enter the
    // shared log's queue once it is done, so it never holds up the other groups.
    const synced = staged.sync();
    synced.catch(() => undefined);
    this.hold(synced);
    return this.run(() => this.log.task(() => this.installSnapshot(writer, synced, compactedThrough, discardLog)));
  }

  /** Within the log's order: makes the staged snapshot current, then compacts the group's records. */
  private async installSnapshot(writer: OpenWriter, synced: Promise<void>, compactedThrough: number, discardLog: boolean): Promise<void> {
    const { compaction, previous } = await this.slot.install(writer, synced, compactedThrough, discardLog ? () => this.log.startFreshSegment() : null);
    this.state.compact(compaction);
    this.log.noteMayFree();
    if (previous) await this.slot.files.remove(previous);
  }
}

/** Creates (durably) and opens the snapshot directory of a group new to this host. */
async function openSnapshotDir(log: SharedLog, group: string): Promise<SnapshotsAtOpen> {
  const dir = snapshotDir(log.dataDir, group);
  const created = await log.fs.mkdir(dir, { recursive: true });
  if (created !== undefined) {
    await syncDirectory(log.fs, path.dirname(dir));
    await syncDirectory(log.fs, path.dirname(path.dirname(dir)));
    await syncDirectory(log.fs, log.dataDir);
  }
  return SnapshotFiles.open(log.fs, dir);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
