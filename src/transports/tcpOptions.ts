/**
 * The options of a TCP transport (`TcpTransportOptions`), TLS certificates included:
 * addresses, authentication, and the limits that bound what peers and strangers can make
 * it hold.
 */
import type { SchedulerLike } from 'rxjs';
import type { NodeId } from '../messages/types';
import type { BackoffRange } from './backoff';

/**
 * Certificates for mutual TLS. Every node's certificate names its node id (CN or SAN).
 *
 * @example
 * tcpTransport({ ...options, tls: { ca: fs.readFileSync('ca.pem'), cert: fs.readFileSync('n1.pem'), key: fs.readFileSync('n1-key.pem') } });
 */
export interface TcpTlsOptions {
  /** The cluster CA: a peer's certificate must chain to it. PEM. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /** This node's certificate (PEM), naming this node's id as CN or DNS/URI SAN. */
  readonly cert: string | Buffer;
  /** This node's private key (PEM). */
  readonly key: string | Buffer;
  readonly passphrase?: string;
}

/**
 * Options of `tcpTransport` (and `tcpHostTransport`).
 *
 * @example
 * tcpTransport({ id: 'n1', listen: { host: '0.0.0.0', port: 7001 }, peers: { n2: '10.0.0.2:7001', n3: '10.0.0.3:7001' }, clusterId: 'orders', secret, maxQueuedMessages: 1024 });
 */
export interface TcpTransportOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** Where to accept peers' connections. Port 0 picks a free port (see `listening()`). */
  readonly listen: { readonly host: string; readonly port: number };
  /** Every peer's id and `host:port` (`[v6]:port` for IPv6). Change later with `setPeer`. */
  readonly peers: Readonly<Record<NodeId, string>>;
  /** Peers must name the same cluster in the handshake. */
  readonly clusterId: string;
  /**
   * Shared cluster secret: both sides of every connection prove they hold it
   * (HMAC-SHA256 challenge–response). It authenticates peers but neither encrypts nor
   * protects the stream against an on-path attacker: on an untrusted network use `tls`
   * (both may be given). At least one of `secret` and `tls` is required.
   */
  readonly secret?: string | Uint8Array;
  /** Mutual TLS: encryption, and identities checked against the cluster CA. */
  readonly tls?: TcpTlsOptions;
  /**
   * Accept authenticated connections from node ids that are not (yet) configured peers
   * (default false). With membership changes, a node that missed the change adding a
   * server must still hear from it (it may lead): the secret or certificate proves the
   * peer belongs to the cluster, and replies go back over its connection.
   */
  readonly acceptUnknownPeers?: boolean;
  /** Largest frame accepted or sent (default 16 MiB); a bigger length prefix closes the connection. */
  readonly maxFrameBytes?: number;
  /** Most messages queued per peer and lane while its socket is down or busy (default 4096). */
  readonly maxQueuedMessages?: number;
  /** Most bytes queued per peer and lane (default 64 MiB; the control lane's messages are small). */
  readonly maxQueuedBytes?: number;
  /** Reconnection back-off bounds, in scheduler time units (default 50–5000 ms). */
  readonly reconnectDelay?: BackoffRange;
  /**
   * Dial every configured peer soon after listening, before there is anything to send
   * (default true): a restarted node is reached at once instead of after its peers'
   * redial back-off. See `PeerLink.connectEagerly`.
   */
  readonly connectOnStart?: boolean;
  /** A connection must authenticate within this time (default 5000 ms). */
  readonly handshakeTimeout?: number;
  /**
   * Inbound connections allowed in their handshake (not yet authenticated) at once
   * (default 64). When full, a newcomer takes the place of the weakest pending handshake:
   * one from an address that is not a configured peer's before one that is, one that has
   * not sent a valid hello before one that has, and the oldest among equals. A newcomer
   * ranked below every pending handshake is refused. Evicted and refused connections are
   * reported as `HandshakeBudgetError`. See `tcpHandshakeBudget.ts`.
   */
  readonly maxPendingHandshakes?: number;
  /**
   * Inbound connections in their handshake at once from one remote IP address (default
   * 16), with the same eviction rule. A peer dials two connections, one per lane: 16 is
   * eight peers behind one address (a cluster on one machine) (re)connecting at once.
   */
  readonly maxPendingHandshakesPerSource?: number;
  /**
   * Bytes held in partial frames (length prefix received, body not complete), over all
   * connections together (default 64 MiB). A connection whose frame would take the total
   * past it is closed with `FrameBudgetExceededError`. At least `maxFrameBytes`.
   */
  readonly maxPartialFrameBytes?: number;
  /**
   * Largest frame accepted from an authenticated node that is not a configured peer
   * (only with `acceptUnknownPeers`), until `setPeer`/`updatePeers` names it, so that
   * strangers holding the secret cannot make this node hold large frames (default
   * 2 MiB). It must still fit what a new member that leads sends a node that has not
   * heard of it yet — AppendEntries up to the node's `maxBytesPerMessage` and snapshot
   * chunks of `snapshot.chunkBytes` (1 MiB each by default) — or that node cannot catch
   * up with its leader: raise it with them.
   */
  readonly maxUnknownPeerFrameBytes?: number;
  /**
   * A partial frame that receives no byte for this long closes its connection with
   * `FrameStalledError` (default 5000 ms), releasing what it held.
   */
  readonly partialFrameTimeout?: number;
  /** Timers (back-off, handshake timeout) run here (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
  /** Where writes of one turn are gathered into one socket write (default `asapScheduler`: the end of the current callback). */
  readonly turnScheduler?: SchedulerLike;
  /** Randomness for back-off jitter (default `Math.random`). */
  readonly random?: () => number;
}
