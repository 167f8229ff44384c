import * as msgpack from 'msgpack-lite';
import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import { decodeEntries, encodeEntries } from '../messages/entryCodec';
import type { Envelope, MessageType, NodeId, RaftMessage } from '../messages/types';
import { validateMessage } from '../messages/validate';

/**
 * The body of an RPC frame: one msgpack array, the envelope. Frequent messages have a
 * positional layout, a type code then their fields in a fixed order (msgpack-lite
 * encodes and decodes a map with string keys 3–4 times slower than an array of the same
 * values); any other message travels as a map:
 *
 *     [code, from, to, ...fields of LAYOUTS[code]]     e.g. RequestVoteResponse: [2, from, to, term, voteGranted]
 *     [0, from, to, { type, ...fields }]               messages without a layout (ProposeRequest)
 *
 * The `entries` of AppendEntries (always its last field) are nil when there are none,
 * else one msgpack bin holding the block made by `encodeEntries`: entries are laid out
 * once, never as one msgpack object each. The block is cached per entries array, so a
 * batch sent to several followers is encoded once. Byte fields of map-encoded messages
 * travel as msgpack bin.
 *
 * @example
 * const body = encodeEnvelope('n1', 'n2', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
 * decodeEnvelope(body, 'n1', 'n2').message; // { type: 'RequestVoteResponse', term: 2, voteGranted: true }
 */

type MessageOf<T extends MessageType> = Extract<RaftMessage, { type: T }>;
type FieldOf<T extends MessageType> = Exclude<keyof MessageOf<T>, 'type'> & string;

interface Layout {
  readonly code: number;
  readonly type: MessageType;
  readonly fields: readonly string[];
}

/**
 * A positional layout. It must list every field of the message type: adding a field to
 * a message without adding it here is a compile error (`missingFields`), not a field
 * silently lost on the wire.
 */
function layout<T extends MessageType, const F extends readonly FieldOf<T>[]>(
  code: number,
  type: T,
  fields: F & ([Exclude<FieldOf<T>, F[number]>] extends [never] ? unknown : { missingFields: Exclude<FieldOf<T>, F[number]> }),
): Layout {
  return { code, type, fields };
}

const OTHER = 0;
/** Codes are part of the wire format: never reuse or renumber one. */
const LAYOUTS: readonly Layout[] = [
  layout(1, 'RequestVote', ['term', 'candidateId', 'lastLogIndex', 'lastLogTerm']),
  layout(2, 'RequestVoteResponse', ['term', 'voteGranted']),
  layout(3, 'AppendEntries', ['term', 'leaderId', 'prevLogIndex', 'prevLogTerm', 'leaderCommit', 'seq', 'entries']),
  layout(4, 'AppendEntriesResponse', ['term', 'success', 'matchIndex', 'rejectedIndex', 'conflictIndex', 'conflictTerm', 'seq']),
  layout(5, 'PreVote', ['term', 'candidateId', 'lastLogIndex', 'lastLogTerm']),
  layout(6, 'PreVoteResponse', ['term', 'voteGranted']),
  layout(7, 'ReadIndexRequest', ['term', 'requestId', 'lease']),
  layout(8, 'ReadIndexResponse', ['term', 'requestId', 'success', 'readIndex']),
  layout(9, 'ProposeResponse', ['term', 'requestId', 'success', 'firstIndex']),
];
const byType = new Map<string, Layout>(LAYOUTS.map((l) => [l.type, l]));
const byCode = new Map<unknown, Layout>(LAYOUTS.map((l) => [l.code, l]));

/** Fields naming the sender: they must name the authenticated peer. */
const SENDER_FIELD: Partial<Record<MessageType, string>> = {
  RequestVote: 'candidateId',
  PreVote: 'candidateId',
  AppendEntries: 'leaderId',
};

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

/** No ext types: an unknown ext decodes to an inert object that validation rejects. */
const decodeOptions = { codec: msgpack.createCodec({ preset: false }) };

const blocks = new WeakMap<readonly Entry[], Buffer>();

