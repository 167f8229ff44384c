import type { Entry } from '../messages/entry';
import type { NodeId } from '../messages/types';

/** What must survive a restart besides the log (Raft Figure 2, "persistent state"). */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
}

/** What `Storage.load()` returns: the durable state at open. */
export interface PersistedState {
  readonly hardState: HardState;
  /** The log, contiguous from index 1. */
  readonly entries: readonly Entry[];
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
  close(): Promise<void>;
}

export const INITIAL_HARD_STATE: HardState = { term: 0, votedFor: null };
