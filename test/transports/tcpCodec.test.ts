import * as msgpack from 'msgpack-lite';
import { InvalidMessageError } from '../../src/errors';
import type { AppendEntries, RaftMessage } from '../../src/messages/types';
import { entriesBlock, rememberBlock } from '../../src/messages/entryBlocks';
import { decodeEntries, encodedSize, encodeEntries } from '../../src/messages/entryCodec';
import { encodedPayload, payloadBytes } from '../../src/transports/tcpPayloadBytes';
import { decodeEnvelope, encodeEnvelope, EnvelopeEncoder } from '../../src/transports/tcpCodec';
import { FrameBatch } from '../../src/transports/tcpFrames';
import { KnownString, readLayoutPayload, writeLayoutPayload } from '../../src/transports/tcpLayoutPayload';
import { authProof, certificateNames, proofMatches } from '../../src/transports/tcpHandshake';
import { sampleMessages, testEntries } from './conformance';

const roundTrip = (m: RaftMessage) => decodeEnvelope(encodeEnvelope('a', 'b', m), 'a', 'b');

describe('tcpCodec', () => {
  it('round-trips every message type', () => {
    for (const message of sampleMessages('a')) {
      expect(roundTrip(message)).toEqual({ from: 'a', to: 'b', message });
    }
  });

  it('carries entries as one binary block, encoded once per entries array', () => {
    const entries = testEntries(0, 2, 64);
    const message: AppendEntries = {
      type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 1,
    };
    expect(entriesBlock(entries)).toBe(entriesBlock(entries));
    const wire = msgpack.decode(encodeEnvelope('a', 'b', message));
    expect(wire.slice(0, 3)).toEqual([3, 'a', 'b']);
    expect(wire[3]).toHaveLength(8);
    expect(wire[3][6]).toBe(false); // quiesce: a flag, always a boolean on the wire
    expect(Buffer.isBuffer(wire[3][7])).toBe(true); // one bin, not 64 objects
    expect(wire[3][7]).toEqual(entriesBlock(entries));
    expect(new EnvelopeEncoder('a', 'b').encode(message).tail).toBe(entriesBlock(entries)); // never copied before the write
    const decoded = roundTrip(message).message as AppendEntries;
    expect(decoded.entries.map((e) => Buffer.from(e.data))).toEqual(entries.map((e) => Buffer.from(e.data)));
  });

  it('lays out a block not yet encoded straight into the socket write, and remembers it there for the next follower', () => {
    const entries = testEntries(0, 2, 64).map((e) => ({ ...e, data: e.data.subarray(0, 100) }));
    const message: AppendEntries = {
      type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 1,
    };
    const { head, tail } = new EnvelopeEncoder('a', 'b').encode(message);
    expect(tail).toEqual({ entries, byteLength: encodedSize(entries) }); // not encoded on its own
    const batch = new FrameBatch();
    batch.add(head, tail);
    const written = batch.toBuffers();
    expect(written).toHaveLength(1);
    const block = entriesBlock(entries.slice()); // the next follower's list of the same entries
    expect(block.buffer === written[0].buffer).toBe(true); // a view into the write: encoded once
    expect(block).toEqual(encodeEntries(entries));
    expect(new EnvelopeEncoder('a', 'c').encode({ ...message, entries: entries.slice() }).tail).toBe(block);
    const decoded = decodeEnvelope(written[0].subarray(4), 'a', 'b').message as AppendEntries;
    expect(decoded.entries.map((e) => [e.index, e.term, e.kind, Buffer.from(e.data)])).toEqual(entries.map((e) => [e.index, e.term, e.kind, Buffer.from(e.data)]));
  });

  it('writes a leader\'s batch block found when the message was sent, though the block cache has moved on since', () => {
    const block = encodeEntries(testEntries(0, 2, 8));
    const views = decodeEntries(block, { lazy: true }); // as a log hands out a whole batch
    rememberBlock(views, block);
    const message: AppendEntries = {
      type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries: views, leaderCommit: 0, seq: 1,
    };
    const found = encodedPayload(message);
    expect(found).toBe(block);
    expect(found!.length).toBe(payloadBytes(message));
    // Other batches fill the cache while the message waits in the outbox.
    for (let i = 0; i < 40; i++) entriesBlock(testEntries(1000 + i * 10, 2, 2).map((e) => ({ ...e })));
    expect(encodedPayload(message)).toBeUndefined(); // evicted: would be laid out again
    const { head, tail } = new EnvelopeEncoder('a', 'b').encode(message, found!.length, found);
    expect(tail).toBe(block); // written as it is
    expect(Buffer.concat([head, tail as Buffer]).equals(encodeEnvelope('a', 'b', message))).toBe(true);
    // Plain entries, or views of another block than the one cached: nothing kept beyond what they hold.
    const plain = testEntries(0, 2, 8);
    entriesBlock(plain);
    expect(encodedPayload({ ...message, entries: plain })).toBeUndefined();
    const copies = decodeEntries(Buffer.from(block), { lazy: true });
    rememberBlock(copies, block);
    expect(encodedPayload({ ...message, entries: copies })).toBeUndefined();
    expect(encodedPayload({ ...message, entries: [] })).toBeUndefined();
  });

  it('takes the block size the sender measured, and refuses to lay out a block of another size', () => {
    const entries = testEntries(0, 2, 8).map((e) => ({ ...e, data: e.data.subarray(0, 50) }));
    const message: AppendEntries = {
      type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 1,
    };
    const right = new FrameBatch();
    const encoded = new EnvelopeEncoder('a', 'b').encode(message, encodedSize(entries));
    right.add(encoded.head, encoded.tail);
    expect(decodeEnvelope(right.toBuffer().subarray(4), 'a', 'b').message).toMatchObject({ prevLogIndex: 0, seq: 1 });
    const wrong = new FrameBatch();
    const misjudged = new EnvelopeEncoder('a', 'b').encode({ ...message, entries: entries.map((e) => ({ ...e })) }, encodedSize(entries) + 1); // not cached
    wrong.add(misjudged.head, misjudged.tail);
    expect(() => wrong.toBuffer()).toThrow(/laid out where/);
  });

  it('encodes a large block not yet encoded on its own, written uncopied and remembered', () => {
    const entries = testEntries(0, 2, 4); // 100 KB in all
    const message: AppendEntries = {
      type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 1,
    };
    const batch = new FrameBatch();
    const { head, tail } = new EnvelopeEncoder('a', 'b').encode(message);
    batch.add(head, tail);
    const written = batch.toBuffers();
    expect(written).toHaveLength(2); // prefix + head, then the block as it is
    expect(written[1]).toEqual(encodeEntries(entries));
    expect(written[1].buffer === entriesBlock(entries.slice()).buffer).toBe(true);
  });

  it('receives the entries block without copying it, and remembers it for the decoded entries', () => {
    const entries = testEntries(0, 2, 8);
    const message: AppendEntries = {
      type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 1,
    };
    const body = encodeEnvelope('a', 'b', message);
    const decoded = decodeEnvelope(body, 'a', 'b').message as AppendEntries;
    expect(decoded.entries[0].data.buffer).toBe(body.buffer); // a view into the frame
    const block = entriesBlock(decoded.entries);
    expect(block.buffer).toBe(body.buffer); // the received block, not a new encoding
    expect(block).toEqual(entriesBlock(entries));
  });

  it('writes layout payloads byte for byte as msgpack-lite does, and leaves it the rest', () => {
    const values = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31 - 1, null, true, false, '', 'n1', 'x'.repeat(32), 'z'.repeat(300), 'héllo'];
    expect(writeLayoutPayload(values)).toBeUndefined(); // more than 15 fields: not a layout
    for (const v of values) expect(writeLayoutPayload([v, 7])).toEqual(msgpack.encode([v, 7]));
    const widest = Array.from({ length: 15 }, () => '日'.repeat(1024)); // the most it takes: 46 KB
    expect(writeLayoutPayload(widest)).toEqual(msgpack.encode(widest));
    for (const v of [2 ** 31, 2 ** 40, -1, 1.5, undefined, 'y'.repeat(1025)]) expect(writeLayoutPayload([v])).toBeUndefined();
    // A term beyond 2^31 still travels (msgpack-lite writes it as float64).
    const big = { type: 'RequestVoteResponse' as const, term: 2 ** 40, voteGranted: true };
    expect(roundTrip(big).message).toEqual(big);
  });

  it('reads and writes a node\'s own id from its bytes, and any other string as it is', () => {
    const known = KnownString.of('né1');
    for (const text of ['né1', 'ne1', 'né2', 'né', 'né12', '', 'x'.repeat(40)]) {
      expect(readLayoutPayload(msgpack.encode([3, text, true]), 0, known)).toEqual([3, text, true]);
    }
    for (const text of ['né1', 'ne1', 'né', 'x'.repeat(40)]) {
      expect(writeLayoutPayload([3, text, true], known)).toEqual(msgpack.encode([3, text, true])); // the same bytes, from the known one's or not
    }
    const long = KnownString.of('é'.repeat(20)); // 40 bytes: not a fixstr
    expect(writeLayoutPayload(['é'.repeat(20)], long)).toEqual(msgpack.encode(['é'.repeat(20)]));
    expect(known.isAt(Buffer.from('xxné1'), 2, 4)).toBe(true);
    expect(known.isAt(Buffer.from('xxné1'), 2, 3)).toBe(false);
  });

  it('decodes a payload in encodings its own encoder does not write', () => {
    const float64 = (n: number) => { const b = Buffer.alloc(9, 0xcb); b.writeDoubleBE(n, 1); return [...b]; };
    const decode = (payload: number[]) => decodeEnvelope(Buffer.from([0x94, ...msgpack.encode([1, 'a', 'b']).subarray(1), ...payload]), 'a', 'b').message;
    const expected = { type: 'RequestVote', term: 3, candidateId: 'a', lastLogIndex: 5, lastLogTerm: 1, leadershipTransfer: false };
    // Read by the transport's own reader: uint32 for a small number, str8, float64 for an integer.
    expect(decode([0x95, 0xce, 0, 0, 0, 3, 0xd9, 1, 0x61, ...float64(5), 0x01, 0xc2])).toEqual(expected);
    // Left to msgpack-lite: uint64 and int8.
    expect(decode([0x95, 0xcf, 0, 0, 0, 0, 0, 0, 0, 3, 0xa1, 0x61, 0xd0, 5, 0x01, 0xc2])).toEqual(expected);
  });

  const reject = (wire: unknown, reason: RegExp, from = 'a') => {
    const body = Buffer.isBuffer(wire) ? wire : msgpack.encode(wire);
    expect(() => decodeEnvelope(body, from, 'b')).toThrow(InvalidMessageError);
    expect(() => decodeEnvelope(body, from, 'b')).toThrow(reason);
  };

  it('rejects a sender or recipient other than the connection\'s', () => {
    reject([2, 'c', 'b', [1, true]], /sender/);
    reject([2, 'a', 'c', [1, true]], /addressed/);
    reject([1, 'a', 'b', [3, 'c', 0, 0, false]], /candidateId/);
    reject([5, 'a', 'b', [3, 'c', 0, 0]], /candidateId/);
    reject([3, 'a', 'b', [3, 'c', 0, 0, 0, 0, false, null]], /leaderId/);
    reject([0, 'a', 'b', { type: 'AppendEntries', term: 3, leaderId: 'c' }], /layout/);
  });

  it('accepts only the canonical encoding of the envelope', () => {
    // 'a' as str8 instead of fixstr: the same value, other bytes.
    const body = Buffer.from([0x94, 0x02, 0xd9, 0x01, 0x61, 0xa1, 0x62, 0x92, 0x01, 0xc3]);
    expect(msgpack.decode(body)).toEqual([2, 'a', 'b', [1, true]]);
    reject(body, /non-canonical/);
    reject([200, 'a', 'b', [1, true]], /unknown message code 200/);
  });

  it('rejects undecodable bytes, wrong shapes and unknown types', () => {
    reject(Buffer.from([0xc1]), /undecodable/); // never-used msgpack byte
    reject(Buffer.from([0x94, 0x02]), /undecodable/); // truncated array
    reject(Buffer.alloc(0), /undecodable/);
    reject({ type: 'RequestVoteResponse', term: 1, voteGranted: true }, /not \[code, from, to, payload\]/);
    reject([2, 'a', 'b', [1, true], 'extra'], /not \[code, from, to, payload\]/);
    reject([99, 'a', 'b', [1]], /unknown message code/);
    reject(['RequestVote', 'a', 'b', [1]], /unknown message code/);
    reject([2, 'a', 'b', [1]], /2 fields/);
    reject([2, 'a', 'b', { term: 1, voteGranted: true }], /2 fields/);
    reject([2, 'a', 'b', [-1, true]], /term/);
    reject([2, 'a', 'b', [1, 'yes']], /voteGranted/);
    reject([3, 'a', 'b', [3, 'a', 0, 0, 0, 0, false, 'not bytes']], /binary block/);
    reject([3, 'a', 'b', [3, 'a', 0, 0, 0, 0, null, null]], /quiesce must be a boolean/);
    reject([3, 'a', 'b', [3, 'a', 0, 0, 0, 0, 1, null]], /quiesce must be a boolean/);
    reject([3, 'a', 'b', [3, 'a', 0, 0, 0, 0, false, Buffer.from([0, 0, 0, 9])]], /entry count/);
    reject([3, 'a', 'b', [3, 'a', 0, 0, 0, 0, false, Buffer.from([0, 0, 0, 0])]], /empty entries/);
    reject([0, 'a', 'b', { type: 'Nonsense', term: 1 }], /unknown message type/);
    reject([0, 'a', 'b', [1, 2]], /not an object/);
    // Entries that are well-formed bytes but break the protocol's rules.
    const entries = testEntries(5, 9, 2);
    reject([3, 'a', 'b', [3, 'a', 5, 1, 0, 0, false, entriesBlock(entries)]], /term/);
    reject([3, 'a', 'b', [9, 'a', 7, 1, 0, 0, false, entriesBlock(entries)]], /index/);
    // ext types are not decoded into objects.
    reject(Buffer.concat([Buffer.from([0x94, 0x02, 0xa1, 0x61, 0xa1, 0x62, 0x92]), Buffer.from('d4010001', 'hex'), Buffer.from([0xc3])]), /term/);
  });

  it('does not let a __proto__ key give a message inherited fields', () => {
    // { "__proto__": { "type": "ProposeResponse", ... } } as raw msgpack map
    const inner = msgpack.encode({ type: 'ProposeResponse', term: 1, requestId: 1, success: true, firstIndex: 1 });
    const map = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), inner]);
    const wire = Buffer.concat([Buffer.from([0x94, 0x00, 0xa1, 0x61, 0xa1, 0x62]), map]);
    expect(msgpack.decode(wire)[3]).toEqual({});
    expect(() => decodeEnvelope(wire, 'a', 'b')).toThrow(/unknown message type/);
  });
});

