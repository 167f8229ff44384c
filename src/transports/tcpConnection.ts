import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SchedulerLike, Subscription } from 'rxjs';
import { InvalidMessageError } from '../errors';
import type { NodeId } from '../messages/types';
import {
  AuthenticationError,
  FrameBudgetExceededError,
  FrameStalledError,
  FrameTooLargeError,
  HandshakeError,
  InvalidFrameError,
  PeerConnectionError,
} from './tcpErrors';
import type { FrameBudget } from './tcpFrameBudget';
import { FrameLimitExceeded, FrameReader, joinFrames } from './tcpFrames';
import {
  Auth,
  authProof,
  certificateNames,
  decodeHandshake,
  encodeAuth,
  encodeHello,
  HANDSHAKE_MAX_FRAME_BYTES,
  Hello,
  Lane,
  NONCE_BYTES,
  proofMatches,
} from './tcpHandshake';
import type { TcpWire, WireDecoder, WireEnvelope } from './tcpWire';

/** What a connection needs from the transport that owns it. */
export interface ConnectionHost {
  /** The protocol spoken after the handshake, and how frames are read. */
  readonly wire: TcpWire<unknown>;
  readonly selfId: NodeId;
  readonly clusterId: string;
  readonly secret: string | Uint8Array | undefined;
  /** Whether sockets are TLS sockets whose peer certificate names the peer. */
  readonly tls: boolean;
  readonly handshakeTimeout: number;
  /** Bytes held in partial frames, over every connection of the transport. */
  readonly frameBudget: FrameBudget;
  /** A partial frame that receives nothing for this long closes its connection. */
  readonly partialFrameTimeout: number;
  readonly scheduler: SchedulerLike;
  /** Whether an authenticated peer claiming `id` may connect (a configured peer, or anyone with acceptUnknownPeers). */
  acceptsPeer(id: NodeId): boolean;
  /** The largest frame accepted from `id` once authenticated (smaller for peers that are not configured members). */
  frameLimitFor(id: NodeId): number;
  /** An accepted connection sent a valid hello naming a peer this node accepts (not yet proven). */
  handshakeProgressed(connection: Connection): void;
  /** The connection authenticated its peer and may carry RPCs. */
  connectionReady(connection: Connection): void;
  /** The connection is gone (called once, whatever the reason). */
  connectionClosed(connection: Connection): void;
  /** A frame of validated envelopes arrived (one, or a host's several); `bytes` is the frame's size. */
  deliver(connection: Connection, envelopes: WireEnvelope | readonly WireEnvelope[], bytes: number): void;
  /** The socket can take more writes. */
  drained(connection: Connection): void;
  report(error: Error): void;
}

type State = 'connecting' | 'awaitHello' | 'awaitAuth' | 'ready' | 'closed';

/**
 * One socket to or from a peer: runs the handshake (see `tcpHandshake.ts`) under a
 * timeout, then turns frames into validated envelopes. Anything wrong (bad bytes, an
 * oversized frame, a failed handshake, a sender that is not the authenticated peer)
 * closes this connection and is reported; the transport keeps running.
 *
 * `direction` is who opened it; once ready, either direction carries messages both ways.
 * `lane` is which of the two connections between the peers it is (`Lane`): the dialer
 * chooses it, the hello names it and the proof binds it.
 *
 * @example
 * const connection = new Connection(host, net.connect(port, '127.0.0.1'), 'dial', 'n2', undefined, 'bulk');
 * // ... host.connectionReady(connection) once n2 proved itself, then:
 * if (connection.writable) connection.write(batch.toBuffer());
 */
export class Connection {
  /** The authenticated (or, while dialing, expected) peer. */
  peerId: NodeId | undefined;
  /** The lane: the dialer's choice; on an accepted connection, what its hello named (control until then). */
  lane: Lane;
  readonly address: string;
  private state: State;
  private readonly reader = new FrameReader(HANDSHAKE_MAX_FRAME_BYTES);
  private readonly nonce = randomBytes(NONCE_BYTES);
  private peerNonce: Buffer | undefined;
  private handshakeTimer: Subscription | undefined;
  private decoder: WireDecoder | undefined;
  /** Bytes of a partial frame counted in `host.frameBudget`. Invariant: equals `reader.held` between callbacks, 0 once closed. */
  private held = 0;
  /** When the last byte of the current partial frame arrived (scheduler time). */
  private lastProgress = 0;
  /** Runs while a partial frame is held: closes the connection if it stalls. */
  private stallTimer: Subscription | undefined;

