import * as net from 'node:net';
import * as tls from 'node:tls';
import { Observable, SchedulerLike, Subject } from 'rxjs';
import { defaultRandom, defaultScheduler, defaultTransportTurnScheduler } from '../defaults';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { BackoffRange } from './backoff';
import { parseAddress } from './tcpAddress';
import { Connection, ConnectionHost } from './tcpConnection';
import { HandshakeError, PeerConnectionError, TransportConfigError } from './tcpErrors';
import { FrameBudget } from './tcpFrameBudget';
import { HANDSHAKE_MAX_FRAME_BYTES } from './tcpHandshake';
import { InboundHandshakes } from './tcpInboundHandshakes';
import { PeerLanes } from './tcpPeerLanes';
import type { TcpTransportOptions } from './tcpOptions';
import { LinkHost, PeerAddress, PeerLink, TcpPeerStats } from './tcpPeerLink';
import { PeerSources } from './tcpPeerSources';
import type { TcpTransportStats } from './tcpStats';
import type { Transport } from './transport';
import { NODE_WIRE, TcpWire, WireEnvelope } from './tcpWire';
import { Broadcast } from '../operators/broadcast';

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * A `Transport` over TCP (optionally TLS) between the nodes of one cluster.
 *
 * - Frames: a u32 length, then a msgpack envelope (see `tcpCodec.ts`); entries travel as
 *   one binary block.
 * - Every connection authenticates both ways before any RPC (`tcpHandshake.ts`):
 *   protocol version, cluster id, node id, plus the shared secret and/or mutual TLS. A
 *   connection that fails, or names a node that is not a configured peer, never reaches
 *   `inbound$` and is reported on `errors$`.
 * - Every inbound frame is decoded and validated; a bad one closes its connection and is
 *   reported, and the transport keeps running. `from` is always the authenticated peer.
 * - Per peer, two lanes (`tcpPeerLanes.ts`): a `bulk` connection for messages carrying
 *   payload bytes (entries, snapshot chunks, forwarded commands) and a `control` one for
 *   everything else (heartbeats, votes, responses, read rounds), so that a heartbeat
 *   never waits behind entries in a socket's buffers. Per lane: one connection this node
 *   dials lazily (on the first send) and redials with jittered exponential back-off; an
 *   inbound connection from the peer on that lane is used too. A bounded outbox (count
 *   and bytes; overflow dropped and counted in `stats()`, per peer and per lane).
 * - Bounded against hostile connections: inbound connections in their handshake have a
 *   budget per source IP and in total (`maxPendingHandshakes*`; each lane's connection
 *   counts), where a newcomer evicts
 *   the weakest pending handshake (strangers' addresses before peers', idle before
 *   talking, oldest first), so unauthenticated connections cannot keep peers out; bytes
 *   held in partial frames have a total budget (`maxPartialFrameBytes`), nodes that are
 *   not configured peers are limited to small frames (`maxUnknownPeerFrameBytes`), and a
 *   frame that stops arriving closes its connection (`partialFrameTimeout`). Frames are
 *   held as the bytes arrive, never allocated from their length prefix. `stats()` shows
 *   both budgets.
 * - Writes: all frames of a turn for a lane go out in one socket write. While the socket
 *   is backpressured nothing more is written on it; messages wait in its lane's outbox.
 *   The control lane's socket holds only small messages, so a heartbeat waits neither
 *   for entries queued in the bulk outbox nor for those already in the bulk socket.
 *
 * @example
 * const transport = tcpTransport({
 *   id: 'n1',
 *   listen: { host: '0.0.0.0', port: 7001 },
 *   peers: { n2: '10.0.0.2:7001', n3: '10.0.0.3:7001' },
 *   clusterId: 'orders',
 *   secret: process.env.RAFT_SECRET,
 * });
 * await transport.listening();
 * const node = createRaftNode({ id: 'n1', peers: ['n1', 'n2', 'n3'], transport, storage });
 * transport.errors$.subscribe(e => log.warn(e.message));
 */
export function tcpTransport(options: TcpTransportOptions): TcpTransport {
  return new TcpTransport(options);
}