describe('tcpCodec, messages without a layout', () => {
  const snapshot = (config: unknown) =>
    msgpack.encode([0, 'a', 'b', {
      type: 'InstallSnapshot', term: 3, leaderId: 'a', lastIncludedIndex: 4, lastIncludedTerm: 1, chunk: 0,
      data: Buffer.from([1]), done: true, config,
    }]);

  it('leaves out undefined fields instead of sending nil', () => {
    const message: RaftMessage = {
      type: 'InstallSnapshot', term: 3, leaderId: 'a', lastIncludedIndex: 4, lastIncludedTerm: 1, chunk: 0,
      config: { voters: ['a'], learners: [], oldVoters: undefined, addresses: {} }, data: new Uint8Array([1, 2]), done: false,
    };
    const decoded = roundTrip(message).message as Extract<RaftMessage, { type: 'InstallSnapshot' }>;
    expect('oldVoters' in decoded.config).toBe(false);
    expect(Array.from(decoded.data)).toEqual([1, 2]);
  });

  it('ignores prototypes smuggled into nested maps', () => {
    expect(() => decodeEnvelope(snapshot({ voters: ['a'], learners: [], addresses: {} }), 'a', 'b')).not.toThrow();
    const smuggled = { ['__proto__']: { voters: ['a'], learners: [], addresses: {} } };
    expect(Object.keys(smuggled)).toEqual(['__proto__']); // an own key on the wire
    expect(() => decodeEnvelope(snapshot(smuggled), 'a', 'b')).toThrow(/config must list voters/);
  });

  it('rejects maps nested deeper than any message', () => {
    let deep: unknown = { voters: ['a'], learners: [], addresses: {} };
    for (let i = 0; i < 10; i++) deep = { x: deep };
    expect(() => decodeEnvelope(snapshot(deep), 'a', 'b')).toThrow(/nested too deeply/);
  });
});

