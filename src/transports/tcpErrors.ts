import { InvalidMessageError, RaftError } from '../errors';
import type { NodeId } from '../messages/types';

/**
 * Errors the TCP transport reports on `errors$`. Each names the remote address
 * (`host:port`) and, once known, the peer's node id. None of them is terminal: the
 * transport closes the one connection concerned and keeps running.
 *
 * @example
 * transport.errors$.subscribe(e => {
 *   if (e instanceof AuthenticationError) log.warn(`rejected ${e.address}: ${e.reason}`);
 * });
 */

/**
 * A frame's length prefix exceeds the limit; the connection was closed before reading it.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof FrameTooLargeError) log.warn(`${e.address}: ${e.length} > ${e.limit} bytes`); });
 */
export class FrameTooLargeError extends RaftError {
  constructor(
    readonly length: number,
    readonly limit: number,
    readonly address: string,
    readonly peerId?: NodeId,
  ) {
    super(`frame of ${length} bytes from ${describe(address, peerId)} exceeds the limit of ${limit} bytes`);
  }
}

/**
 * The connection did not complete the handshake: wrong protocol, cluster or node id, or timeout.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof HandshakeError) log.warn(`${e.address}: ${e.reason}`); }); // e.g. a node of another clusterId
 */
export class HandshakeError extends RaftError {
  constructor(
    readonly reason: string,
    readonly address: string,
    readonly peerId?: NodeId,
  ) {
    super(`handshake with ${describe(address, peerId)} failed: ${reason}`);
  }
}

/**
 * An inbound connection was closed while in its handshake to keep the handshake budget
 * (`maxPendingHandshakes`, `maxPendingHandshakesPerSource`): `evicted` when a newcomer
 * took its place (it was the oldest of the lowest-ranked), `refused` when the newcomer
 * itself ranked below every pending handshake. A `HandshakeError`.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof HandshakeBudgetError) handshakeFlood.inc({ outcome: e.outcome }); });
 */
export class HandshakeBudgetError extends HandshakeError {
  constructor(
    readonly outcome: 'evicted' | 'refused',
    detail: string,
    address: string,
  ) {
    super(`${outcome} to keep the handshake budget (${detail})`, address);
  }
}

/**
 * The remote side failed to prove its identity (wrong secret, untrusted or misnamed certificate).
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof AuthenticationError) log.warn(`rejected ${e.address}: ${e.reason}`); });
 */
export class AuthenticationError extends RaftError {
  constructor(
    readonly reason: string,
    readonly address: string,
    readonly peerId?: NodeId,
  ) {
    super(`authentication of ${describe(address, peerId)} failed: ${reason}`);
  }
}

/**
 * An inbound frame was not a valid message: undecodable bytes, the wrong shape, an unknown
 * type, or a sender that is not the authenticated peer. An `InvalidMessageError`, with the
 * connection it came from.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof InvalidFrameError) log.warn(`${e.peerId ?? e.address}: ${e.reason}`); });
 */
export class InvalidFrameError extends InvalidMessageError {
  constructor(
    reason: string,
    readonly address: string,
    readonly peerId?: NodeId,
  ) {
    super(`${reason} (from ${describe(address, peerId)})`);
  }
}

/**
 * A connection was closed because its partial frame would have taken the bytes held in
 * partial frames, over all connections, past `maxPartialFrameBytes`.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof FrameBudgetExceededError) log.warn(`${e.address}: ${e.bytes} of ${e.budget} bytes`); });
 */
export class FrameBudgetExceededError extends RaftError {
  constructor(
    /** Bytes this connection would have held. */
    readonly bytes: number,
    /** The transport's budget for all connections together. */
    readonly budget: number,
    readonly address: string,
    readonly peerId?: NodeId,
  ) {
    super(`partial frame of ${bytes} bytes from ${describe(address, peerId)} would exceed the budget of ${budget} bytes for partial frames`);
  }
}

/**
 * A connection was closed because its partial frame received no byte for `partialFrameTimeout`.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof FrameStalledError) log.warn(`${e.address}: ${e.bytes} bytes, then ${e.timeout} ms of silence`); });
 */
export class FrameStalledError extends RaftError {
  constructor(
    /** Bytes of the frame that had arrived. */
    readonly bytes: number,
    readonly timeout: number,
    readonly address: string,
    readonly peerId?: NodeId,
  ) {
    super(`frame from ${describe(address, peerId)} stalled: ${bytes} bytes arrived, then nothing for ${timeout} ms`);
  }
}

/**
 * A connection to or from a peer failed or was lost. The transport reconnects on its own.
 *
 * @example
 * transport.errors$.subscribe((e) => { if (e instanceof PeerConnectionError) log.debug(`${e.peerId}: ${e.reason}`); }); // e.g. connect ECONNREFUSED while it restarts
 */
export class PeerConnectionError extends RaftError {
  constructor(
    readonly reason: string,
    readonly address: string,
    readonly peerId?: NodeId,
    cause?: unknown,
  ) {
    super(`connection with ${describe(address, peerId)}: ${reason}`, { cause });
  }
}

/**
 * The transport's options are unusable (thrown by `tcpTransport`, never reported).
 *
 * @example
 * tcpTransport({ id: 'n1', listen: { host: '0.0.0.0', port: 7001 }, peers, clusterId: 'demo' }); // throws: neither secret nor tls
 */
export class TransportConfigError extends RaftError {}

function describe(address: string, peerId: NodeId | undefined): string {
  return peerId === undefined ? address : `${JSON.stringify(peerId).slice(0, 80)} at ${address}`;
}
