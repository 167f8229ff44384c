import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import { compactionPoint, configAt } from '../core/snapshots';
import type { RaftState } from '../core/state';
import { StorageFailedError } from '../errors';
import type { NodeId } from '../messages/types';
import type { SnapshotMeta, SnapshotWriter, Storage } from '../storage/storage';
import type { SessionTable } from './sessions';
import { snapshotChunks, splitSnapshot } from './snapshotStream';

/**
 * The application's side of snapshots. `snapshot` must return the state as of entry
 * `at.index` — rxraft calls it right after emitting that entry on `committed$`, so a
 * state machine that applies synchronously can simply serialize itself; one that
 * applies asynchronously must wait until it has applied `at.index`. Both directions
 * stream: the state never has to be in memory whole.
 *
 * @example
 * const stateMachine: StateMachine = {
 *   *snapshot() { for (const [k, v] of kv) yield encodePair(k, v); },
 *   async restore(chunks) { kv.clear(); for await (const c of chunks) decodePairsInto(kv, c); },
 * };
 */
export interface StateMachine {
  snapshot(at: { index: number; term: number }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Replaces the state with the snapshot's (after a restart, or when the leader sent one). */
  restore(chunks: AsyncIterable<Uint8Array>, at: { index: number; term: number }): Promise<void> | void;
}

/** When to take a snapshot and how to cut it. */
export interface SnapshotPolicy {
  /** Take one after this many applied entries (default 10,000). */
  readonly everyEntries: number;
  /** ... or after this many applied command bytes (default 64 MiB). */
  readonly everyBytes: number;
  /** Entries kept in the log behind a snapshot, for followers slightly behind (default 1,000). */
  readonly keepEntries: number;
  /**
   * A leader keeps more for a live follower still catching up (one being sent a snapshot,
   * or replaying entries after it), so that it can finish from the log: up to this many
   * entries behind the snapshot (default 100,000).
   */
  readonly catchUpEntries: number;
  /** Size of stored chunks and of InstallSnapshot messages (default 1 MiB). */
  readonly chunkBytes: number;
}

export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { everyEntries: 10_000, everyBytes: 64 << 20, keepEntries: 1_000, catchUpEntries: 100_000, chunkBytes: 1 << 20 };

export interface SnapshotDriverDeps {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly stateMachine: StateMachine | undefined;
  readonly policy: SnapshotPolicy;
  readonly sessions: SessionTable;
  readonly dispatch: (event: RaftEvent) => void;
  /** A storage or state-machine failure: the node must stop. */
  readonly failStop: (error: Error) => void;
  /** A problem worth reporting that the node survives. */
  readonly report: (error: Error) => void;
  readonly isStopped: () => boolean;
}

/**
 * Carries out this node's own snapshot work: taking snapshots by policy, storing and
 * restoring snapshots received from the leader. Every snapshot write (local or received)
 * goes through one queue, so at most one writer is open. (Sending the snapshot to a
 * follower is the leader's `replicateTo` pipeline, in `states/`.)
 */
export class SnapshotDriver {
  /** Serializes snapshot writes: creation and installation never overlap. */
  private chain: Promise<void> = Promise.resolve();
  private creating = false;
  private incoming: { meta: SnapshotMeta; writer: SnapshotWriter } | null = null;
  private bytesSinceSnapshot = 0;
  /** True while the state machine is being restored: nothing may be applied meanwhile. */
  restoring = false;

  constructor(private readonly deps: SnapshotDriverDeps) {}

  /** At start: restores the state machine (and sessions) from the durable snapshot. */
  async restoreAtStart(meta: SnapshotMeta): Promise<void> {
    await this.restoreFromStorage(meta);
  }