describe('tcpHandshake', () => {
  const n1 = Buffer.alloc(32, 1);
  const n2 = Buffer.alloc(32, 2);

  it('binds the proof to the secret, cluster, direction, both nonces and the lane', () => {
    const proof = authProof('s', 'c', 'a', 'b', n2, n1);
    expect(proofMatches(proof, authProof('s', 'c', 'a', 'b', n2, n1))).toBe(true);
    for (const other of [
      authProof('t', 'c', 'a', 'b', n2, n1),
      authProof('s', 'd', 'a', 'b', n2, n1),
      authProof('s', 'c', 'b', 'a', n2, n1), // reflected
      authProof('s', 'c', 'a', 'b', n1, n2),
      authProof('s', 'c', 'ab', '', n2, n1), // ids are length-prefixed
      authProof('s', 'c', 'a', 'b', n2, n1, 'bulk'), // the other connection of the pair
    ]) {
      expect(proofMatches(proof, other)).toBe(false);
    }
    expect(proofMatches(proof, proof.subarray(0, 16))).toBe(false);
    expect(proofMatches(proof, Buffer.alloc(0))).toBe(false);
  });

  it('reads the names of a certificate', () => {
    expect(
      certificateNames({ subject: { CN: 'n1' }, subjectaltname: 'DNS:n1.example, IP Address:127.0.0.1, URI:spiffe://c/n1' } as never),
    ).toEqual(['n1', 'n1.example', 'spiffe://c/n1']);
    expect(certificateNames(undefined)).toEqual([]);
    expect(certificateNames({} as never)).toEqual([]);
  });
});
