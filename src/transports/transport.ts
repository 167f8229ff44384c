import type { Observable } from 'rxjs';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';

/**
 * How a node exchanges messages with its peers. A transport:
 * - never delivers synchronously from `send` (DESIGN.md invariant 1);
 * - decodes and validates every inbound message before emitting it on `inbound$`
 *   (invariant 4) and reports what it rejected on `errors$`;
 * - may drop, delay, duplicate or reorder messages: Raft tolerates all of these.
 *
 * @example
 * const hub = new MemoryHub({ scheduler });
 * const transport = hub.connect('n1');
 * transport.inbound$.subscribe(({ from, message }) => console.log(from, message.type));
 * transport.send('n2', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
 */
export interface Transport {
  /** Validated messages addressed to this node. Hot. */
  readonly inbound$: Observable<Envelope>;
  /** Problems the transport saw: rejected input, failed connections. Never terminal. */
  readonly errors$: Observable<Error>;
  /**
   * Peers to which messages may not have arrived: a connection to the peer closed (what
   * was written to it may be gone), or a message to it was dropped. A leader then sends
   * that follower afresh at once instead of waiting for its stream to stall (after two
   * maximum election timeouts). Optional; hot; never emits synchronously from `send`.
   * A report reaches every group of a host, so it is rationed: at most one per peer and
   * turn, and messages dropped while the peer is unreachable are reported once, when it
   * is reachable again (TCP).
   */
  readonly lost$?: Observable<NodeId>;
  /** Sends a message, best effort; never throws for network reasons. */
  send(to: NodeId, message: RaftMessage): void;
  /** Releases every socket and timer. */
  close(): Promise<void>;
  /**
   * The cluster's configuration changed: these are the addresses of its members (ids
   * without an address keep whatever the transport knew). Optional: transports that
   * need no addresses (in-memory) ignore it.
   */
  updatePeers?(addresses: Readonly<Record<NodeId, string>>): void;
}