/**
 * The transport made by `tcpTransport`: a `Transport` with the bound address, peers
 * changed at run time and counters besides.
 *
 * @example
 * const { port } = await transport.listening(); // with listen port 0, the port picked
 * transport.setPeer('n4', '10.0.0.4:7001');       // a member added at run time
 * transport.stats().peers.n2.connected;           // true once authenticated
 */
export class TcpTransport implements Transport, ConnectionHost, LinkHost<unknown> {
  private readonly inbound = new Broadcast<Envelope>();
  private readonly errors = new Subject<Error>();
  private readonly lostTo = new Broadcast<NodeId>();
  /** Peers whose loss is reported at the end of this turn (bounded by the peers). */
  private readonly lossesDue = new Set<NodeId>();
  readonly inbound$: Observable<Envelope> = this.inbound.asObservable();
  readonly errors$: Observable<Error> = this.errors.asObservable();
  /** Peers whose connection closed with messages written to it, or a message to whom was dropped (see `Transport.lost$`). */
  readonly lost$: Observable<NodeId> = this.lostTo.asObservable();

  readonly selfId: NodeId;
  readonly clusterId: string;
  readonly secret: string | Uint8Array | undefined;
  readonly tls: boolean;
  readonly maxFrameBytes: number;
  readonly maxUnknownPeerFrameBytes: number;
  readonly handshakeTimeout: number;
  readonly partialFrameTimeout: number;
  readonly frameBudget: FrameBudget;
  readonly scheduler: SchedulerLike;
  readonly turnScheduler: SchedulerLike;
  readonly random: () => number;
  readonly reconnectDelay: BackoffRange;
  readonly writeBatchBytes = 256 * 1024;
  readonly queueLimits: { readonly maxMessages: number; readonly maxBytes: number };

  private readonly links = new Map<NodeId, PeerLanes<unknown>>();
  /** Inbound connections until they authenticate, in the handshake budget. */
  private readonly inboundHandshakes: InboundHandshakes;
  /** The IP addresses of configured peers (host names resolved): their handshakes rank higher. */
  private readonly peerSources = new PeerSources(
    () => [...this.links.values()].map((link) => link.address?.host),
    () => this.closing !== undefined,
  );
  private readonly server: net.Server;
  private readonly listened: Promise<PeerAddress>;
  private closing: Promise<void> | undefined;

  /**
   * `wire`: what the connections carry after the handshake — a node's messages (the
   * default), or a host's grouped messages (`tcpHostTransport`, which then sends its
   * items with `sendItem`).
   */
  constructor(
    private readonly options: TcpTransportOptions,
    readonly wire: TcpWire<unknown> = NODE_WIRE as TcpWire<unknown>,
  ) {
    if (options.secret === undefined && options.tls === undefined) {
      throw new TransportConfigError('tcpTransport needs a shared `secret` or `tls` certificates: peers must authenticate');
    }
    if (options.secret !== undefined && options.secret.length === 0) throw new TransportConfigError('empty secret');
    this.selfId = options.id;
    this.clusterId = options.clusterId;
    this.secret = options.secret;
    this.tls = options.tls !== undefined;
    this.maxFrameBytes = options.maxFrameBytes ?? 16 * MIB;
    this.handshakeTimeout = options.handshakeTimeout ?? 5000;
    this.partialFrameTimeout = options.partialFrameTimeout ?? 5000;
    this.maxUnknownPeerFrameBytes = Math.min(this.maxFrameBytes, options.maxUnknownPeerFrameBytes ?? 2 * MIB);
    this.frameBudget = new FrameBudget(options.maxPartialFrameBytes ?? 64 * MIB);
    this.inboundHandshakes = new InboundHandshakes(
      {
        connections: this,
        tls: this.tls,
        closing: () => this.closing !== undefined,
        isPeerSource: (ip) => this.peerSources.has(ip),
        report: (error) => this.report(error),
      },
      { total: options.maxPendingHandshakes ?? 64, perSource: options.maxPendingHandshakesPerSource ?? 16 },
    );
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.turnScheduler = options.turnScheduler ?? defaultTransportTurnScheduler;
    this.random = options.random ?? defaultRandom;
    this.reconnectDelay = options.reconnectDelay ?? { min: 50, max: 5000 };
    this.queueLimits = { maxMessages: options.maxQueuedMessages ?? 4096, maxBytes: options.maxQueuedBytes ?? 64 * MIB };
    this.checkLimits();
    for (const [id, address] of Object.entries(options.peers)) this.setPeer(id, address);

    this.server = this.createServer(options);
    this.listened = this.listen(options);
  }

