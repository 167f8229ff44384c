import type { SnapshotPolicy, StateMachine } from '../api';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import { compactionPoint, configAt } from '../core/snapshots';
import type { RaftState } from '../core/state';
import { StorageFailedError } from '../errors';
import type { NodeId } from '../messages/types';
import type { SnapshotMeta } from '../messages/persisted';
import type { SnapshotWriter, Storage } from '../storage/storage';
import type { SessionTable } from './sessions';
import { snapshotChunks, splitSnapshot } from './snapshotStream';

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
  /**
   * Runs `work` while no entry is being applied, once every entry handed out so far has
   * been, and gives it the index applied up to then (`Applier.exclusive`).
   */
  readonly exclusive: <T>(work: (appliedUpTo: number) => T | Promise<T>) => Promise<T>;
  /** The state machine now holds the snapshot at `index`: entries up to it are not applied again. */
  readonly restored: (index: number) => void;
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
  /** Bytes of the latest snapshot this node wrote or restored (0 until one). */
  private lastSnapshotBytes = 0;
  /** True while the state machine is being restored (no snapshot is taken meanwhile). */
  private restoring = false;

  constructor(private readonly deps: SnapshotDriverDeps) {}

  /** At start: restores the state machine (and sessions) from the durable snapshot. */
  async restoreAtStart(meta: SnapshotMeta): Promise<void> {
    await this.restoreFromStorage(meta);
  }

  /** Called for every applied entry with its payload size (for `everyBytes`). */
  noteApplied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  /**
   * Takes a snapshot when the policy says so, judged by the acknowledged index
   * (`appliedIndex`): after `everyEntries` entries or `everyBytes` command bytes — and
   * not before the commands applied since the last snapshot weigh `minLogPercent` of it,
   * by default as much: snapshots never write more than the log they replace. (With 262,144 keys, the KV
   * server wrote its whole state every 10,000 entries, and 256 writers got 14,000
   * writes/s; a 300 MB state under 64 KiB writes was written again every 64 MiB.) The state is
   * captured in the apply queue (`exclusive`): at the index the application has applied
   * by then, with no apply running.
   */
  maybeTake(s: RaftState): void {
    const { stateMachine, policy } = this.deps;
    if (!stateMachine?.snapshot || this.creating || this.incoming || this.restoring || s.appliedIndex <= s.log.snapshotIndex) return;
    if (s.appliedIndex - s.log.snapshotIndex < policy.everyEntries && this.bytesSinceSnapshot < policy.everyBytes) return;
    if (this.bytesSinceSnapshot * 100 < this.lastSnapshotBytes * policy.minLogPercent) return; // the log must outweigh the last snapshot
    this.creating = true;
    this.bytesSinceSnapshot = 0;
    this.deps
      .exclusive((index) => this.capture(s, index))
      .then((capture) => capture && this.enqueue(capture.write, capture.giveUp))
      .catch(() => undefined) // stopped meanwhile; a failed write already stopped the node
      .finally(() => (this.creating = false));
  }

  /**
   * The application's state and the sessions at `index`, and the work that writes them;
   * `giveUp` closes the application's chunks unread when that work never runs (the node
   * stopped first).
   */
  private capture(s: RaftState, index: number): { write: () => Promise<void>; giveUp: () => void } | null {
    const { stateMachine, policy } = this.deps;
    const term = s.log.termAt(index);
    if (term === undefined || index <= s.log.snapshotIndex || this.deps.isStopped()) return null;
    const meta: SnapshotMeta = { index, term, config: configAt(s, index).config };
    // Both captured now, at `index`: sessions here, the application in its snapshot().
    const header = { format: 1 as const, sessions: this.deps.sessions.export() };
    let application: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    try {
      application = stateMachine!.snapshot!({ index, term });
    } catch (e) {
      this.deps.report(asError(e));
      return null;
    }
    const compactUpTo = compactionPoint(s, index, policy);
    const giveUp = () => closeUnread(application);
    const write = async () => {
      // A snapshot being received, or installed meanwhile, is newer: this one must wait or give way.
      if (this.incoming || (this.deps.storage.readSnapshot()?.meta.index ?? 0) >= index) return giveUp();
      let writer: SnapshotWriter;
      try {
        writer = this.deps.storage.createSnapshot(meta);
      } catch (e) {
        giveUp();
        throw e;
      }
      let bytes = 0;
      try {
        for await (const chunk of snapshotChunks(header, application, policy.chunkBytes)) {
          bytes += chunk.byteLength;
          await writer.write(chunk);
        }
      } catch (e) {
        await writer.abort().catch(() => undefined);
        if (e instanceof StorageFailedError) throw e;
        this.deps.report(asError(e)); // the application's snapshot failed: keep running on the log
        return;
      }
      await writer.commit({ compactUpTo, discardLog: false });
      this.lastSnapshotBytes = bytes;
      this.deps.dispatch({ kind: 'snapshotTaken', index, term, compactUpTo });
    };
    return { write, giveUp };
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
        // Not while an entry is being applied, and no entry it covers is applied after it.
        await this.deps.exclusive(() => this.restoreFromStorage(meta));
      }
      this.deps.dispatch({ kind: 'snapshotChunkStored', from, meta, chunk, done });
    });
  }

  private async restoreFromStorage(meta: SnapshotMeta): Promise<void> {
    const { stateMachine, storage } = this.deps;
    const snapshot = storage.readSnapshot();
    if (!snapshot || snapshot.meta.index !== meta.index) throw new StorageFailedError(`snapshot ${meta.index} is not in storage`);
    if (!stateMachine?.restore) throw new Error(`a snapshot at index ${meta.index} exists but no stateMachine.restore was given to restore it`);
    this.restoring = true;
    try {
      const { header, rest } = await splitSnapshot(this.counted(snapshot.chunks));
      this.deps.sessions.import(header.sessions);
      await stateMachine.restore(rest, { index: meta.index, term: meta.term });
      this.deps.restored(meta.index);
    } finally {
      this.restoring = false;
    }
  }

  /** `chunks`, counting their bytes into `lastSnapshotBytes` as they are read. */
  private async *counted(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    this.lastSnapshotBytes = 0;
    for await (const chunk of chunks) {
      this.lastSnapshotBytes += chunk.byteLength;
      yield chunk;
    }
  }

  /** Runs `work` after every earlier snapshot write; a failure stops the node. */
  private enqueue(work: () => Promise<void>, skipped?: () => void): Promise<void> {
    const run = this.chain.then(() => (this.deps.isStopped() ? skipped?.() : work()));
    this.chain = run.catch((e) => this.deps.failStop(asError(e)));
    return this.chain;
  }
}

/**
 * Closes the iterator of an application snapshot that will not be read (`return()`), so
 * the application can let go of what it holds for it (`StateMachine.snapshot`). A
 * generator that never started runs no `finally` on `return()`: what it holds from the
 * call on must be released by the iterator's own `return`.
 */
function closeUnread(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): void {
  const iterator = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  Promise.resolve()
    .then(() => iterator.return?.())
    .catch(() => undefined); // the application's own cleanup failed: nothing more to do here
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
