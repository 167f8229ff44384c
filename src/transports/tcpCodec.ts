import * as msgpack from 'msgpack-lite';
import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import { blockFor, UnencodedBlock, writeBlock } from '../messages/entryBlocks';
import { readEntryRun } from '../messages/entryRun';
import { ReceivedAppendEntries } from '../messages/receivedAppendEntries';
import type { AppendEntries, Envelope, NodeId, RaftMessage } from '../messages/types';
import { validateMessage } from '../messages/validate';
import { KnownString, readLayoutPayload, writeLayoutPayload } from './tcpLayoutPayload';
import { LAYOUT_BY_CODE, LAYOUT_BY_TYPE, MAP_CODE, SENDER_FIELD } from './tcpLayouts';

/**
 * The body of an RPC frame: the envelope, one msgpack array of four elements
 *
 *     [code, from, to, payload]
 *
 * where `payload` is, for a message type with a positional layout (`tcpLayouts.ts`), the
 * array of its fields in layout order (msgpack-lite encodes and decodes a map with string
 * keys 3–4 times slower than an array of the same values), and for any other message
 * (code 0) the message as a map. Byte fields of map-encoded messages travel as bin.
 *
 * The `entries` of AppendEntries (the last field of its layout) are nil when there are
 * none, else one msgpack bin holding the block made by `encodeEntries`: entries are laid
 * out once, never as one msgpack object each. The block comes from `blockFor`, so a
 * batch written to the leader's log and sent to several followers is encoded once, and it
 * is never copied into an intermediate buffer: an encoded body is a head plus the block
 * itself, or, when the block is not encoded yet, plus the entries, laid out straight into
 * the socket write that carries them (`FrameBatch`, `writeBlock`). A received block is
 * checked whole and kept as a run (`EntryRun`, in a `ReceivedAppendEntries`): a follower
 * appends it to its log and writes it to its write-ahead log as it came, and an entry
 * object is made only where something reads one.
 *
 * The head `[code, from, to` is written from bytes cached per (from, to) pair: the
 * fixarray header, the code as a positive fixint, both ids as msgpack-lite encodes them.
 * The receiver compares those bytes with the ones it expects from the authenticated peer
 * (instead of decoding two strings per message) and decodes only the payload; any other
 * encoding is rejected, with the reason found by decoding the whole body.
 *
 * @example
 * const body = encodeEnvelope('n1', 'n2', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
 * msgpack.decode(body); // [2, 'n1', 'n2', [2, true]]
 * decodeEnvelope(body, 'n1', 'n2').message; // { type: 'RequestVoteResponse', term: 2, voteGranted: true }
 */

/** msgpack fixarray of 4 elements. */
const ENVELOPE = 0x94;

/** The part of msgpack-lite's public `Encoder` used here (its typings omit the constructor). */
interface MsgpackEncoder {
  encode(value: unknown): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
}
const EncoderClass = (msgpack as unknown as { Encoder: new () => MsgpackEncoder }).Encoder;

/**
 * One long-lived encoder: `msgpack.encode` allocates a fresh 2 KiB buffer per call, which
 * costs more than encoding a small message. Each `encode` emits a slice of the shared
 * buffer that later calls never overwrite. Used synchronously only.
 */
const encoder = new EncoderClass();
let encoded: Buffer | undefined;
encoder.on('data', (chunk) => (encoded = chunk));

function encodeValue(value: unknown): Buffer {
  encoder.encode(value);
  const bytes = encoded as Buffer;
  encoded = undefined;
  return bytes;
}

/** No ext types: an unknown ext decodes to an inert object that validation rejects. */
const decodeOptions = { codec: msgpack.createCodec({ preset: false }) };

function decodeValue(bytes: Uint8Array): unknown {
  try {
    return msgpack.decode(bytes, decodeOptions);
  } catch (e) {
    throw new InvalidMessageError(`undecodable msgpack (${String((e as Error)?.message).slice(0, 60)})`);
  }
}

/** An encoded frame body: `head`, then `tail` (an entries block, encoded or to be written where it goes) if any. */
export interface EncodedBody {
  readonly head: Buffer;
  readonly tail: Buffer | UnencodedBlock | undefined;
}

/** The msgpack encodings of two node ids, back to back. */
function addressing(from: NodeId, to: NodeId): Buffer {
  return Buffer.concat([msgpack.encode(from), msgpack.encode(to)]);
}

/**
 * Encodes the messages one node sends to one peer.
 *
 * @example
 * const encoder = new EnvelopeEncoder('n1', 'n2');
 * const { head, tail } = encoder.encode(appendEntries); // tail: the entries block
 */
