import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as msgpack from 'msgpack-lite';
import type { NodeId } from '../messages/types';
import { ownFields } from './tcpCodec';

/**
 * The handshake every connection completes before any RPC, as frames holding msgpack maps:
 *
 *     dialer   -> acceptor  hello { t: 'hello', p: 'rxraft' | 'rxraft-host', v, cluster, id, nonce, lane }
 *     acceptor -> dialer    hello { ... }, then auth { t: 'auth', proof }
 *     dialer   -> acceptor  auth  { t: 'auth', proof }, then RPC frames
 *
 * The acceptor answers only a hello naming its own protocol (`rxraft` for a node,
 * `rxraft-host` for a host of Raft groups: their RPC frames differ, see `tcpWire.ts`) and
 * version, its cluster and a configured peer; it echoes the dialer's `lane`, and the
 * dialer refuses an answer naming another lane. Two connections join each pair of peers,
 * one per lane (`Lane`): `control` for small messages, `bulk` for messages carrying
 * payload bytes (`tcpPeerLanes.ts`). With a shared secret, `proof` is HMAC-SHA256(secret,
 * label | cluster | sender id | receiver id | receiver's nonce | sender's nonce | lane):
 * it binds both fresh nonces (no replay), the direction (a proof cannot be reflected back
 * to its author) and the lane (a connection cannot be passed off as the other lane).
 * Without a secret (mutual TLS only), `proof` is empty and the identity comes from the
 * certificate; the hello, lane included, then travels inside TLS.
 *
 * @example
 * const proof = authProof(secret, 'prod', 'n1', 'n2', nonceOfN2, nonceOfN1); // n1 proves itself to n2
 * proofMatches(proof, receivedProof); // timing-safe
 */

export const PROTOCOL_NAME = 'rxraft';
/**
 * Raised whenever the wire format changes, so that peers of different formats refuse each
 * other at the handshake. 2: ProposeResponse carries `overloaded`. 3: RequestVote carries
 * `leadershipTransfer`. 4: TermQuery and TermReport (a node repairing a lost hard state). 5: AppendEntries
 * carries `quiesce` (a leader's last heartbeat before its group goes quiet), and WakeUp.
 * 6: two connections per pair of peers, the hello names the lane and the proof binds it.
 */
export const PROTOCOL_VERSION = 6;
/** The protocol of a host of Raft groups (`tcpHostTransport`): grouped frames of the envelopes above. */
export const HOST_PROTOCOL_NAME = 'rxraft-host';
/**
 * Raised whenever the host wire changes, including any change of `PROTOCOL_VERSION`'s
 * envelopes (a grouped frame carries them). 1: version 4's envelopes, grouped. 2: version
 * 5's envelopes, and host liveness items (group id length 0: `tcpGroupedCodec.ts`). 3:
 * version 6's handshake (two lanes per pair of hosts).
 */
export const HOST_PROTOCOL_VERSION = 3;
const PROTOCOLS: readonly string[] = [PROTOCOL_NAME, HOST_PROTOCOL_NAME];
/** Handshake frames are small; a bigger one is hostile. */
export const HANDSHAKE_MAX_FRAME_BYTES = 2048;
export const NONCE_BYTES = 32;
const PROOF_LABEL = Buffer.from('rxraft-auth-v1\0');
const MAX_ID_LENGTH = 256;

/**
 * Which of the two connections between a pair of peers: `control` carries the small
 * messages (heartbeats, votes, responses, read rounds), `bulk` those with payload bytes
 * (entries, snapshot chunks, forwarded commands). FIFO within a lane, no order across.
 *
 * @example
 * transport.stats().peers.n2.lanes.bulk.queued; // entries waiting for n2's bulk connection
 */
export type Lane = 'control' | 'bulk';

export interface Hello {
  readonly kind: 'hello';
  /** `rxraft` or `rxraft-host`. */
  readonly protocol: string;
  readonly version: number;
  readonly cluster: string;
  readonly id: NodeId;
  readonly nonce: Buffer;
  readonly lane: Lane;
}

export interface Auth {
  readonly kind: 'auth';
  readonly proof: Buffer;
}

