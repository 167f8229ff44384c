import type { ElectionRange } from './electionDeadline';
import type { ForwardedCommand, NodeId, RaftMessage } from '../messages/types';
import type { ConfigChange } from './membership';
import type { SnapshotMeta } from '../messages/persisted';
import type { Entry } from '../messages/entry';

/** Everything that can happen to a node, as fed to its event loop one at a time. */
export type RaftEvent =
  | { readonly kind: 'message'; readonly from: NodeId; readonly message: RaftMessage }
  /**
   * The election timer of role epoch `epoch` fired. Ignored before `electionDeadline`
   * (the deadline moved after the timer fired), unless `forced` (the `campaign` test hook,
   * etcd's MsgHup).
   */
  | { readonly kind: 'electionTimeout'; readonly epoch: number; readonly forced?: boolean }
  /**
   * The host suspects a failure (a peer host stopped answering, answered again, restarted,
   * or stopped a group): a quiet node wakes if it concerns it (`core/quiescence.ts`).
   * `hosts`: the peer hosts whose change this is (absent: any, every quiet node wakes);
   * `silent`: the peer hosts silent now, when known (every node remembers them); `group`:
   * this node's group on the host (it orders the voters' campaigns, `failoverDeadline`).
   */
  | { readonly kind: 'wake'; readonly hosts?: readonly NodeId[]; readonly silent?: readonly NodeId[]; readonly group?: string }
  /**
   * The transport may have lost messages to `to`: a connection to it closed, or a message
   * was dropped (`Transport.lost$`). A leader stops waiting for what it had in flight
   * there and probes that follower afresh at its next heartbeat (`handleMessagesLost`).
   */
  | { readonly kind: 'messagesLost'; readonly to: NodeId }
  /** The leader's heartbeat timer of role epoch `epoch` fired. */
  | { readonly kind: 'heartbeatTick'; readonly epoch: number }
  /**
   * Commands proposed here during one turn; `tokens` are opaque to the rules and come
   * back in effects; `requestId` names the batch if it must be forwarded to the leader.
   */
  | { readonly kind: 'propose'; readonly commands: readonly ForwardedCommand[]; readonly tokens: readonly unknown[]; readonly requestId: number }
  /** A configuration change asked of this node (it must lead). */
  | { readonly kind: 'changeConfig'; readonly requestId: number; readonly change: ConfigChange }
  /** A leadership transfer asked of this node, to `to` or to the best voter. */
  | { readonly kind: 'transferLeadership'; readonly requestId: number; readonly to: NodeId | null }
  /** Linearizable reads asked here during one turn, as one request. */
  | { readonly kind: 'read'; readonly requestId: number; readonly lease: boolean }
  /** This node's own snapshot at (index, term) is durable; entries up to `compactUpTo` are dropped. */
  | { readonly kind: 'snapshotTaken'; readonly index: number; readonly term: number; readonly compactUpTo: number }
  /** Chunk `chunk` of a snapshot from `from` is stored; if it was the last, the snapshot is installed and restored. */
  | { readonly kind: 'snapshotChunkStored'; readonly from: NodeId; readonly meta: SnapshotMeta; readonly chunk: number; readonly done: boolean }
  /**
   * The entries a `readEntries` effect of `leaderTerm` asked for follower `to`, read from
   * storage starting at `from`; null when the read failed (the range was compacted
   * meanwhile): the rules try again at the next heartbeat.
   */
  | { readonly kind: 'entriesRead'; readonly to: NodeId; readonly from: number; readonly leaderTerm: number; readonly entries: readonly Entry[] | null }
  /** Reading the snapshot for `to` failed (it was replaced meanwhile): start that transfer over. */
  | { readonly kind: 'snapshotReadFailed'; readonly to: NodeId }
  /** Storage reports the entries up to `index` (whose term was `term`) durable. */
  | { readonly kind: 'persisted'; readonly index: number; readonly term: number }
  /**
   * This node, whose storage had lost writes, has been repaired from the cluster (an
   * entry it proposed after starting has committed and been applied here): it may vote.
   */
  | { readonly kind: 'repaired' }
  /** A test hook replaced the range election deadlines are drawn from: draw a fresh one. */
  | { readonly kind: 'setElectionRange'; readonly range: ElectionRange | 'never' }
  /** The application has finished applying every entry handed to it up to `index`. */
  | { readonly kind: 'applied'; readonly index: number }
  /** Storage reports a hard state (term, votedFor) durable: every write, not only this node's own vote. */
  | { readonly kind: 'hardStateSaved'; readonly term: number; readonly votedFor: NodeId | null };