export class EnvelopeEncoder {
  private readonly addressing: Buffer;
  /** This node's id, which messages naming their sender carry: written from its bytes. */
  private readonly selfString: KnownString;

  constructor(from: NodeId, to: NodeId) {
    this.addressing = addressing(from, to);
    this.selfString = KnownString.of(from);
  }

  /**
   * `payloadBytes`, if known (`tcpPayloadBytes.ts`), spares measuring an entries block
   * again; `encoded`, the message's entries block found when it was sent
   * (`encodedPayload`), is written as it is.
   */
  encode(message: RaftMessage, payloadBytes?: number, encoded?: Buffer): EncodedBody {
    const l = LAYOUT_BY_TYPE.get(message.type);
    if (l === undefined) return this.body(MAP_CODE, encodeValue(bytesAsBuffers(message)), undefined);
    const m = message as unknown as Record<string, unknown>;
    const fields: unknown[] = [];
    let block: Buffer | UnencodedBlock | undefined;
    for (const field of l.fields) {
      if (field === 'quiesce') fields.push(m.quiesce === true); // a flag: always a boolean on the wire
      else if (field !== 'entries') fields.push(m[field]);
      else if ((m.entries as readonly Entry[]).length === 0) fields.push(null);
      else block = encoded ?? blockFor(m.entries as readonly Entry[], payloadBytes);
    }
    return this.body(l.code, writeLayoutPayload(fields, this.selfString) ?? encodeValue(fields), block);
  }

  private body(code: number, payload: Buffer, block: Buffer | UnencodedBlock | undefined): EncodedBody {
    const size = block === undefined ? 0 : block.byteLength;
    const binHeader = block === undefined ? 0 : size < 0x100 ? 2 : size < 0x10000 ? 3 : 5;
    const at = 2 + this.addressing.length;
    const head = Buffer.allocUnsafe(at + payload.length + binHeader);
    head[0] = ENVELOPE;
    head[1] = code;
    this.addressing.copy(head, 2);
    payload.copy(head, at);
    if (block !== undefined) {
      // The payload array gets one more element, the block, written after the head.
      head[at] = payload[0] + 1;
      const end = at + payload.length;
      if (binHeader === 2) head.writeUInt8(size, head.writeUInt8(0xc4, end));
      else if (binHeader === 3) head.writeUInt16BE(size, head.writeUInt8(0xc5, end));
      else head.writeUInt32BE(size, head.writeUInt8(0xc6, end));
    }
    return { head, tail: block };
  }
}

/**
 * Decodes and validates the frames one authenticated peer sends to this node. The
 * envelope's `from` must be the peer and `to` this node; a message naming its sender
 * (`candidateId`, `leaderId`) must name the peer too. Throws `InvalidMessageError`.
 *
 * @example
 * const decoder = new EnvelopeDecoder('n1', 'n2'); // frames from n1 to n2
 * decoder.decode(body); // { from: 'n1', to: 'n2', message }
 */
export class EnvelopeDecoder {
  private readonly addressing: Buffer;
  /** The peer's id, as messages naming their sender carry it: read without decoding a string. */
  private readonly peerString: KnownString;

  constructor(
    private readonly peer: NodeId,
    private readonly self: NodeId,
  ) {
    this.addressing = addressing(peer, self);
    this.peerString = KnownString.of(peer);
  }

  decode(body: Uint8Array): Envelope {
    const expected = this.addressing;
    const start = 2 + expected.length;
    let canonical = body.length > start && body[0] === ENVELOPE && body[1] < 0x80;
    for (let i = 0; canonical && i < expected.length; i++) canonical = body[2 + i] === expected[i];
    if (!canonical) throw this.explain(body);
    const code = body[1];
    const payload = (code !== MAP_CODE && readLayoutPayload(asBuffer(body), start, this.peerString)) || decodeValue(body.subarray(start));
    const message = fromPayload(code, payload);
    const senderField = SENDER_FIELD[message.type];
    if (senderField !== undefined && (message as unknown as Record<string, unknown>)[senderField] !== this.peer) {
      throw new InvalidMessageError(`${senderField} is not the authenticated peer`);
    }
    return { from: this.peer, to: this.self, message };
  }

