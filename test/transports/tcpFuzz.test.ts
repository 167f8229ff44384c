import * as net from 'node:net';
import * as msgpack from 'msgpack-lite';
import type { Envelope, RaftMessage } from '../../src/messages/types';
import { validateMessage } from '../../src/messages/validate';
import { randomInt, seededRandom } from '../../src/random';
import { encodeEnvelope } from '../../src/transports/tcpCodec';
import { joinFrames } from '../../src/transports/tcpFrames';
import { encodeHello } from '../../src/transports/tcpHandshake';
import type { TcpTransport } from '../../src/transports/tcpTransport';
import { sampleMessages, testEntries } from './conformance';
import { CLUSTER, TcpNetwork } from './tcpHarness';

/** Seeded: a failure replays exactly. */
const SEED = 20_261_127;
const CASES = 500;
const PARALLEL = 10;
/** Longest wait for the transport's reaction to one case. */
const CASE_MS = 150;

type Random = () => number;

function randomBytes(random: Random, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = randomInt(random, 0, 255);
  return out;
}

function randomValue(random: Random, depth = 0): unknown {
  switch (randomInt(random, 0, depth > 2 ? 5 : 8)) {
    case 0: return randomInt(random, -5, 300);
    case 1: return [2 ** 53, -1, 1.5, 2 ** 32, 0][randomInt(random, 0, 4)];
    case 2: return ['a', 'b', 'c', '', 'RequestVote', 'x'.repeat(300)][randomInt(random, 0, 5)];
    case 3: return random() < 0.5;
    case 4: return null;
    case 5: return randomBytes(random, randomInt(random, 0, 40));
    case 6: return Array.from({ length: randomInt(random, 0, 6) }, () => randomValue(random, depth + 1));
    case 7: {
      const keys = ['type', 'term', 'entries', 'leaderId', '__proto__', 'seq', 'k'];
      return Object.fromEntries(Array.from({ length: randomInt(random, 0, 4) }, () => [keys[randomInt(random, 0, 6)], randomValue(random, depth + 1)]));
    }
    default: {
      // Envelope-shaped: a plausible code and addressing, random fields.
      const from = ['a', 'a', 'a', 'c', 7][randomInt(random, 0, 4)];
      const to = ['b', 'b', 'b', 'a', null][randomInt(random, 0, 4)];
      const fields = Array.from({ length: randomInt(random, 0, 9) }, () => randomValue(random, depth + 1));
      return [randomInt(random, 0, 12), from, to, ...fields];
    }
  }
}

/** One hostile frame (bytes with their length prefix, possibly lying about it). */
function hostileFrame(random: Random, bases: Buffer[]): Buffer {
  const base = Buffer.from(bases[randomInt(random, 0, bases.length - 1)]);
  switch (randomInt(random, 0, 8)) {
    case 0: { // flip bits
      for (let i = randomInt(random, 1, 8); i > 0; i--) base[randomInt(random, 0, base.length - 1)] ^= 1 << randomInt(random, 0, 7);
      return joinFrames([base]);
    }
    case 1: return joinFrames([base.subarray(0, randomInt(random, 0, base.length - 1))]); // truncated body
    case 2: { // length prefix that lies
      const frame = joinFrames([base]);
      frame.writeUInt32BE(Math.max(0, base.length + randomInt(random, -20, 60)), 0);
      return frame;
    }
    case 3: return joinFrames([randomBytes(random, randomInt(random, 0, 200))]);
    case 4: return joinFrames([msgpack.encode(randomValue(random))]);
    case 5: { // oversized prefix
      const frame = Buffer.alloc(8);
      frame.writeUInt32BE(randomInt(random, 16 * 1024 * 1024 + 1, 0xffffffff), 0);
      return frame;
    }
    case 6: { // a header byte declaring a huge container or string
      base[randomInt(random, 0, base.length - 1)] = [0xdd, 0xdf, 0xdb, 0xc6, 0xc1][randomInt(random, 0, 4)];
      return joinFrames([base]);
    }
    case 7: { // two frames spliced
      const other = bases[randomInt(random, 0, bases.length - 1)];
      return joinFrames([Buffer.concat([base.subarray(0, randomInt(random, 0, base.length)), other.subarray(randomInt(random, 0, other.length))])]);
    }
    default: return randomBytes(random, randomInt(random, 1, 64)); // not even framed
  }
}

