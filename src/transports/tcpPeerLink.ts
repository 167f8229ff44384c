import type { SchedulerLike, Subscription } from 'rxjs';
import { PayloadTooLargeError } from '../errors';
import type { NodeId } from '../messages/types';
import { BackoffRange, jitteredBackoff } from './backoff';
import type { Connection } from './tcpConnection';
import { FrameBatch } from './tcpFrames';
import type { Lane } from './tcpHandshake';
import { Outbox, OutboxLimits } from './tcpOutbox';
import type { TcpWire, WireEncoder } from './tcpWire';

export { payloadBytes } from './tcpPayloadBytes';

/**
 * A peer's network address.
 *
 * @example
 * const { host, port } = await transport.listening(); // { host: '127.0.0.1', port: 41873 } with listen port 0
 */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Counters and state of the link to one peer on one lane (or, summed, on both: `TcpPeerStats`).
 *
 * @example
 * const control = transport.stats().peers.n2.lanes.control;
 * if (control.dropped > 0) log.warn(`${control.dropped} heartbeats, votes or answers to n2 discarded`);
 */
export interface TcpLaneStats {
  /** Whether an authenticated connection to the peer is open (on either lane, for a peer's sum). */
  connected: boolean;
  /** Messages waiting for the socket. */
  queued: number;
  /** Messages discarded because the queue was full or the message too large. */
  dropped: number;
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Authenticated connections made (either direction), the first one included. */
  connects: number;
}

/**
 * Counters and state of the links to one peer: both lanes summed, and each lane's own.
 *
 * @example
 * const n2 = transport.stats().peers.n2;
 * n2.bytesSent === n2.lanes.control.bytesSent + n2.lanes.bulk.bytesSent; // true
 */
export interface TcpPeerStats extends TcpLaneStats {
  readonly lanes: Readonly<Record<Lane, TcpLaneStats>>;
}

/** What a link needs from its transport; `T` is what it sends (a message, or a group's message). */
export interface LinkHost<T> {
  /** How items become frames. */
  readonly wire: TcpWire<T>;
  readonly selfId: NodeId;
  readonly scheduler: SchedulerLike;
  readonly turnScheduler: SchedulerLike;
  readonly random: () => number;
  readonly reconnectDelay: BackoffRange;
  readonly maxFrameBytes: number;
  /** Payload bytes per socket write before waiting for the next turn or `drain`. */
  readonly writeBatchBytes: number;
  readonly queueLimits: OutboxLimits;
  /** Opens an outbound connection to the link's peer, for the link's lane. */
  dial(link: PeerLink<T>): Connection;
  report(error: Error): void;
  /** Messages to `peer` may be lost: a connection that carried them closed, or one was dropped. Never emits from within a send. */
  lost(peer: NodeId): void;
}

/**
 * Everything this node holds for one peer on one lane (`PeerLanes` holds the two): the
 * bounded outbox, the connection messages go out on, dialing and reconnection.
 *
 * - Sends go to the outbox; one flush per turn (on `turnScheduler`) writes every queued
 *   frame in a single socket write. While the socket is backpressured nothing more is
 *   written: messages wait in the bounded outbox until `drain`, so memory stays bounded.
 * - Messages go out on the connection of this lane this node dialed or, when there is
 *   none, on an authenticated one the peer dialed: one connection per lane usually
 *   serves both ways.
 * - With no usable connection, a send dials (lazily); a failed or lost outbound
 *   connection is redialed after a jittered exponential back-off while messages wait.
 *
 * @example
 * const link = new PeerLink('n2', { host: '10.0.0.2', port: 7000 }, host, 'control');
 * link.send(heartbeat, 0); // dials n2's control lane if needed; written at the end of this turn
 */
