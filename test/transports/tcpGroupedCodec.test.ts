import { InvalidMessageError } from '../../src/errors';
import type { AppendEntries, RaftMessage } from '../../src/messages/types';
import { encodeHostAlive, HostAlive } from '../../src/messages/liveness';
import type { GroupEnvelope } from '../../src/transports/hostTransport';
import { encodeEnvelope } from '../../src/transports/tcpCodec';
import { FrameBatch, FrameReader } from '../../src/transports/tcpFrames';
import { GroupedDecoder, GroupedEncoder, GroupMessage, GROUPED_FRAME, HostItem } from '../../src/transports/tcpGroupedCodec';
import { plain, sampleMessages, testEntries } from './conformance';

const MIB = 1 << 20;

/** The frame bodies of a batch, as a receiver cuts them. */
function bodies(batch: FrameBatch): Buffer[] {
  const out: Buffer[] = [];
  new FrameReader(64 * MIB).push(batch.toBuffer(), (body) => out.push(Buffer.from(body)) > 0);
  return out;
}

function encode(items: HostItem[], maxFrameBytes = 16 * MIB, tooLarge: (size: number) => void = () => undefined): Buffer[] {
  const batch = new FrameBatch();
  new GroupedEncoder('h1', 'h2').encode(items, batch, maxFrameBytes, tooLarge);
  return bodies(batch);
}

const decode = (body: Buffer) => new GroupedDecoder('h1', 'h2').decode(body);

/** A grouped frame with one item, laid out by hand: group id bytes, the envelope length as given. */
function handMade(group: Buffer, envelope: Buffer, length = envelope.length): Buffer {
  const head = Buffer.alloc(6);
  head[0] = GROUPED_FRAME;
  head[1] = group.length;
  return Buffer.concat([head.subarray(0, 2), group, Buffer.from([length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]), envelope]);
}

const heartbeat: RaftMessage = { type: 'TermQuery', term: 4 };

