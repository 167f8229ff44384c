import type { NodeId } from '../messages/types';
import type { Connection } from './tcpConnection';
import type { Lane } from './tcpHandshake';
import { LinkHost, PeerAddress, PeerLink, TcpLaneStats, TcpPeerStats } from './tcpPeerLink';
import { laneOf } from './tcpPayloadBytes';

/**
 * The two links to one peer, one per lane (`Lane`), each with its own authenticated
 * connection, bounded outbox, dialing and back-off:
 *
 * - `bulk`: items carrying payload bytes (`TcpWire.payloadBytes` > 0): AppendEntries with
 *   entries, InstallSnapshot chunks, forwarded ProposeRequests;
 * - `control`: everything else — heartbeats (empty AppendEntries at the follower's
 *   match), probes without entries, votes and pre-votes, TimeoutNow, read rounds, every
 *   response, WakeUp, TermQuery, host liveness.
 *
 * Once bytes are in a socket they wait in the kernel's buffers in order; with one
 * connection a heartbeat (or a read round) waited there behind megabytes of entries (up
 * to 6.4 MB at 1,024 proposers of 64 KiB, docs/notes/deposed-leaders.md). On its own
 * connection it waits only behind other small messages (at most 352 B measured), and for
 * the receiver's event loop (docs/notes/big-entries.md, "Two lanes"; a read budget on the
 * bulk socket did not shorten that wait measurably: "A read budget per turn").
 *
 * FIFO holds within a lane; across lanes there is no order, which Raft tolerates (a
 * transport may reorder anything), and the core does not count on it: a heartbeat is at
 * the follower's `match`, so it cannot fail the consistency check however far ahead of
 * entries it arrives, and it commits no further than `match`; every response travels on
 * the control lane, so the leader hears a follower's answers in the order it gave them;
 * snapshot chunks go one at a time, each after the previous one's answer.
 *
 * A closed connection on either lane is a loss (`LinkHost.lost`): on the bulk lane,
 * entries in flight; on the control lane, heartbeats, answers or read rounds — either
 * way the leader sends the follower afresh.
 *
 * @example
 * const lanes = new PeerLanes('n2', { host: '10.0.0.2', port: 7000 }, host);
 * lanes.send(appendEntries); // bulk lane
 * lanes.send(heartbeat);     // control lane: not queued behind the entries
 */
export class PeerLanes<T> {
  readonly control: PeerLink<T>;
  readonly bulk: PeerLink<T>;

  constructor(
    readonly id: NodeId,
    address: PeerAddress | null,
    private readonly host: LinkHost<T>,
  ) {
    this.control = new PeerLink(id, address, host, 'control');
    this.bulk = new PeerLink(id, address, host, 'bulk');
  }

  /** Null for a peer that connected to us and whose address we do not know: never dialed. */
  get address(): PeerAddress | null {
    return this.control.address;
  }

  set address(address: PeerAddress | null) {
    this.control.address = address;
    this.bulk.address = address;
  }

  /** The link of `lane`. */
  lane(lane: Lane): PeerLink<T> {
    return lane === 'bulk' ? this.bulk : this.control;
  }

  /** Queues `item` on its lane: bulk if it carries payload bytes, else control. */
  send(item: T): void {
    const encoded = this.host.wire.encodedPayload(item);
    const payload = encoded !== undefined ? encoded.length : this.host.wire.payloadBytes(item);
    this.lane(laneOf(payload)).send(item, payload, encoded);
  }

  /** A connection with this peer authenticated: its lane's link takes it. */
  connectionReady(connection: Connection): void {
    this.lane(connection.lane).connectionReady(connection);
  }

  connectionClosed(connection: Connection): void {
    this.lane(connection.lane).connectionClosed(connection);
  }

  drained(connection: Connection): void {
    this.lane(connection.lane).drained(connection);
  }

  received(connection: Connection, bytes: number): void {
    this.lane(connection.lane).received(bytes);
  }

  setFrameLimit(limit: number): void {
    this.control.setFrameLimit(limit);
    this.bulk.setFrameLimit(limit);
  }

  connectEagerly(): void {
    this.control.connectEagerly();
    this.bulk.connectEagerly();
  }

  close(): void {
    this.control.close();
    this.bulk.close();
  }

  /** Both lanes' counters summed (`connected`: on either lane), and each lane's. */
  snapshot(): TcpPeerStats {
    const control = this.control.snapshot();
    const bulk = this.bulk.snapshot();
    const sum = (key: Exclude<keyof TcpLaneStats, 'connected'>) => control[key] + bulk[key];
    return {
      connected: control.connected || bulk.connected,
      queued: sum('queued'),
      dropped: sum('dropped'),
      framesSent: sum('framesSent'),
      bytesSent: sum('bytesSent'),
      framesReceived: sum('framesReceived'),
      bytesReceived: sum('bytesReceived'),
      connects: sum('connects'),
      lanes: { control, bulk },
    };
  }
}