export class PeerLink<T> {
  readonly stats: TcpLaneStats = {
    connected: false, queued: 0, dropped: 0, framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, connects: 0,
  };
  private readonly outbox: Outbox<T>;
  private readonly encoder: WireEncoder<T>;
  /** Invariant: at most one of `dialing` / `outbound` is set; `outbound` is ready. */
  private dialing: Connection | undefined;
  private outbound: Connection | undefined;
  /** The latest ready connection the peer opened; an older one is closed when it is replaced. */
  private inbound: Connection | undefined;
  private attempt = 0;
  private retryTimer: Subscription | undefined;
  private eagerTimer: Subscription | undefined;
  private flushAction: Subscription | undefined;
  private closed = false;
  /** The connections messages were written to (at most the three above): one closing may have lost them. */
  private readonly carried = new WeakSet<Connection>();
  private lastWritten: Connection | undefined;
  /**
   * Messages were dropped while no connection was usable, and not reported yet: they are
   * reported once, when a connection is ready again, not one report per drop. A peer that
   * is down fills its outbox within seconds, after which every send drops one; reported
   * one by one, each report reached every group of a host (1,000-4,500 a second, each a
   * step of each of 1,000 groups: the 1,000-group failover stalled the survivors' event
   * loops for seconds at a time).
   */
  private dropsUnreported = false;

  constructor(
    readonly id: NodeId,
    /** Null for a peer that connected to us and whose address we do not know: never dialed. */
    public address: PeerAddress | null,
    private readonly host: LinkHost<T>,
    readonly lane: Lane = 'control',
  ) {
    this.outbox = new Outbox(host.queueLimits);
    this.encoder = host.wire.encoder(host.selfId, id);
  }

  /**
   * Queues `message`, whose payload bytes (and encoded payload, if it has one) the caller
   * measured: `PeerLanes.send`, which chose this lane by them.
   */
  send(message: T, payload: number, encoded?: Buffer): void {
    if (this.closed) return;
    if (payload > this.host.maxFrameBytes) {
      this.stats.dropped++;
      this.host.report(new PayloadTooLargeError(payload, this.host.maxFrameBytes));
      this.dropped();
      return;
    }
    const dropped = this.outbox.push(message, payload, encoded);
    if (dropped > 0) {
      this.stats.dropped += dropped;
      this.dropped();
    }
    if (this.current()) this.scheduleFlush();
    else this.dial();
  }

  /** A connection with this peer authenticated. */
  connectionReady(connection: Connection): void {
    if (this.closed) return connection.close();
    if (connection.direction === 'dial') {
      this.dialing = undefined;
      this.outbound = connection;
      this.attempt = 0;
    } else {
      const previous = this.inbound;
      this.inbound = connection;
      previous?.close();
    }
    this.stats.connects++;
    this.stats.connected = true;
    if (this.dropsUnreported) {
      // What was dropped while the peer was unreachable: reported now that a resend can arrive.
      this.dropsUnreported = false;
      this.host.lost(this.id);
    }
    this.scheduleFlush();
  }

  connectionClosed(connection: Connection): void {
    // What was written to a connection may not have arrived: the one in use, or one that was
    // in use before another replaced it (the peer's newer dial, or our own dial winning).
    if (connection === this.current() || this.carried.has(connection)) this.host.lost(this.id);
    if (connection === this.dialing || connection === this.outbound) {
      this.dialing = undefined;
      this.outbound = undefined;
      this.scheduleRetry();
    } else if (connection === this.inbound) {
      this.inbound = undefined;
    } else {
      return;
    }
    this.stats.connected = this.current() !== undefined;
    if (this.current()) this.scheduleFlush();
    else if (this.outbox.size > 0) this.dial();
  }

  /** The socket of `connection` drained: write what waited. */
  drained(connection: Connection): void {
    if (connection === this.current()) this.flush();
  }

  /** Changes the largest frame accepted on this peer's connections (it became, or stopped being, a configured member). */
  setFrameLimit(limit: number): void {
    for (const connection of [this.dialing, this.outbound, this.inbound]) connection?.setFrameLimit(limit);
  }

  received(bytes: number): void {
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes;
  }

  /** Closes every connection with this peer and cancels its timers; the outbox is discarded. */
  close(): void {
    this.closed = true;
    this.retryTimer?.unsubscribe();
    this.eagerTimer?.unsubscribe();
    this.flushAction?.unsubscribe();
    this.outbox.clear();
    for (const connection of [this.dialing, this.outbound, this.inbound]) connection?.close();
    this.stats.connected = false;
  }