/** Valid frame bodies from `from` to b, to mutate. */
function validBodies(from: string): Buffer[] {
  const bodies = sampleMessages(from).map((m) => encodeEnvelope(from, 'b', m));
  const entries = testEntries(4, 3, 3, 20).map((e) => ({ ...e, data: e.data.subarray(0, 20) }));
  bodies.push(
    encodeEnvelope(from, 'b', {
      type: 'AppendEntries', term: 3, leaderId: from, prevLogIndex: 4, prevLogTerm: 2, entries, leaderCommit: 4, seq: 9,
    }),
  );
  return bodies;
}

describe('tcpTransport under fuzzing', () => {
  let network: TcpNetwork;
  let a: TcpTransport;
  let b: TcpTransport;

  beforeEach(async () => {
    network = new TcpNetwork();
    a = await network.open('a');
    b = await network.open('b');
    // One identity per parallel lane: a second connection authenticated as the same peer
    // replaces the first, which would end another lane's case early.
    for (let lane = 0; lane < PARALLEL; lane++) network.reserve(`p${lane}`, 1);
  });

  afterEach(async () => {
    await network.dispose();
  });

  it(`stays up through ${CASES} seeded hostile frames, reports them, delivers nothing invalid`, async () => {
    const random = seededRandom(SEED);
    const bases = new Map(Array.from({ length: PARALLEL }, (_, lane) => [`p${lane}`, validBodies(`p${lane}`)]));
    const delivered: Envelope[] = [];
    const errors: Error[] = [];
    b.inbound$.subscribe((e) => delivered.push(e));
    b.errors$.subscribe((e) => errors.push(e));
    let closedByB = 0;

    const runCase = async (index: number): Promise<void> => {
      const as = `p${index % PARALLEL}`;
      const beforeAuth = random() < 0.2;
      const sentinelTerm = 1_000_000 + index;
      const sentinel = joinFrames([encodeEnvelope(as, 'b', { type: 'RequestVoteResponse', term: sentinelTerm, voteGranted: true })]);
      let socket: net.Socket;
      let bytes: Buffer;
      if (beforeAuth) {
        socket = await network.socket('b');
        const hello = encodeHello(CLUSTER, as, randomBytes(random, 32));
        bytes = hostileFrame(random, [hello, ...bases.get(as)!]);
      } else {
        socket = (await network.raw('b', as)).socket;
        bytes = Buffer.concat([hostileFrame(random, bases.get(as)!), sentinel]);
      }
      const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
      socket.write(bytes);
      const outcome = await Promise.race([
        closed,
        new Promise<boolean>((resolve) => {
          const timer = setInterval(() => {
            if (delivered.some((e) => e.message.term === sentinelTerm)) resolve(false);
          }, 5);
          setTimeout(() => (clearInterval(timer), resolve(false)), CASE_MS);
          void closed.then(() => clearInterval(timer));
        }),
      ]);
      if (outcome) closedByB++;
      socket.destroy();
    };

    const started = Date.now();
    for (let i = 0; i < CASES; i += PARALLEL) {
      await Promise.all(Array.from({ length: Math.min(PARALLEL, CASES - i) }, (_, j) => runCase(i + j)));
    }
    expect(Date.now() - started).toBeLessThan(60_000);

    // Nothing invalid got through: every delivered envelope is valid and from the authenticated peer.
    for (const envelope of delivered) {
      expect(envelope.from).toMatch(/^p\d$/);
      expect(envelope.to).toBe('b');
      expect(() => validateMessage(envelope.message)).not.toThrow();
      const m = envelope.message as RaftMessage & { leaderId?: string; candidateId?: string };
      if (m.leaderId !== undefined) expect(m.leaderId).toBe(envelope.from);
      if (m.candidateId !== undefined) expect(m.candidateId).toBe(envelope.from);
    }
    expect(delivered.length).toBeGreaterThan(0); // the sentinels of cases that were not rejected
    // Most cases were rejected, and each rejection was reported.
    expect(closedByB).toBeGreaterThan(CASES * 0.6);
    expect(errors.length).toBeGreaterThanOrEqual(closedByB);
    const kinds = new Set(errors.map((e) => e.constructor.name));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['FrameTooLargeError', 'HandshakeError', 'InvalidFrameError']));

    // Still serving: the real peer gets through.
    const arrived = new Promise<Envelope>((resolve) => b.inbound$.subscribe((e) => e.message.term === 7 && resolve(e)));
    a.send('b', { type: 'RequestVoteResponse', term: 7, voteGranted: true });
    expect(await arrived).toMatchObject({ from: 'a', to: 'b' });
  });
});
