/**
 * What a TCP transport counts (`TcpTransportStats`): per peer, and for the budgets that
 * bound inbound connections.
 */
import type { NodeId } from '../messages/types';
import type { TcpPeerStats } from './tcpPeerLink';

/**
 * Counters of a TCP transport, per peer and overall.
 *
 * @example
 * const { peers, handshakes } = transport.stats();
 * for (const [id, p] of Object.entries(peers)) if (!p.connected) log.warn(`${id}: not connected, ${p.queued} queued`);
 */
export interface TcpTransportStats {
  readonly peers: Record<NodeId, TcpPeerStats>;
  /** Inbound connections closed before or during the handshake, or for bad input. */
  readonly rejected: number;
  /** The handshake budget (`maxPendingHandshakes`). */
  readonly handshakes: {
    /** Inbound connections in their handshake now. */
    readonly pending: number;
    /** Pending handshakes closed to make room for a newcomer, so far. */
    readonly evicted: number;
    /** Newcomers refused because they ranked below every pending handshake, so far. */
    readonly refused: number;
  };
  /** The partial-frame budget (`maxPartialFrameBytes`). */
  readonly partialFrames: {
    /** Bytes held in partial frames now, all connections together. Never above `budget`. */
    readonly bytes: number;
    /** The most held at once so far. */
    readonly peakBytes: number;
    readonly budget: number;
    /** Connections closed because their frame would have exceeded the budget, so far. */
    readonly overBudget: number;
  };
}
