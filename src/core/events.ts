import type { NodeId, RaftMessage } from '../messages/types';

/** Everything that can happen to a node, as fed to its event loop one at a time. */
export type RaftEvent =
  | { readonly kind: 'message'; readonly from: NodeId; readonly message: RaftMessage }
  /** The election timer of role epoch `epoch` fired. */
  | { readonly kind: 'electionTimeout'; readonly epoch: number }
  /** The leader's heartbeat timer of role epoch `epoch` fired. */
  | { readonly kind: 'heartbeatTick'; readonly epoch: number }
  /** Commands proposed during one turn; `tokens` are opaque to the rules and come back in effects. */
  | { readonly kind: 'propose'; readonly commands: readonly Uint8Array[]; readonly tokens: readonly unknown[] }
  /** Storage reports the entries up to `index` (whose term was `term`) durable. */
  | { readonly kind: 'persisted'; readonly index: number; readonly term: number };