/** A hello for `lane` (default control); a node's protocol unless `protocol` says otherwise. */
export function encodeHello(
  cluster: string,
  id: NodeId,
  nonce: Buffer,
  protocol = { name: PROTOCOL_NAME, version: PROTOCOL_VERSION },
  lane: Lane = 'control',
): Buffer {
  return msgpack.encode({ t: 'hello', p: protocol.name, v: protocol.version, cluster, id, nonce, lane });
}

export function encodeAuth(proof: Buffer): Buffer {
  return msgpack.encode({ t: 'auth', proof });
}

const decodeOptions = { codec: msgpack.createCodec({ preset: false }) };

/** Reads a handshake frame. Throws an `Error` whose message is the reason it is not one. */
export function decodeHandshake(body: Uint8Array): Hello | Auth {
  let raw: unknown;
  try {
    raw = msgpack.decode(body, decodeOptions);
  } catch {
    throw new Error('undecodable handshake frame');
  }
  const f = ownFields(raw);
  if (!f) throw new Error('handshake frame is not a map');
  if (f.t === 'hello') {
    if (typeof f.p !== 'string' || !PROTOCOLS.includes(f.p)) throw new Error('not an rxraft peer');
    if (typeof f.v !== 'number') throw new Error('hello without a protocol version');
    if (typeof f.cluster !== 'string' || f.cluster.length > MAX_ID_LENGTH) throw new Error('hello without a cluster id');
    if (typeof f.id !== 'string' || f.id.length === 0 || f.id.length > MAX_ID_LENGTH) throw new Error('hello without a node id');
    if (!Buffer.isBuffer(f.nonce) || f.nonce.length !== NONCE_BYTES) throw new Error('hello without a nonce');
    if (f.v !== (f.p === PROTOCOL_NAME ? PROTOCOL_VERSION : HOST_PROTOCOL_VERSION)) {
      // An older peer's hello has no lane: refused for its version, by the connection.
      return { kind: 'hello', protocol: f.p, version: f.v, cluster: f.cluster, id: f.id, nonce: f.nonce, lane: 'control' };
    }
    if (f.lane !== 'control' && f.lane !== 'bulk') throw new Error('hello without a lane');
    return { kind: 'hello', protocol: f.p, version: f.v, cluster: f.cluster, id: f.id, nonce: f.nonce, lane: f.lane };
  }
  if (f.t === 'auth') {
    if (!Buffer.isBuffer(f.proof) || f.proof.length > 64) throw new Error('auth without a proof');
    return { kind: 'auth', proof: f.proof };
  }
  throw new Error('expected a handshake frame');
}

/** What `sender` presents to `receiver` to prove it holds the cluster secret, on a connection of `lane` (default control). */
export function authProof(
  secret: string | Uint8Array,
  cluster: string,
  sender: NodeId,
  receiver: NodeId,
  receiverNonce: Uint8Array,
  senderNonce: Uint8Array,
  lane: Lane = 'control',
): Buffer {
  return createHmac('sha256', secret)
    .update(PROOF_LABEL)
    .update(lengthPrefixed(cluster))
    .update(lengthPrefixed(sender))
    .update(lengthPrefixed(receiver))
    .update(receiverNonce)
    .update(senderNonce)
    .update(lengthPrefixed(lane))
    .digest();
}

/** Timing-safe equality of an expected proof and a received one. */
export function proofMatches(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

/**
 * The names a certificate holds for its subject: the common name and the DNS and URI
 * subject alternative names. A peer's node id must be one of them.
 */
export function certificateNames(cert: PeerCertificate | undefined): string[] {
  if (!cert || typeof cert !== 'object') return [];
  const names: string[] = [];
  const cn = cert.subject?.CN as string | string[] | undefined;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const part of (cert.subjectaltname ?? '').split(', ')) {
    const colon = part.indexOf(':');
    const kind = part.slice(0, colon);
    if (kind === 'DNS' || kind === 'URI') names.push(part.slice(colon + 1).replace(/^"(.*)"$/, '$1'));
  }
  return names;
}
