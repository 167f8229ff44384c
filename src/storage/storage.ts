import type { Entry } from '../messages/entry';
import type { EntryRun } from '../messages/entryRun';
import type { HardState, SnapshotMeta } from '../messages/persisted';

/**
 * Damage found when the storage was opened that may have cost this node state it had
 * acknowledged to others (issue 18, findings 1 and 6). Raft assumes a disk keeps what it
 * acknowledged; a node whose storage reports damage must not act as if it did:
 *
 * - `hardStateMissing`: the hard state was gone although the log or a snapshot existed
 *   (e.g. the file was deleted). The node's term and vote are unknown: the loaded
 *   `hardState` has the highest term found in the log or snapshot (a lower bound) and no
 *   vote, so the node may already have voted in that term or later ones. Voting again
 *   could elect two leaders in one term.
 * - `truncatedTail`: recovery cut records at the end of the log that were there to
 *   their full length but failed their checksum. A write torn by a crash was never
 *   acknowledged, but damage to an acknowledged record looks the same: entries from
 *   `from` on may have been acknowledged (counted in a commit, or in a leader's
 *   matchIndex) and are gone. A record cut short (its write never completed) is not
 *   reported: it cannot have been acknowledged.
 *
 * What the runtime is expected to do (not the storage's part): rejoin without voting
 * and without counting toward commit until the cluster has repaired the node (its log
 * refilled by a leader, its term caught up), then call `Storage.clearDamage()`. The
 * damage is reported by every `load()` until then, across restarts: a crash before the
 * repair does not hide it.
 *
 * @example
 * const { damage } = await storage.load();
 * if (damage?.hardStateMissing || damage?.truncatedTail) startAsNonVoter();
 * // ... once repaired by the leader:
 * await storage.clearDamage?.();
 */
export interface StorageDamage {
  readonly hardStateMissing: boolean;
  /** `from`: the first log index that may have been lost; `reason`: what was wrong with the cut record. */
  readonly truncatedTail: { readonly from: number; readonly reason: string } | null;
}

/**
 * What `Storage.load()` returns: the durable state at open.
 *
 * @example
 * const { hardState, snapshot, entries } = await storage.load(); // a new storage: { term: 0, votedFor: null }, null, []
 */
export interface PersistedState {
  readonly hardState: HardState;
  /** The latest durable snapshot, if any. */
  readonly snapshot: SnapshotMeta | null;
  /**
   * The log that survives compaction, contiguous. Without a snapshot it starts at index 1;
   * with one it starts at or before `snapshot.index + 1` (a kept tail may overlap the
   * snapshot) or is empty.
   */
  readonly entries: readonly Entry[];
  /**
   * Damage found at open and not yet cleared (see `StorageDamage`); absent or null when
   * there is none. Storage that cannot be damaged (in memory) never reports any.
   */
  readonly damage?: StorageDamage | null;
}

/**
 * A snapshot being written: chunks go to a staging area that a crash discards; `commit`
 * makes it the current snapshot, durably and atomically, in order with the log writes
 * issued before it (it is ordered like an `append`).
 *
 * @example
 * const writer = storage.createSnapshot({ index: 100, term: 3, config });
 * for await (const chunk of chunks) await writer.write(chunk);
 * await writer.commit({ compactUpTo: 90, discardLog: false }); // the log kept from entry 91 on
 */
export interface SnapshotWriter {
  /**
   * Stages the next chunk. The caller leaves `chunk` unchanged until the promise settles
   * (an implementation may write it as it is, uncopied); after that it may reuse it.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the snapshot current, then compacts the log: entries up to `compactUpTo`
   * (at most the snapshot's index) are dropped; with `discardLog` every entry is
   * dropped (a follower whose log does not contain the snapshot's last entry). The next
   * `append` may then start at `snapshot.index + 1`.
   */
  commit(options: { readonly compactUpTo: number; readonly discardLog: boolean }): Promise<void>;
  /** Discards the staged chunks. */
  abort(): Promise<void>;
}

/**
 * Durable storage of one node's hard state and log.
 *
 * The contract every implementation meets (and `test/storage/conformance.ts` checks):
 * - Operations take effect in call order, and their promises resolve in call order.
 * - A promise resolves only once its data is durable (after fsync for files).
 * - `append(entries)`: entries are contiguous and `entries[0].index` is at most the
 *   last index + 1; existing entries at or after `entries[0].index` are discarded first
 *   (conflict truncation), atomically with the append as far as a reader after a crash
 *   can tell: a crash leaves either the old suffix or a prefix of the new one.
 * - After a failure, that operation and every later one reject (fail-stop).
 * - Snapshots (log compaction): a snapshot is written through `createSnapshot`, whose
 *   `commit` is atomic and ordered with the other writes; after a crash `load()` sees
 *   either the old snapshot and log or the new snapshot and the compacted log.
 *
 * @example
 * const storage = new MemoryStorage();
 * await storage.saveHardState({ term: 1, votedFor: 'n1' });
 * await storage.append([{ index: 1, term: 1, kind: EntryKind.Command, data }]);
 * (await storage.load()).entries.length; // 1
 */
export interface Storage {
  load(): Promise<PersistedState>;
  saveHardState(state: HardState): Promise<void>;
  append(entries: readonly Entry[]): Promise<void>;
  /**
   * `append(run.entries())` without making an object per entry: a follower's entries as
   * they arrived over the wire (`EntryRun`, checked: contiguous from `run.firstIndex`),
   * whose block (`run.block`, the `encodeEntries` layout) a log of blocks writes as it is.
   * Optional: without it, the runtime calls `append` with the entries made.
   */
  appendRun?(run: EntryRun): Promise<void>;
  /**
   * The durable entries `[from, to)` in order, read back from storage: as many as fit in
   * `maxBytes` of payload (`data` bytes), and always at least the first. Only entries
   * durable when it is called are served (a write still in flight, or lost in a crash,
   * never is), as of that moment: a later truncation or compaction does not mix into
   * the result. Rejects with `EntryRangeError` when the range is not wholly inside the
   * durable log after its compaction point (`compacted` when its start was compacted
   * away, also when that happens while reading), or is not a range of positive
   * integers; with `StorageFailedError` after a failure. Reads do not delay writes.
   *
   * @example
   * // A leader serves a lagging follower from the log instead of from memory:
   * const entries = await storage.readEntries(next, last + 1, 1 << 20);
   */
  readEntries(from: number, to: number, maxBytes: number): Promise<Entry[]>;
  /** Starts writing a snapshot (at most one writer at a time). */
  createSnapshot(meta: SnapshotMeta): SnapshotWriter;
  /**
   * The current durable snapshot's chunks, read lazily (pull-based: a slow consumer
   * slows the reads), or null when there is none. Each call starts a fresh read. Each
   * chunk is its own buffer, never changed afterwards: a leader keeps the chunk it sent
   * last, to send it again, while it reads the next ones.
   */
  readSnapshot(): { readonly meta: SnapshotMeta; readonly chunks: AsyncIterable<Uint8Array> } | null;
  /**
   * Forgets the damage `load()` reported (see `StorageDamage`), durably and in order with
   * the other writes: call it once the node has been repaired from the cluster.
   * Optional: storage that cannot be damaged need not have it.
   */
  clearDamage?(): Promise<void>;
  close(): Promise<void>;
}

export const INITIAL_HARD_STATE: HardState = { term: 0, votedFor: null };