  /** Throws `TransportConfigError` for limits out of range (after the defaults are applied). */
  private checkLimits(): void {
    if (!(this.maxFrameBytes >= HANDSHAKE_MAX_FRAME_BYTES && this.maxFrameBytes <= 0xffff_ffff)) {
      throw new TransportConfigError(`maxFrameBytes must be between ${HANDSHAKE_MAX_FRAME_BYTES} and 2^32 - 1`);
    }
    for (const [name, value] of [
      ['maxPendingHandshakes', this.inboundHandshakes.limits.total],
      ['maxPendingHandshakesPerSource', this.inboundHandshakes.limits.perSource],
      ['maxUnknownPeerFrameBytes', this.maxUnknownPeerFrameBytes],
      ['partialFrameTimeout', this.partialFrameTimeout],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new TransportConfigError(`${name} must be a positive integer, got ${value}`);
    }
    if (!(this.frameBudget.limit >= this.maxFrameBytes)) {
      throw new TransportConfigError(`maxPartialFrameBytes (${this.frameBudget.limit}) must be at least maxFrameBytes (${this.maxFrameBytes})`);
    }
  }

  /** The TCP (or TLS) server, its connections going through the handshake budget. */
  private createServer(options: TcpTransportOptions): net.Server {
    const server: net.Server = options.tls
      ? tls.createServer({
          ...options.tls,
          ca: options.tls.ca as tls.SecureContextOptions['ca'],
          requestCert: true,
          rejectUnauthorized: true,
          handshakeTimeout: this.handshakeTimeout,
        })
      : net.createServer();
    this.inboundHandshakes.attach(server);
    return server;
  }

  /** Starts listening; once bound, connects to the peers (unless `connectOnStart` is false). */
  private listen(options: TcpTransportOptions): Promise<PeerAddress> {
    const listened = new Promise<PeerAddress>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options.listen.port, options.listen.host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as net.AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
    listened.then(
      () => {
        if (options.connectOnStart ?? true) for (const link of this.links.values()) link.connectEagerly();
      },
      (e: Error) => this.report(new PeerConnectionError(`cannot listen: ${e.message}`, `${options.listen.host}:${options.listen.port}`)),
    );
    this.server.on('error', (e: Error) => this.report(new PeerConnectionError(e.message, `${options.listen.host}:${options.listen.port}`)));
    return listened;
  }

  /** Resolves with the bound address once the server listens (rejects if it cannot). */
  listening(): Promise<PeerAddress> {
    return this.listened;
  }

  send(to: NodeId, message: RaftMessage): void {
    this.sendItem(to, message);
  }

  /** @internal Queues an item of this transport's wire (a message, or a host's group message) for `to`. */
  sendItem(to: NodeId, message: unknown): void {
    if (this.closing) return;
    const link = this.links.get(to);
    if (!link) {
      this.report(new PeerConnectionError('no address configured; message dropped', '?', to));
      return;
    }
    link.send(message);
  }

  /** Adds a peer or changes its address (e.g. after a membership change). */
  setPeer(id: NodeId, address: string): void {
    if (id === this.selfId) return;
    const parsed = parseAddress(address);
    const link = this.links.get(id);
    if (link) {
      const wasKnown = link.address !== null;
      link.address = parsed;
      if (!wasKnown) link.setFrameLimit(this.maxFrameBytes); // a member now: full-size frames
    } else {
      this.links.set(id, new PeerLanes(id, parsed, this));
    }
    this.peerSources.update();
  }

  /**
   * The cluster's configuration changed (see `Transport.updatePeers`): adds the members
   * added at run time and follows changed addresses. Peers not listed are kept; an
   * address that does not parse is reported on `errors$` and skipped.
   */
  updatePeers(addresses: Readonly<Record<NodeId, string>>): void {
    for (const [id, address] of Object.entries(addresses)) {
      try {
        this.setPeer(id, address);
      } catch (e) {
        this.report(e instanceof Error ? e : new TransportConfigError(String(e)));
      }
    }
  }

  /** Forgets a peer: closes its connections and drops what was queued for it. */
  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
    this.peerSources.update();
  }