  /** Why a body does not start as expected. */
  private explain(body: Uint8Array): InvalidMessageError {
    const raw = decodeValue(body);
    if (!Array.isArray(raw) || raw.length !== 4) return new InvalidMessageError('envelope is not [code, from, to, payload]');
    if (raw[1] !== this.peer) return new InvalidMessageError('sender is not the authenticated peer');
    if (raw[2] !== this.self) return new InvalidMessageError('addressed to another node');
    if (raw[0] !== MAP_CODE && !LAYOUT_BY_CODE.has(raw[0])) {
      return new InvalidMessageError(`unknown message code ${JSON.stringify(raw[0])?.slice(0, 20)}`);
    }
    return new InvalidMessageError('non-canonical envelope encoding');
  }
}

/** Encodes one envelope as one buffer (tests and tools; the transport uses `EnvelopeEncoder`). */
export function encodeEnvelope(from: NodeId, to: NodeId, message: RaftMessage): Buffer {
  const { head, tail } = new EnvelopeEncoder(from, to).encode(message);
  if (tail === undefined) return head;
  const body = Buffer.allocUnsafe(head.length + tail.byteLength);
  head.copy(body, 0);
  if (tail instanceof Uint8Array) body.set(tail, head.length);
  else writeBlock(tail, body, head.length);
  return body;
}

/** Decodes one envelope (tests and tools; the transport uses `EnvelopeDecoder`). */
export function decodeEnvelope(body: Uint8Array, peer: NodeId, self: NodeId): Envelope {
  return new EnvelopeDecoder(peer, self).decode(body);
}

function fromPayload(code: number, payload: unknown): RaftMessage {
  if (code === MAP_CODE) {
    const message = ownFields(payload);
    if (message && LAYOUT_BY_TYPE.has(message.type as string)) throw new InvalidMessageError('map-encoded message with a layout');
    return validateMessage(message);
  }
  const l = LAYOUT_BY_CODE.get(code);
  if (l === undefined) throw new InvalidMessageError(`unknown message code ${code}`);
  if (!Array.isArray(payload) || payload.length !== l.fields.length) {
    throw new InvalidMessageError(`${l.type} payload is not an array of ${l.fields.length} fields`);
  }
  const message: Record<string, unknown> = { type: l.type };
  let block: Buffer | undefined;
  for (let i = 0; i < l.fields.length; i++) {
    const field = l.fields[i];
    const value = payload[i];
    if (field === 'quiesce') {
      if (typeof value !== 'boolean') throw new InvalidMessageError('quiesce must be a boolean');
      if (value) message.quiesce = true; // false decodes as absent, as every other AppendEntries is sent
    } else if (field !== 'entries') message[field] = value;
    else if (value !== null && !Buffer.isBuffer(value)) throw new InvalidMessageError('entries must be a binary block or nil');
    else {
      message.entries = NO_ENTRIES; // a block's entries are read below, once the other fields are valid
      block = value ?? undefined;
    }
  }
  const valid = validateMessage(message);
  return block === undefined ? valid : withEntries(valid as AppendEntries, block);
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * Reads the entries block of a valid AppendEntries: checked whole, and every entry where
 * the message puts it (`readEntryRun`: the rules `validateMessage` applies to entries, in
 * the same pass), before the message is handed out. The entries stay a run of the block
 * (`ReceivedAppendEntries`): a follower appends them and writes the block to its log as
 * it came, and objects are made only for what reads them.
 */
function withEntries(message: AppendEntries, block: Buffer): AppendEntries {
  const run = readEntryRun(block, message);
  if (run.length === 0) throw new InvalidMessageError('empty entries block');
  return new ReceivedAppendEntries(message, run);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A copy of a message for msgpack-lite: `Uint8Array`s become Buffers (views), which it
 * writes as bin, and fields set to `undefined` are left out rather than sent as nil.
 */
function bytesAsBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return asBuffer(value);
  }
  if (Array.isArray(value)) return value.map(bytesAsBuffers);
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) if (field !== undefined) copy[key] = bytesAsBuffers(field);
    return copy;
  }
  return value;
}

/** Deepest nesting of a map-encoded message (a cluster configuration inside a snapshot is 3). */
const MAX_DEPTH = 6;

/**
 * A plain copy of a decoded map, own fields only, all the way down. A `__proto__` key in
 * hostile msgpack sets the decoded object's prototype, through which validation would
 * read inherited fields; the copy leaves it behind. Returns undefined for a non-map.
 */
export function ownFields(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) return undefined;
  return plainCopy(value, 0) as Record<string, unknown>;
}

function plainCopy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return value;
  if (depth >= MAX_DEPTH) throw new InvalidMessageError('message nested too deeply');
  if (Array.isArray(value)) return value.map((item) => plainCopy(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key !== '__proto__') copy[key] = plainCopy((value as Record<string, unknown>)[key], depth + 1);
  }
  return copy;
}