  /** Called for every applied entry; takes a snapshot when the policy says so. */
  noteApplied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  maybeTake(s: RaftState): void {
    const { stateMachine, policy } = this.deps;
    if (!stateMachine || this.creating || this.incoming || this.restoring || s.appliedIndex <= s.log.snapshotIndex) return;
    if (s.appliedIndex - s.log.snapshotIndex < policy.everyEntries && this.bytesSinceSnapshot < policy.everyBytes) return;
    const index = s.appliedIndex;
    const term = s.log.termAt(index);
    if (term === undefined) return;
    this.creating = true;
    this.bytesSinceSnapshot = 0;
    const meta: SnapshotMeta = { index, term, config: configAt(s, index).config };
    // Both captured now, at `index`: sessions here, the application in its snapshot().
    const header = { format: 1 as const, sessions: this.deps.sessions.export() };
    let application: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    try {
      application = stateMachine.snapshot({ index, term });
    } catch (e) {
      this.creating = false;
      this.deps.report(asError(e));
      return;
    }
    const compactUpTo = compactionPoint(s, index, policy);
    this.enqueue(async () => {
      // A snapshot being received, or installed meanwhile, is newer: this one must wait or give way.
      if (this.incoming || (this.deps.storage.readSnapshot()?.meta.index ?? 0) >= index) return;
      const writer = this.deps.storage.createSnapshot(meta);
      try {
        for await (const chunk of snapshotChunks(header, application, policy.chunkBytes)) await writer.write(chunk);
      } catch (e) {
        await writer.abort().catch(() => undefined);
        if (e instanceof StorageFailedError) throw e;
        this.deps.report(asError(e)); // the application's snapshot failed: keep running on the log
        return;
      }
      await writer.commit({ compactUpTo, discardLog: false });
      this.deps.dispatch({ kind: 'snapshotTaken', index, term, compactUpTo });
    }).finally(() => (this.creating = false));
  }

  /** Handles the `storeSnapshotChunk` effect; returns whether it did. */
  onEffect(effect: Effect): boolean {
    if (effect.type !== 'storeSnapshotChunk') return false;
    this.storeChunk(effect);
    return true;
  }

  private storeChunk(effect: Extract<Effect, { type: 'storeSnapshotChunk' }>): void {
    const { from, meta, chunk, data, done, discardLog } = effect;
    this.enqueue(async () => {
      if (chunk === 0) {
        await this.incoming?.writer.abort();
        this.incoming = null;
        if (this.deps.isStopped()) return; // a stopped node must not open a writer on storage a restart reuses
        this.incoming = { meta, writer: this.deps.storage.createSnapshot(meta) };
      }
      const incoming = this.incoming;
      if (!incoming || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term) return;
      await incoming.writer.write(data);
      if (this.deps.isStopped()) return;
      if (done) {
        this.incoming = null;
        await incoming.writer.commit({ compactUpTo: meta.index, discardLog });
        this.bytesSinceSnapshot = 0;
        await this.restoreFromStorage(meta);
      }
      this.deps.dispatch({ kind: 'snapshotChunkStored', from, meta, chunk, done });
    });
  }

  private async restoreFromStorage(meta: SnapshotMeta): Promise<void> {
    const { stateMachine, storage } = this.deps;
    const snapshot = storage.readSnapshot();
    if (!snapshot || snapshot.meta.index !== meta.index) throw new StorageFailedError(`snapshot ${meta.index} is not in storage`);
    if (!stateMachine) throw new Error(`a snapshot at index ${meta.index} exists but no stateMachine option was given to restore it`);
    this.restoring = true;
    try {
      const { header, rest } = await splitSnapshot(snapshot.chunks);
      this.deps.sessions.import(header.sessions);
      await stateMachine.restore(rest, { index: meta.index, term: meta.term });
    } finally {
      this.restoring = false;
    }
  }

  /** Runs `work` after every earlier snapshot write; a failure stops the node. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(() => (this.deps.isStopped() ? undefined : work()));
    this.chain = run.catch((e) => this.deps.failStop(asError(e)));
    return this.chain;
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
