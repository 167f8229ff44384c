import { InvalidMessageError } from '../messages/errors';
import { GroupId, groupIdProblem } from '../messages/groupId';
import { decodeHostAlive, encodeHostAlive, HostAlive, HostAliveEnvelope } from '../messages/liveness';
import type { NodeId, RaftMessage } from '../messages/types';
import type { GroupEnvelope } from './hostTransport';
import { EnvelopeDecoder, EnvelopeEncoder } from './tcpCodec';
import type { BodyPart, FrameBatch } from './tcpFrames';
import { HOST_PROTOCOL_NAME, HOST_PROTOCOL_VERSION } from './tcpHandshake';
import { encodedPayload, payloadBytes } from './tcpPayloadBytes';
import type { TcpWire, WireDecoder, WireEncoder } from './tcpWire';

/** A message of one Raft group, as a host sends it to another host. */
export interface GroupMessage {
  readonly group: GroupId;
  readonly message: RaftMessage;
}

/** What a host sends another: a group's message, or a host liveness message (no group). */
export type HostItem = GroupMessage | { readonly alive: HostAlive };

/** First byte of a grouped frame: 0xc1, a byte msgpack never uses, so it is never taken for a node's envelope. */
export const GROUPED_FRAME = 0xc1;
const MARKER = Buffer.from([GROUPED_FRAME]);
/** Bytes of an item besides its group id and envelope: the group id's length (u8) and the envelope's (u32). */
const ITEM_OVERHEAD = 5;

/**
 * The RPC frame of a host of Raft groups: the messages of one turn (one outbox batch)
 * for one peer host, of any groups, in one frame.
 *
 *     | 0xc1 | item | item | ...        (at least one item)
 *     item: | u8 n | group id (n bytes, ASCII) | u32 length | envelope (length bytes) |
 *
 * An item with no group id (n = 0) is a host liveness message (`HostAlive`) in its fixed
 * layout (`encodeHostAlive`) instead of an envelope, checked as strictly.
 *
 * The envelope is a node's (`tcpCodec.ts`), addressed from host to host, its entries
 * block written as is. The decoder checks every item before any is delivered: the group
 * id against `groupIdProblem`, both lengths against the bytes that remain, the envelope
 * as `EnvelopeDecoder` does (sender, addressee, every field). Anything wrong refuses the
 * whole frame with an `InvalidMessageError`. Whether this host runs the group is not the
 * codec's business (the host drops and reports a message of a group it does not run).
 *
 * @example
 * const batch = new FrameBatch();
 * new GroupedEncoder('h1', 'h2').encode([{ group: 'g1', message: vote }, { group: 'g2', message: heartbeat }], batch, 16 << 20, report);
 * batch.frames; // 1
 * new GroupedDecoder('h1', 'h2').decode(body); // [{ group: 'g1', from: 'h1', to: 'h2', message: vote }, ...]
 */
export class GroupedEncoder implements WireEncoder<HostItem> {
  private readonly envelopes: EnvelopeEncoder;

  constructor(self: NodeId, peer: NodeId) {
    this.envelopes = new EnvelopeEncoder(self, peer);
  }

  encode(
    items: readonly HostItem[],
    batch: FrameBatch,
    maxFrameBytes: number,
    tooLarge: (size: number) => void,
    sizes?: readonly number[],
    encoded?: readonly (Buffer | undefined)[],
  ): void {
    let parts: BodyPart[] = [MARKER];
    let size = MARKER.length;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const group = 'group' in item ? item.group : '';
      const { head, tail } = 'group' in item ? this.envelopes.encode(item.message, sizes?.[i], encoded?.[i]) : { head: encodeHostAlive(item.alive), tail: undefined };
      const envelopeBytes = head.length + (tail === undefined ? 0 : tail.byteLength);
      const itemHead = Buffer.allocUnsafe(ITEM_OVERHEAD + group.length);
      itemHead[0] = group.length;
      itemHead.write(group, 1, 'latin1');
      itemHead.writeUInt32BE(envelopeBytes, 1 + group.length);
      const itemBytes = itemHead.length + envelopeBytes;
      if (MARKER.length + itemBytes > maxFrameBytes) {
        tooLarge(MARKER.length + itemBytes);
        continue;
      }
      if (size + itemBytes > maxFrameBytes) {
        batch.addParts(parts);
        parts = [MARKER];
        size = MARKER.length;
      }
      parts.push(itemHead, head);
      if (tail !== undefined) parts.push(tail);
      size += itemBytes;
    }
    if (parts.length > 1) batch.addParts(parts);
  }
}

/** Reads the grouped frames one authenticated host sends to this one (see `GroupedEncoder`). */
export class GroupedDecoder implements WireDecoder {
  private readonly envelopes: EnvelopeDecoder;

  constructor(
    private readonly peer: NodeId,
    private readonly self: NodeId,
  ) {
    this.envelopes = new EnvelopeDecoder(peer, self);
  }

  decode(body: Buffer): (GroupEnvelope | HostAliveEnvelope)[] {
    if (body.length === 0 || body[0] !== GROUPED_FRAME) throw new InvalidMessageError('not a grouped frame');
    if (body.length === MARKER.length) throw new InvalidMessageError('grouped frame without messages');
    const out: (GroupEnvelope | HostAliveEnvelope)[] = [];
    for (let at = MARKER.length; at < body.length; ) {
      const n = body[at];
      const start = at + ITEM_OVERHEAD + n;
      if (start > body.length) throw new InvalidMessageError(`grouped frame truncated inside an item header at byte ${at}`);
      if (n === 0) {
        const end = start + body.readUInt32BE(at + 1);
        if (end > body.length) throw new InvalidMessageError('grouped frame truncated inside a host liveness item');
        out.push({ from: this.peer, to: this.self, message: decodeHostAlive(body.subarray(start, end)) });
        at = end;
        continue;
      }
      const group = body.toString('latin1', at + 1, at + 1 + n);
      const problem = groupIdProblem(group);
      if (problem !== null) throw new InvalidMessageError(`${problem}, got ${JSON.stringify(group.slice(0, 70))}`);
      const end = start + body.readUInt32BE(at + 1 + n);
      if (end > body.length) throw new InvalidMessageError(`grouped frame truncated inside the message of group ${group}`);
      const { from, to, message } = this.envelopes.decode(body.subarray(start, end));
      out.push({ from, to, group, message });
      at = end;
    }
    return out;
  }
}

/** A host's wire: grouped frames, under the `rxraft-host` protocol. */
export const HOST_WIRE: TcpWire<HostItem> = {
  protocol: HOST_PROTOCOL_NAME,
  version: HOST_PROTOCOL_VERSION,
  payloadBytes: (item) => ('group' in item ? payloadBytes(item.message) : 0),
  encodedPayload: (item) => ('group' in item ? encodedPayload(item.message) : undefined),
  encoder: (self, peer) => new GroupedEncoder(self, peer),
  decoder: (peer, self) => new GroupedDecoder(peer, self),
};
