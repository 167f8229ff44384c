import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { HostAliveEnvelope } from '../messages/liveness';
import { EnvelopeDecoder, EnvelopeEncoder } from './tcpCodec';
import type { FrameBatch } from './tcpFrames';
import { PROTOCOL_NAME, PROTOCOL_VERSION } from './tcpHandshake';
import { encodedPayload, payloadBytes } from './tcpPayloadBytes';

/**
 * What travels in the RPC frames of a TCP connection, after the handshake: how the items
 * a transport sends (`T`) become frames, and frames become validated envelopes. Two
 * wires exist: a node's (`NODE_WIRE`: one message per frame, `tcpCodec.ts`) and a host
 * of groups' (`HOST_WIRE`: the messages of one turn, of any groups, in one frame,
 * `tcpGroupedCodec.ts`). They name different protocols in the hello, so a node and a
 * host refuse each other at the handshake.
 *
 * @example
 * const encoder = NODE_WIRE.encoder('n1', 'n2');
 * const batch = new FrameBatch();
 * encoder.encode([heartbeat, vote], batch, 16 << 20, (size) => report(size)); // two frames
 */
export interface TcpWire<T> {
  /** The protocol name and version the hello carries. */
  readonly protocol: string;
  readonly version: number;
  /**
   * Bytes an item carries beyond a few numbers and ids (entries, snapshot data): > 0 puts
   * it in the outbox's bulk lane. For an AppendEntries, the size of its entries block.
   */
  payloadBytes(item: T): number;
  /**
   * The item's payload already encoded, if so (`encodedPayload`), kept with it in the
   * outbox and handed back to `encode`; its length is then the item's `payloadBytes`.
   */
  encodedPayload(item: T): Buffer | undefined;
  encoder(self: NodeId, peer: NodeId): WireEncoder<T>;
  decoder(peer: NodeId, self: NodeId): WireDecoder;
}

/** Lays out a peer's items as frames. */
export interface WireEncoder<T> {
  /**
   * Adds `items` to `batch` as frames of at most `maxFrameBytes`; an item that cannot fit
   * one is left out and its size passed to `tooLarge`. `sizes`, if given, holds each item's
   * `payloadBytes`, so that entries blocks are not measured again; `encoded`, if given,
   * each item's `encodedPayload` (or undefined), written as it is.
   */
  encode(
    items: readonly T[],
    batch: FrameBatch,
    maxFrameBytes: number,
    tooLarge: (size: number) => void,
    sizes?: readonly number[],
    encoded?: readonly (Buffer | undefined)[],
  ): void;
}

/**
 * What a wire's decoder delivers: a Raft message's envelope, or a host liveness message's.
 *
 * @example
 * const isLiveness = (e: WireEnvelope): e is HostAliveEnvelope => e.message.type === 'HostAlive';
 */
export type WireEnvelope = Envelope | HostAliveEnvelope;

/** Reads a peer's frames. */
export interface WireDecoder {
  /** The validated envelopes of one frame body (a host's wire also has liveness messages). Throws `InvalidMessageError` (the whole frame is refused). */
  decode(body: Buffer): WireEnvelope | readonly WireEnvelope[];
}

/** A single node's wire: one `RaftMessage` per frame (see `tcpCodec.ts`). */
export const NODE_WIRE: TcpWire<RaftMessage> = {
  protocol: PROTOCOL_NAME,
  version: PROTOCOL_VERSION,
  payloadBytes,
  encodedPayload,
  encoder(self, peer) {
    const envelopes = new EnvelopeEncoder(self, peer);
    return {
      encode(items, batch, maxFrameBytes, tooLarge, sizes, encoded) {
        for (let i = 0; i < items.length; i++) {
          const { head, tail } = envelopes.encode(items[i], sizes?.[i], encoded?.[i]);
          const size = head.length + (tail === undefined ? 0 : tail.byteLength);
          if (size > maxFrameBytes) tooLarge(size);
          else batch.add(head, tail);
        }
      },
    };
  },
  decoder: (peer, self) => new EnvelopeDecoder(peer, self),
};