/** The entries' binary block, encoded once per entries array. */
export function entriesBlock(entries: readonly Entry[]): Buffer {
  let block = blocks.get(entries);
  if (block === undefined) {
    block = encodeEntries(entries);
    blocks.set(entries, block);
  }
  return block;
}

/** Encodes an envelope as the body of one frame. */
export function encodeEnvelope(from: NodeId, to: NodeId, message: RaftMessage): Buffer {
  encoder.encode(toWire(from, to, message));
  const body = encoded as Buffer;
  encoded = undefined;
  return body;
}

function toWire(from: NodeId, to: NodeId, message: RaftMessage): unknown[] {
  const l = byType.get(message.type);
  if (l === undefined) return [OTHER, from, to, bytesAsBuffers(message)];
  const m = message as unknown as Record<string, unknown>;
  const wire: unknown[] = [l.code, from, to];
  for (const field of l.fields) {
    if (field === 'entries') {
      const entries = m.entries as readonly Entry[];
      wire.push(entries.length === 0 ? null : entriesBlock(entries));
    } else {
      wire.push(m[field]);
    }
  }
  return wire;
}

/**
 * Decodes and validates a frame body from an authenticated connection. The envelope's
 * `from` must be the authenticated peer and `to` this node; a message naming its sender
 * (`candidateId`, `leaderId`) must name the peer too. Throws `InvalidMessageError`.
 */
export function decodeEnvelope(body: Uint8Array, peer: NodeId, self: NodeId): Envelope {
  let raw: unknown;
  try {
    raw = msgpack.decode(body, decodeOptions);
  } catch (e) {
    throw new InvalidMessageError(`undecodable msgpack (${String((e as Error)?.message).slice(0, 60)})`);
  }
  if (!Array.isArray(raw) || raw.length < 3) throw new InvalidMessageError('envelope is not an array');
  if (raw[1] !== peer) throw new InvalidMessageError('sender is not the authenticated peer');
  if (raw[2] !== self) throw new InvalidMessageError('addressed to another node');
  const message = validateMessage(fromWire(raw));
  const senderField = SENDER_FIELD[message.type];
  if (senderField && (message as unknown as Record<string, unknown>)[senderField] !== peer) {
    throw new InvalidMessageError(`${senderField} is not the authenticated peer`);
  }
  return { from: peer, to: self, message };
}

function fromWire(wire: unknown[]): unknown {
  const code = wire[0];
  if (code === OTHER) {
    if (wire.length !== 4) throw new InvalidMessageError(`map-encoded message with ${wire.length} fields`);
    const message = ownFields(wire[3]);
    if (message && byType.has(message.type as string)) throw new InvalidMessageError('map-encoded message with a layout');
    return message;
  }
  const l = byCode.get(code);
  if (l === undefined) throw new InvalidMessageError(`unknown message code ${JSON.stringify(code)?.slice(0, 20)}`);
  if (wire.length !== 3 + l.fields.length) throw new InvalidMessageError(`${l.type} with ${wire.length - 3} fields`);
  const message: Record<string, unknown> = { type: l.type };
  for (let i = 0; i < l.fields.length; i++) {
    const field = l.fields[i];
    const value = wire[3 + i];
    if (field !== 'entries') message[field] = value;
    else if (value === null) message.entries = [];
    else if (!Buffer.isBuffer(value)) throw new InvalidMessageError('entries must be a binary block or nil');
    else if ((message.entries = decodeEntries(value)).length === 0) throw new InvalidMessageError('empty entries block');
  }
  return message;
}

/** A copy of `value` whose `Uint8Array`s are Buffers (views), which msgpack-lite writes as bin. */
function bytesAsBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) return value.map(bytesAsBuffers);
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) copy[key] = bytesAsBuffers(field);
    return copy;
  }
  return value;
}

/**
 * A plain copy of a decoded map's own fields. A `__proto__` key in hostile msgpack sets
 * the decoded object's prototype; copying own keys leaves that behind.
 */
export function ownFields(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) return undefined;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key !== '__proto__') copy[key] = (value as Record<string, unknown>)[key];
  }
  return copy;
}