  stats(): TcpTransportStats {
    const peers: Record<NodeId, TcpPeerStats> = {};
    for (const [id, link] of this.links) peers[id] = link.snapshot();
    const budget = this.frameBudget;
    return {
      peers,
      rejected: this.inboundHandshakes.rejected,
      handshakes: this.inboundHandshakes.stats(),
      partialFrames: { bytes: budget.held, peakBytes: budget.peak, budget: budget.limit, overBudget: budget.refusals },
    };
  }

  /** Closes the server and every connection, cancels every timer, completes the streams. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    // Set first: what closing the connections triggers is neither reported nor redialed.
    this.closing = new Promise<void>((resolve) => this.server.close(() => resolve())).then(() => {
      this.inbound.complete();
      this.errors.complete();
      this.lostTo.complete();
    });
    for (const link of this.links.values()) link.close();
    this.inboundHandshakes.close();
    return this.closing;
  }

  // ConnectionHost and LinkHost: called by connections and links.

  acceptsPeer(id: NodeId): boolean {
    return this.links.has(id) || this.options.acceptUnknownPeers === true;
  }

  frameLimitFor(id: NodeId): number {
    return this.links.get(id)?.address ? this.maxFrameBytes : this.maxUnknownPeerFrameBytes;
  }

  handshakeProgressed(connection: Connection): void {
    this.inboundHandshakes.progressed(connection);
  }

  dial(link: PeerLink<unknown>): Connection {
    if (!link.address) throw new Error(`no address to dial ${link.id}`);
    const { host, port } = link.address;
    const tlsOptions = this.options.tls;
    const socket = tlsOptions
      ? tls.connect({
          host,
          port,
          ...tlsOptions,
          ca: tlsOptions.ca as tls.SecureContextOptions['ca'],
          // The certificate must name the node id, checked after the hello (not the host name).
          checkServerIdentity: () => undefined,
        })
      : net.connect({ host, port });
    const connection = new Connection(this, socket, 'dial', link.id, `${host}:${port}`, link.lane);
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => connection.start());
    return connection;
  }

  connectionReady(connection: Connection): void {
    this.inboundHandshakes.ended(connection);
    const id = connection.peerId as NodeId;
    let link = this.links.get(id);
    if (!link && this.options.acceptUnknownPeers && connection.direction === 'accept') {
      // A member this node has no address for: it is reached over its own connection.
      link = new PeerLanes(id, null, this);
      this.links.set(id, link);
    }
    if (!link) connection.close(new HandshakeError('peer was removed', connection.address, connection.peerId));
    else link.connectionReady(connection);
  }

  connectionClosed(connection: Connection): void {
    this.inboundHandshakes.closed(connection);
    const peer = connection.peerId;
    if (peer !== undefined) this.links.get(peer)?.connectionClosed(connection);
  }

  deliver(connection: Connection, envelopes: WireEnvelope | readonly WireEnvelope[], bytes: number): void {
    if (this.closing || connection.peerId === undefined) return;
    this.links.get(connection.peerId)?.received(connection, bytes);
    if (!Array.isArray(envelopes)) this.inbound.next(envelopes as Envelope);
    else for (const envelope of envelopes) if (!this.closing) this.inbound.next(envelope as Envelope);
  }

  drained(connection: Connection): void {
    if (connection.peerId !== undefined) this.links.get(connection.peerId)?.drained(connection);
  }

  report(error: Error): void {
    if (!this.closing) this.errors.next(error);
  }

  /** Reports `peer` on `lost$` at the end of the turn, once however many losses the turn saw (each report reaches every group of a host). */
  lost(peer: NodeId): void {
    if (this.closing || this.lossesDue.has(peer)) return;
    this.lossesDue.add(peer);
    this.turnScheduler.schedule(() => {
      this.lossesDue.delete(peer);
      if (!this.closing) this.lostTo.next(peer);
    });
  }
}
