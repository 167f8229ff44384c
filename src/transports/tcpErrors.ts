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

/** A frame's length prefix exceeds the limit; the connection was closed before reading it. */
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

/** The connection did not complete the handshake: wrong protocol, cluster or node id, or timeout. */
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

/** The remote side failed to prove its identity (wrong secret, untrusted or misnamed certificate). */
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

/** A connection was closed because its partial frame received no byte for `partialFrameTimeout`. */
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

/** A connection to or from a peer failed or was lost. The transport reconnects on its own. */
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

/** The transport's options are unusable (thrown by `tcpTransport`, never reported). */
export class TransportConfigError extends RaftError {}

function describe(address: string, peerId: NodeId | undefined): string {
  return peerId === undefined ? address : `${JSON.stringify(peerId).slice(0, 80)} at ${address}`;
}
