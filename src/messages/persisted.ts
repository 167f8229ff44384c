import type { ClusterConfig } from './config';
import type { NodeId } from './nodeId';

/*
 * The plain types a node persists besides its log entries: what storage writes and the
 * core decides about. Storage implements how; core/ never imports storage/.
 */

/**
 * What must survive a restart besides the log (Raft Figure 2, "persistent state").
 *
 * @example
 * await storage.saveHardState({ term: 5, votedFor: 'n2' }); // durable before the vote is sent
 */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
}

/**
 * Describes a snapshot: the state machine as of `index` (whose entry had `term`).
 *
 * @example
 * storage.readSnapshot()?.meta; // { index: 48210, term: 7, config: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} } }
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  /** The cluster configuration as of `index`. */
  readonly config: ClusterConfig;
}