describe('the grouped frame of a host (tcpGroupedCodec)', () => {
  it('carries messages of many groups, every type, entries included, in one frame that round-trips', () => {
    const entries = testEntries(0, 2, 5);
    const append: AppendEntries = { type: 'AppendEntries', term: 2, leaderId: 'h1', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 1 };
    const items: GroupMessage[] = [...sampleMessages('h1'), append].map((message, i) => ({ group: `g-${i % 7}`, message }));
    const frames = encode(items);
    expect(frames).toHaveLength(1);
    expect(frames[0][0]).toBe(GROUPED_FRAME);
    // plain(): entries decoded from a block carry `data` as a getter, which toEqual does not read.
    expect(plain(decode(frames[0]))).toEqual(plain(items.map(({ group, message }) => ({ from: 'h1', to: 'h2', group, message }))));
  });

  it('splits a batch larger than a frame into several frames, in order, and leaves out (and reports) a message that fits no frame', () => {
    const big: RaftMessage = {
      type: 'AppendEntries', term: 2, leaderId: 'h1', prevLogIndex: 0, prevLogTerm: 0, entries: testEntries(0, 2, 3, 2000), leaderCommit: 0, seq: 1,
    };
    const items: GroupMessage[] = Array.from({ length: 40 }, (_, i) => ({ group: `g${i}`, message: heartbeat }));
    items.splice(20, 0, { group: 'huge', message: big });
    const tooLarge: number[] = [];
    const frames = encode(items, 300, (size) => tooLarge.push(size));
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(frame.length).toBeLessThanOrEqual(300);
    expect(frames.flatMap(decode).map((e) => (e as GroupEnvelope).group)).toEqual(items.filter((i) => i.group !== 'huge').map((i) => i.group));
    expect(tooLarge).toHaveLength(1);
    expect(tooLarge[0]).toBeGreaterThan(6000);
  });

  it.each([
    ['dot-dot', Buffer.from('..')],
    ['a slash', Buffer.from('a/b')],
    ['not ASCII', Buffer.from('grüppe')],
    ['too long (65)', Buffer.from('g'.repeat(65))],
    ['a NUL byte', Buffer.from('g\0')],
  ])('rejects a group id that is %s', (_, group) => {
    const body = handMade(group, encodeEnvelope('h1', 'h2', heartbeat));
    expect(() => decode(body)).toThrow(InvalidMessageError);
    expect(() => decode(body)).toThrow(/group id must be 1 to 64 characters/);
  });

  it('carries host liveness messages as items without a group, beside group messages, and checks them as strictly', () => {
    const ping: HostAlive = { type: 'HostAlive', reply: false, seq: 7, incarnation: 1_733_380_000_123, groupsVersion: 2 };
    const pong: HostAlive = { ...ping, reply: true };
    const frames = encode([{ alive: ping }, { group: 'g1', message: heartbeat }, { alive: pong }]);
    expect(frames).toHaveLength(1);
    expect(decode(frames[0])).toEqual([{ from: 'h1', to: 'h2', message: ping }, { from: 'h1', to: 'h2', group: 'g1', message: heartbeat }, { from: 'h1', to: 'h2', message: pong }]);
    const item = (bytes: Buffer) => Buffer.concat([Buffer.from([GROUPED_FRAME, 0, 0, 0, 0, bytes.length]), bytes]);
    expect(() => decode(item(Buffer.alloc(0)))).toThrow(/host liveness item of 0 bytes/);
    const bad = (at: number, value: number) => {
      const b = encodeHostAlive(ping);
      if (at === 0) b[0] = value;
      else b.writeDoubleBE(value, at);
      return item(b);
    };
    expect(() => decode(bad(0, 2))).toThrow(/reply must be 0 or 1/);
    expect(() => decode(bad(1, -1))).toThrow(/seq and groupsVersion/);
    expect(() => decode(bad(1, 0.5))).toThrow(/seq and groupsVersion/);
    expect(() => decode(bad(17, 2 ** 53))).toThrow(/seq and groupsVersion/);
    expect(() => decode(bad(9, Infinity))).toThrow(/incarnation/);
    expect(() => decode(Buffer.concat([item(encodeHostAlive(ping)).subarray(0, 6), encodeHostAlive(ping).subarray(0, 10)]))).toThrow(/truncated inside a host liveness item/);
  });

  it('rejects a frame cut anywhere inside an item, and a length that runs past the frame', () => {
    const full = encode([{ group: 'g1', message: heartbeat }, { group: 'g2', message: sampleMessages('h1')[0] }])[0];
    const boundary = 1 + 1 + 2 + 4 + encodeEnvelope('h1', 'h2', heartbeat).length; // after the first item
    for (let cut = 1; cut < full.length; cut++) {
      if (cut === boundary) expect(decode(full.subarray(0, cut))).toHaveLength(1); // a shorter frame of one whole item
      else expect(() => decode(full.subarray(0, cut))).toThrow(InvalidMessageError);
    }
    const envelope = encodeEnvelope('h1', 'h2', heartbeat);
    expect(() => decode(handMade(Buffer.from('g1'), envelope, envelope.length + 1))).toThrow(/truncated inside the message of group g1/);
    expect(() => decode(full.subarray(0, 4))).toThrow(/truncated inside an item header/);
  });

  it("rejects a node's envelope, an empty grouped frame, and a message that names another sender", () => {
    expect(() => decode(encodeEnvelope('h1', 'h2', heartbeat))).toThrow(/not a grouped frame/);
    expect(() => decode(Buffer.from([GROUPED_FRAME]))).toThrow(/without messages/);
    expect(() => decode(handMade(Buffer.from('g1'), encodeEnvelope('h3', 'h2', heartbeat)))).toThrow(InvalidMessageError);
    const forged: RaftMessage = { type: 'RequestVote', term: 3, candidateId: 'h3', lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false };
    expect(() => decode(handMade(Buffer.from('g1'), encodeEnvelope('h1', 'h2', forged)))).toThrow(/authenticated peer/);
  });
});