  snapshot(): TcpLaneStats {
    return { ...this.stats, queued: this.outbox.size, dropped: this.stats.dropped };
  }

  /**
   * Dials soon (after the first back-off delay, 25–50 ms by default) if nothing connects
   * us by then, without waiting for a message to send: a node that starts or restarts
   * reaches its peers at once, so a leader whose own redials are backing off hears from
   * it without waiting out the back-off. The jittered delay lets a peer that dials first
   * win, so one connection still serves both ways. A failed attempt is not retried until
   * there is something to send.
   */
  connectEagerly(): void {
    if (this.closed || this.eagerTimer) return;
    this.eagerTimer = this.host.scheduler.schedule(() => {
      this.eagerTimer = undefined;
      if (!this.current()) this.dial();
    }, jitteredBackoff(0, this.host.reconnectDelay, this.host.random));
  }

  /**
   * Where messages go now: the one ready connection of this lane, or, when each node has
   * dialed the other (both dial at start, or after a break), the one dialed by the node
   * with the smaller id, as that node picks it too. Both directions then share one TCP
   * connection per lane, as with a single dial: each side's acknowledgements ride on its
   * own frames instead of costing both sides a stream of bare ACK packets. (Pipelined
   * 64-entry AppendEntries on loopback measured slower and costlier on both sides with
   * requests and responses on two connections; across lanes that is now the price of
   * heartbeats not waiting behind entries: AppendEntries go on the bulk lane, their
   * answers on the control lane. The library benchmark at 100 B did not lose writes/s by
   * it: docs/notes/big-entries.md, "Two lanes".) The other connection stays open,
   * unused, as a spare.
   */
  private current(): Connection | undefined {
    if (this.outbound === undefined || this.inbound === undefined) return this.outbound ?? this.inbound;
    return this.host.selfId < this.id ? this.outbound : this.inbound;
  }

  private dial(): void {
    if (this.closed || this.dialing || this.outbound || this.retryTimer || !this.address) return;
    this.dialing = this.host.dial(this);
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = jitteredBackoff(this.attempt++, this.host.reconnectDelay, this.host.random);
    this.retryTimer = this.host.scheduler.schedule(() => {
      this.retryTimer = undefined;
      if (!this.current() && this.outbox.size > 0) this.dial();
    }, delay);
  }

  /** Messages to the peer were dropped: a loss now if a connection is usable, else once one is (`dropsUnreported`). */
  private dropped(): void {
    if (this.current()) this.host.lost(this.id);
    else this.dropsUnreported = true;
  }

  private scheduleFlush(): void {
    if (this.flushAction || this.closed) return;
    this.flushAction = this.host.turnScheduler.schedule(() => {
      this.flushAction = undefined;
      this.flush();
    });
  }

  /**
   * Writes queued messages while the socket takes them: each write is one batch (on the
   * control lane every queued message, on the bulk lane messages up to
   * `writeBatchBytes` of payload), all frames in one corked write, large entries blocks
   * uncopied (`FrameBatch.toBuffers`) (with the host wire, the batch is one frame, or a
   * few when it exceeds a frame).
   */
  private flush(): void {
    const connection = this.current();
    if (!connection) return;
    const tooLarge = (size: number) => {
      this.stats.dropped++;
      this.host.report(new PayloadTooLargeError(size, this.host.maxFrameBytes));
      this.host.lost(this.id);
    };
    if (connection !== this.lastWritten) {
      this.lastWritten = connection;
      this.carried.add(connection);
    }
    while (this.outbox.size > 0 && connection.writable) {
      const batch = new FrameBatch();
      const sizes: number[] = [];
      const encoded: (Buffer | undefined)[] = [];
      const items = this.outbox.take(this.host.writeBatchBytes, sizes, encoded);
      this.encoder.encode(items, batch, this.host.maxFrameBytes, tooLarge, sizes, encoded);
      if (batch.frames === 0) continue;
      const buffers = batch.toBuffers();
      this.stats.framesSent += batch.frames;
      for (const buffer of buffers) this.stats.bytesSent += buffer.length;
      if (!connection.write(buffers)) break;
    }
  }
}