  constructor(
    private readonly host: ConnectionHost,
    private readonly socket: Socket,
    readonly direction: 'dial' | 'accept',
    expectedPeer?: NodeId,
    address?: string,
    lane: Lane = 'control',
  ) {
    this.peerId = expectedPeer;
    this.lane = lane;
    this.address = address ?? `${socket.remoteAddress}:${socket.remotePort}`;
    this.state = direction === 'dial' ? 'connecting' : 'awaitHello';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.state === 'ready' && host.drained(this));
    socket.on('error', (error: NodeJS.ErrnoException) => this.close(this.socketError(error)));
    socket.on('close', () => this.close(this.closeError()));
    this.handshakeTimer = host.scheduler.schedule(
      () => this.close(new HandshakeError(`not completed within ${host.handshakeTimeout} ms`, this.address, this.peerId)),
      host.handshakeTimeout,
    );
  }

  /** Dialer only: the socket connected (and, with TLS, completed the TLS handshake). */
  start(): void {
    if (this.state !== 'connecting') return;
    this.state = 'awaitHello';
    this.writeFrames([this.ownHello()]);
  }

  /** Ready and not backpressured: a write now goes to the kernel without piling up. */
  get writable(): boolean {
    return this.state === 'ready' && !this.socket.writableNeedDrain;
  }

  /** Raises the largest frame accepted from the peer (it became a configured member). */
  setFrameLimit(limit: number): void {
    if (this.state === 'ready') this.reader.setLimit(limit);
  }

  /**
   * Writes frames (a `FrameBatch`'s `toBuffer()`, or its `toBuffers()` as one corked
   * write); false when the socket asks to wait for `drained`.
   */
  write(frames: Buffer | readonly Buffer[]): boolean {
    if (Buffer.isBuffer(frames)) return this.socket.write(frames);
    if (frames.length === 1) return this.socket.write(frames[0]);
    this.socket.cork();
    let more = true;
    for (const buffer of frames) more = this.socket.write(buffer);
    this.socket.uncork();
    return more;
  }

  /** Closes the socket, reporting `error` if given. Idempotent. */
  close(error?: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handshakeTimer?.unsubscribe();
    this.handshakeTimer = undefined;
    this.stallTimer?.unsubscribe();
    this.stallTimer = undefined;
    this.host.frameBudget.release(this.held);
    this.held = 0;
    this.socket.destroy();
    if (error) this.host.report(error);
    this.host.connectionClosed(this);
  }

  private writeFrames(bodies: Buffer[]): void {
    this.socket.write(joinFrames(bodies));
  }

  private receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    try {
      this.reader.push(chunk, (body) => this.frame(body));
    } catch (e) {
      if (e instanceof FrameLimitExceeded) {
        this.close(new FrameTooLargeError(e.length, e.limit, this.address, this.peerId));
      } else {
        // A bug, not the peer's doing; still never let it escape into the socket's handler.
        this.close(new PeerConnectionError(`internal error: ${(e as Error)?.message}`, this.address, this.peerId, e));
      }
    }
    if ((this.state as State) !== 'closed') this.holdPartialFrame(); // a frame handler may have closed it
  }

  /**
   * Accounts the memory the partial frame now holds (the reader allocates it as bytes
   * arrive, never from the length prefix) against the transport's budget, closing the
   * connection when the budget cannot take it, and watches for a stall.
   */
  private holdPartialFrame(): void {
    const held = this.reader.held;
    if (held > this.held) {
      if (!this.host.frameBudget.tryHold(held - this.held)) {
        this.close(new FrameBudgetExceededError(held, this.host.frameBudget.limit, this.address, this.peerId));
        return;
      }
    } else {
      this.host.frameBudget.release(this.held - held);
    }
    this.held = held;
    if (held === 0) return;
    this.lastProgress = this.host.scheduler.now();
    this.stallTimer ??= this.host.scheduler.schedule(() => this.checkStall(), this.host.partialFrameTimeout);
  }

  private checkStall(): void {
    this.stallTimer = undefined;
    if (this.state === 'closed' || this.reader.buffered === 0) return;
    const timeout = this.host.partialFrameTimeout;
    const left = this.lastProgress + timeout - this.host.scheduler.now();
    if (left > 0) this.stallTimer = this.host.scheduler.schedule(() => this.checkStall(), left);
    else this.close(new FrameStalledError(this.reader.buffered, timeout, this.address, this.peerId));
  }

  /** Handles one frame; returns whether to keep reading. */
  private frame(body: Buffer): boolean {
    if (this.state === 'ready') {
      let envelope: WireEnvelope | readonly WireEnvelope[];
      try {
        envelope = (this.decoder as WireDecoder).decode(body);
      } catch (e) {
        const reason = e instanceof InvalidMessageError ? e.reason : String(e);
        this.close(new InvalidFrameError(reason, this.address, this.peerId));
        return false;
      }
      this.host.deliver(this, envelope, body.length + 4);
      return this.state === 'ready';
    }
    let frame: Hello | Auth;
    try {
      frame = decodeHandshake(body);
    } catch (e) {
      this.close(new HandshakeError((e as Error).message, this.address, this.peerId));
      return false;
    }
    if (this.state === 'awaitHello' && frame.kind === 'hello') this.hello(frame);
    else if (this.state === 'awaitAuth' && frame.kind === 'auth') this.auth(frame);
    else this.close(new HandshakeError(`unexpected ${frame.kind} frame`, this.address, this.peerId));
    return this.state !== 'closed';
  }

  private hello(hello: Hello): void {
    const host = this.host;
    const fail = (reason: string) => this.close(new HandshakeError(reason, this.address, hello.id));
    const wire = host.wire;
    if (hello.protocol !== wire.protocol) return fail(`protocol ${hello.protocol}, expected ${wire.protocol} (a host of Raft groups and a single node do not connect)`);
    if (hello.version !== wire.version) return fail(`protocol version ${hello.version}, expected ${wire.version}`);
    if (hello.cluster !== host.clusterId) return fail(`cluster ${JSON.stringify(hello.cluster)}`);
    if (hello.id === host.selfId) return fail('claims to be this node');
    if (this.direction === 'dial' && hello.id !== this.peerId) return fail(`expected ${this.peerId}`);
    if (this.direction === 'accept' && !host.acceptsPeer(hello.id)) return fail('not a configured peer');
    if (this.direction === 'dial' && hello.lane !== this.lane) return fail(`answered for the ${hello.lane} lane, dialed the ${this.lane} lane`);
    if (host.tls) {
      const socket = this.socket as TLSSocket;
      if (!socket.authorized) {
        return this.close(new AuthenticationError(`certificate: ${socket.authorizationError}`, this.address, hello.id));
      }
      const names = certificateNames(socket.getPeerCertificate());
      if (!names.includes(hello.id)) {
        return this.close(
          new AuthenticationError(`certificate names ${JSON.stringify(names).slice(0, 120)}`, this.address, hello.id),
        );
      }
    }
    this.peerId = hello.id;
    this.peerNonce = hello.nonce;
    this.lane = hello.lane;
    if (this.direction === 'accept') host.handshakeProgressed(this);
    const auth = encodeAuth(this.proof(host.selfId, hello.id, hello.nonce, this.nonce));
    this.writeFrames(this.direction === 'accept' ? [this.ownHello(), auth] : [auth]);
    this.state = 'awaitAuth';
  }

  private auth(auth: Auth): void {
    const peer = this.peerId as NodeId;
    const expected = this.proof(peer, this.host.selfId, this.nonce, this.peerNonce as Buffer);
    if (!proofMatches(expected, auth.proof)) {
      this.close(new AuthenticationError('wrong proof of the cluster secret', this.address, peer));
      return;
    }
    this.state = 'ready';
    this.decoder = this.host.wire.decoder(peer, this.host.selfId);
    this.handshakeTimer?.unsubscribe();
    this.handshakeTimer = undefined;
    this.reader.setLimit(this.host.frameLimitFor(peer));
    this.host.connectionReady(this);
  }

  /** This side's hello, naming its protocol. */
  private ownHello(): Buffer {
    const { wire, clusterId, selfId } = this.host;
    return encodeHello(clusterId, selfId, this.nonce, { name: wire.protocol, version: wire.version }, this.lane);
  }

  /** What `sender` must present to `receiver`; empty without a secret (TLS identifies). */
  private proof(sender: NodeId, receiver: NodeId, receiverNonce: Buffer, senderNonce: Buffer): Buffer {
    const secret = this.host.secret;
    if (secret === undefined) return Buffer.alloc(0);
    return authProof(secret, this.host.clusterId, sender, receiver, receiverNonce, senderNonce, this.lane);
  }

  private socketError(error: NodeJS.ErrnoException): Error {
    const code = error.code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/.test(code) || /certificate|alert/i.test(error.message)) {
      return new AuthenticationError(error.message, this.address, this.peerId);
    }
    return new PeerConnectionError(error.message, this.address, this.peerId, error);
  }

  /** Why a socket that closed on its own is a problem, if it is. */
  private closeError(): Error | undefined {
    if (this.reader.buffered > 0) {
      return new InvalidFrameError(`closed inside a frame (${this.reader.buffered} bytes)`, this.address, this.peerId);
    }
    if (this.state === 'awaitHello' || this.state === 'awaitAuth') {
      return new HandshakeError('closed by the remote side during the handshake', this.address, this.peerId);
    }
    if (this.state === 'connecting') return new PeerConnectionError('closed before connecting', this.address, this.peerId);
    return undefined;
  }
}
