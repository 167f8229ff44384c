import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as msgpack from 'msgpack-lite';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { NodeId } from '../../src/messages/types';
import { FrameReader, joinFrames } from '../../src/transports/tcpFrames';
import { authProof, decodeHandshake, encodeAuth, encodeHello, Lane, NONCE_BYTES, PROTOCOL_NAME, PROTOCOL_VERSION } from '../../src/transports/tcpHandshake';
import type { TcpTransportOptions } from '../../src/transports/tcpOptions';
import { TcpTransport, tcpTransport } from '../../src/transports/tcpTransport';
import type { TransportHarness } from './conformance';

/** Polls `condition` every 5 ms for at most `ms`; throws when it is still false then. */
export async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The next error of `type` that `transport` reports (within 5 s). */
export function nextError<E extends Error>(transport: TcpTransport, type: new (...args: never[]) => E): Promise<E> {
  return firstValueFrom(transport.errors$.pipe(filter((e): e is E => e instanceof type), take(1), timeout(5000)));
}

export const CLUSTER = 'test-cluster';
export const SECRET = 'correct horse battery staple';

/** Extra options per node, e.g. TLS certificates. */
export type NodeOptions = (id: NodeId) => Partial<TcpTransportOptions>;

/**
 * Nodes on 127.0.0.1 with ephemeral ports. A node reopened after `close()` binds the same
 * port again; every open node learns the others' addresses (`setPeer`).
 */
export class TcpNetwork implements TransportHarness {
  readonly ports = new Map<NodeId, number>();
  readonly open$ = new Map<NodeId, TcpTransport>();
  private readonly everything: TcpTransport[] = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly nodeOptions: NodeOptions = () => ({})) {}

  async open(id: NodeId): Promise<TcpTransport> {
    const peers: Record<NodeId, string> = {};
    for (const [other, port] of this.ports) if (other !== id) peers[other] = `127.0.0.1:${port}`;
    const transport = tcpTransport({
      id,
      listen: { host: '127.0.0.1', port: this.ports.get(id) ?? 0 },
      peers,
      clusterId: CLUSTER,
      secret: SECRET,
      reconnectDelay: { min: 20, max: 200 },
      handshakeTimeout: 2000,
      ...this.nodeOptions(id),
    });
    this.everything.push(transport);
    const { port } = await transport.listening();
    this.ports.set(id, port);
    this.open$.set(id, transport);
    for (const [other, t] of this.open$) if (other !== id) t.setPeer(id, `127.0.0.1:${port}`);
    return transport;
  }

  /** Registers a node id with a port nobody listens on (yet). */
  reserve(id: NodeId, port: number): void {
    this.ports.set(id, port);
    for (const [other, t] of this.open$) if (other !== id) t.setPeer(id, `127.0.0.1:${port}`);
  }

  async injectInvalid(from: NodeId, to: NodeId): Promise<void> {
    const peer = await RawPeer.connect(this.ports.get(to) as number, { id: from, secret: SECRET });
    this.sockets.add(peer.socket);
    // Well-formed msgpack and addressing, unknown message code.
    peer.sendRaw(joinFrames([msgpack.encode([99, from, to, []])]));
    await peer.closed;
  }

  /** A raw socket to `to` that completed the handshake as `as`, on `lane` (closed on dispose). */
  async raw(to: NodeId, as: NodeId, secret = SECRET, cluster = CLUSTER, lane: Lane = 'control'): Promise<RawPeer> {
    const peer = await RawPeer.connect(this.ports.get(to) as number, { id: as, secret, cluster, lane });
    this.sockets.add(peer.socket);
    return peer;
  }

  /** A raw socket to `to` with no handshake at all (closed on dispose). */
  async socket(to: NodeId): Promise<net.Socket> {
    const socket = net.connect(this.ports.get(to) as number, '127.0.0.1');
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return socket;
  }

  async dispose(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.everything.map((t) => t.close()));
  }
}

/**
 * A hand-driven peer speaking the wire protocol from a bare socket: completes the dialer
 * side of the handshake with whatever identity and secret it is given, then writes any
 * bytes. Used to play a hostile or buggy peer.
 */
export class RawPeer {
  readonly frames: Buffer[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** `lane`: the lane the hello names (default control); `proofLane`: the one the proof binds (default `lane`). */
  static async connect(
    port: number,
    { id, secret = SECRET, cluster = CLUSTER, lane = 'control', proofLane = lane }: { id: NodeId; secret?: string; cluster?: string; lane?: Lane; proofLane?: Lane },
  ): Promise<RawPeer> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const peer = new RawPeer(socket);
    const nonce = randomBytes(NONCE_BYTES);
    const reader = new FrameReader(1 << 20);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => socket.write(joinFrames([encodeHello(cluster, id, nonce, { name: PROTOCOL_NAME, version: PROTOCOL_VERSION }, lane)])));
      socket.once('close', () => reject(new Error('closed during the handshake')));
      let acceptor: { id: string; nonce: Buffer } | undefined;
      socket.on('data', (chunk: Buffer) =>
        reader.push(chunk, (body) => {
          if (peer.frames.length === 0 && !acceptor) {
            const hello = decodeHandshake(body);
            if (hello.kind === 'hello') acceptor = hello;
            return true;
          }
          if (acceptor && peer.frames.length === 0) {
            peer.frames.push(body); // the acceptor's auth: our turn
            socket.write(joinFrames([encodeAuth(authProof(secret, cluster, id, acceptor.id, acceptor.nonce, nonce, proofLane))]));
            resolve();
            return true;
          }
          peer.frames.push(body);
          return true;
        }),
      );
    });
    return peer;
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
}
