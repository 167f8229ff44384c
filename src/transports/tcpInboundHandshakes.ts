/**
 * Inbound connections of a TCP transport until they authenticate: each accepted socket
 * takes a place in the handshake budget (its TLS handshake included), and gives it back
 * once its rxraft handshake ends, one way or the other.
 */
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { normalizeIp } from './tcpAddress';
import { Connection, ConnectionHost } from './tcpConnection';
import { AuthenticationError, HandshakeBudgetError } from './tcpErrors';
import { HandshakeBudget, HandshakeLimits, PendingHandshake } from './tcpHandshakeBudget';

/** An inbound connection in its handshake: its place in the budget, and its `Connection` once there is one (TLS: after the TLS handshake). */
interface Handshake extends PendingHandshake {
  connection: Connection | undefined;
}

/** What `InboundHandshakes` needs of its transport. */
export interface InboundHost {
  /** The host of the inbound `Connection`s (the transport). */
  readonly connections: ConnectionHost;
  /** Whether sockets are TLS sockets (the rxraft handshake starts once TLS's is done). */
  readonly tls: boolean;
  /** Whether the transport is closing: sockets accepted then are destroyed at once. */
  closing(): boolean;
  /** Whether `ip` is a configured peer's address (its handshakes rank higher). */
  isPeerSource(ip: string): boolean;
  /** Reports an error on the transport's `errors$`. */
  report(error: Error): void;
}

/**
 * The server side of a TCP transport before authentication. Listens to the server's
 * raw sockets (`attach`), admits each into a `HandshakeBudget` — evicting a weaker
 * pending handshake, or refusing the newcomer — and makes an accepting `Connection` of
 * it; the transport calls `ended`/`closed` when that connection is ready or gone.
 *
 * @example
 * const inbound = new InboundHandshakes(host, { total: 64, perSource: 16 });
 * inbound.attach(server);        // every accepted socket now goes through the budget
 * inbound.stats();               // { pending: 0, evicted: 0, refused: 0 }
 * inbound.close();               // closes what is still in its handshake
 */
export class InboundHandshakes {
  /** Inbound connections closed before or during the handshake, or for bad input. */
  rejected = 0;
  private readonly budget: HandshakeBudget;
  /** Inbound connections in their handshake, by connection. */
  private readonly handshakes = new Map<Connection, Handshake>();
  /** TLS only: inbound connections in their TLS handshake, by `address:port`. */
  private readonly tlsHandshakes = new Map<string, Handshake>();
  /** Every raw socket the server accepted, TLS handshake or not, to destroy on close. */
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly host: InboundHost,
    limits: HandshakeLimits,
  ) {
    this.budget = new HandshakeBudget(limits);
  }

  /** The budget's limits (`maxPendingHandshakes`, `maxPendingHandshakesPerSource`). */
  get limits(): HandshakeLimits {
    return this.budget.limits;
  }

  /** Connections in their handshake now, and how many were evicted and refused so far. */
  stats(): { readonly pending: number; readonly evicted: number; readonly refused: number } {
    return { pending: this.budget.size, evicted: this.budget.evictions, refused: this.budget.refusals };
  }

  /** Takes every socket `server` accepts through the budget (with TLS, its TLS handshake too). */
  attach(server: net.Server): void {
    // Raw sockets, before any TLS handshake: the handshake budget covers TLS handshakes too.
    server.on('connection', (socket: net.Socket) => this.admit(socket));
    if (this.host.tls) {
      server.on('secureConnection', (socket: tls.TLSSocket) => this.secured(socket));
      server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
        this.rejected++;
        this.host.report(new AuthenticationError(error.message, `${socket.remoteAddress}:${socket.remotePort}`));
      });
    }
  }

  /** An accepted connection sent a valid hello naming a peer this node accepts (it ranks higher now). */
  progressed(connection: Connection): void {
    const handshake = this.handshakes.get(connection);
    if (handshake) handshake.progressed = true;
  }

  /** The handshake of `connection` ended (ready or closed): frees its place. Whether it was pending. */
  ended(connection: Connection): boolean {
    const handshake = this.handshakes.get(connection);
    if (!handshake) return false;
    this.handshakes.delete(connection);
    this.budget.release(handshake);
    return true;
  }

  /** `connection` closed: if it was still in its handshake, it counts as rejected. */
  closed(connection: Connection): void {
    if (this.ended(connection)) this.rejected++;
  }

  /** Closes every connection still in its handshake and destroys every socket accepted. */
  close(): void {
    for (const connection of [...this.handshakes.keys()]) connection.close();
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * A socket was accepted (before any TLS handshake): it takes a place in the handshake
   * budget, possibly evicting a weaker pending handshake, or is refused.
   */
  private admit(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.host.closing()) {
      socket.destroy();
      return;
    }
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const source = normalizeIp(socket.remoteAddress ?? '');
    const handshake: Handshake = {
      source,
      peerSource: this.host.isPeerSource(source),
      progressed: false,
      connection: undefined,
      evict: () => {
        const error = new HandshakeBudgetError('evicted', `a newer connection needed its place; ${this.budget.size} pending`, address);
        if (handshake.connection) return handshake.connection.close(error);
        this.tlsHandshakes.delete(address);
        this.rejected++;
        this.host.report(error);
        socket.destroy();
      },
    };
    const admission = this.budget.admit(handshake);
    if (!admission.admitted) {
      this.rejected++;
      this.host.report(new HandshakeBudgetError('refused', admission.reason, address));
      socket.destroy();
      return;
    }
    if (this.host.tls) {
      this.tlsHandshakes.set(address, handshake);
      socket.once('close', () => {
        if (this.tlsHandshakes.get(address) === handshake) this.tlsHandshakes.delete(address);
        if (!handshake.connection) this.budget.release(handshake);
      });
    } else {
      this.start(handshake, socket);
    }
  }

  /** TLS only: the TLS handshake of an admitted socket completed; the rxraft handshake follows. */
  private secured(socket: tls.TLSSocket): void {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const handshake = this.tlsHandshakes.get(address);
    this.tlsHandshakes.delete(address);
    if (this.host.closing() || !handshake) {
      socket.destroy(); // evicted meanwhile
      return;
    }
    this.start(handshake, socket);
  }

  private start(handshake: Handshake, socket: net.Socket): void {
    const connection = new Connection(this.host.connections, socket, 'accept');
    handshake.connection = connection;
    this.handshakes.set(connection, handshake);
  }
}
