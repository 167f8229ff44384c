import * as msgpack from 'msgpack-lite';
import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import { decodeEntries, encodeEntries } from '../messages/entryCodec';
import type { AppendEntries, Envelope, NodeId, RaftMessage } from '../messages/types';
import { validateMessage } from '../messages/validate';

/**
 * The body of an RPC frame: one msgpack array, the envelope, with the message's fields in
 * a fixed order after a type code (positional: msgpack-lite encodes and decodes a map with
 * string keys 3–4 times slower than an array of the same values).
 *
 *     RequestVote            [1, from, to, term, candidateId, lastLogIndex, lastLogTerm]
 *     RequestVoteResponse    [2, from, to, term, voteGranted]
 *     AppendEntries          [3, from, to, term, leaderId, prevLogIndex, prevLogTerm, leaderCommit, entries]
 *     AppendEntriesResponse  [4, from, to, term, success, matchIndex, rejectedIndex, conflictIndex, conflictTerm]
 *     any other message      [0, from, to, { ...message }]
 *
 * `entries` is nil when there are none, else one msgpack bin holding the block made by
 * `encodeEntries`: entries are laid out once, never as one msgpack object each. The block
 * is cached per entries array, so a batch sent to several followers is encoded once.
 * Messages added to `RaftMessage` later travel as a map (code 0) until given a layout here.
 *
 * @example
 * const body = encodeEnvelope('n1', 'n2', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
 * decodeEnvelope(body, 'n1', 'n2').message.voteGranted; // true
 */

const Code = { Other: 0, RequestVote: 1, RequestVoteResponse: 2, AppendEntries: 3, AppendEntriesResponse: 4 } as const;

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

function toWire(from: NodeId, to: NodeId, m: RaftMessage): unknown[] {
  switch (m.type) {
    case 'RequestVote':
      return [Code.RequestVote, from, to, m.term, m.candidateId, m.lastLogIndex, m.lastLogTerm];
    case 'RequestVoteResponse':
      return [Code.RequestVoteResponse, from, to, m.term, m.voteGranted];
    case 'AppendEntries':
      return [
        Code.AppendEntries, from, to, m.term, m.leaderId, m.prevLogIndex, m.prevLogTerm, m.leaderCommit,
        m.entries.length === 0 ? null : entriesBlock(m.entries),
      ];
    case 'AppendEntriesResponse':
      return [
        Code.AppendEntriesResponse, from, to, m.term, m.success, m.matchIndex, m.rejectedIndex, m.conflictIndex,
        m.conflictTerm,
      ];
    default:
      return [Code.Other, from, to, m as unknown];
  }
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
    throw new InvalidMessageError(`undecodable msgpack (${(e as Error).message?.slice(0, 60)})`);
  }
  if (!Array.isArray(raw) || raw.length < 3) throw new InvalidMessageError('envelope is not an array');
  if (raw[1] !== peer) throw new InvalidMessageError('sender is not the authenticated peer');
  if (raw[2] !== self) throw new InvalidMessageError('addressed to another node');
  const message = validateMessage(fromWire(raw));
  if (message.type === 'RequestVote' && message.candidateId !== peer) {
    throw new InvalidMessageError('candidateId is not the authenticated peer');
  }
  if (message.type === 'AppendEntries' && message.leaderId !== peer) {
    throw new InvalidMessageError('leaderId is not the authenticated peer');
  }
  return { from: peer, to: self, message };
}

function fromWire(w: unknown[]): unknown {
  const code = w[0];
  const arity = (n: number): void => {
    if (w.length !== n) throw new InvalidMessageError(`message code ${code} with ${w.length} fields`);
  };
  switch (code) {
    case Code.RequestVote:
      arity(7);
      return { type: 'RequestVote', term: w[3], candidateId: w[4], lastLogIndex: w[5], lastLogTerm: w[6] };
    case Code.RequestVoteResponse:
      arity(5);
      return { type: 'RequestVoteResponse', term: w[3], voteGranted: w[4] };
    case Code.AppendEntries: {
      arity(9);
      const block = w[8];
      let entries: Entry[] = [];
      if (block !== null) {
        if (!Buffer.isBuffer(block)) throw new InvalidMessageError('entries must be a binary block or nil');
        entries = decodeEntries(block);
        if (entries.length === 0) throw new InvalidMessageError('empty entries block');
      }
      const message: AppendEntries = {
        type: 'AppendEntries', term: w[3] as number, leaderId: w[4] as NodeId, prevLogIndex: w[5] as number,
        prevLogTerm: w[6] as number, leaderCommit: w[7] as number, entries,
      };
      return message;
    }
    case Code.AppendEntriesResponse:
      arity(9);
      return {
        type: 'AppendEntriesResponse', term: w[3], success: w[4], matchIndex: w[5], rejectedIndex: w[6],
        conflictIndex: w[7], conflictTerm: w[8],
      };
    case Code.Other:
      arity(4);
      return ownFields(w[3]);
    default:
      throw new InvalidMessageError(`unknown message code ${JSON.stringify(code)?.slice(0, 20)}`);
  }
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
