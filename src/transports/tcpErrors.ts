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
