/**
 * Issue 18, findings 4 and 5, with real sockets on loopback: the handshake budget per
 * source (the oldest pending handshake of a source goes first) and the budget for bytes
 * held in partial frames (unknown peers limited to small frames, a total budget, a
 * stall timeout).
 */
import * as net from 'node:net';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import type { NodeId } from '../../src/messages/types';
import {
  FrameBudgetExceededError,
  FrameStalledError,
  FrameTooLargeError,
  HandshakeBudgetError,
} from '../../src/transports/tcpErrors';
import type { TcpTransportOptions } from '../../src/transports/tcpOptions';
import { TcpTransport, tcpTransport } from '../../src/transports/tcpTransport';
import { encodeEnvelope } from '../../src/transports/tcpCodec';
import { joinFrames } from '../../src/transports/tcpFrames';
import { IdleFlood } from './tcpFlood';
import { CLUSTER, RawPeer, SECRET, until } from './tcpHarness';

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * The next `count` errors of `type` on `transport.errors$` (5 s at most). The promise is
 * marked handled at once, so a test that fails before awaiting it does not leave an
 * unhandled rejection behind.
 */
function nextErrors<E extends Error>(transport: TcpTransport, type: new (...args: never[]) => E, count = 1): Promise<E[]> {
  const errors = firstValueFrom(
    transport.errors$.pipe(filter((e): e is E => e instanceof type), take(count), toArray(), timeout(5000)),
  );
  errors.catch(() => undefined);
  return errors;
}

/** A length prefix announcing `length` body bytes, then the first `sent` of them. */
function partialFrame(length: number, sent: number): Buffer {
  const bytes = Buffer.alloc(4 + sent, 0x61);
  bytes.writeUInt32BE(length, 0);
  return bytes;
}

describe('tcpTransport resource budgets', () => {
  const open: TcpTransport[] = [];
  const sockets: net.Socket[] = [];
  const floods: IdleFlood[] = [];

  afterEach(async () => {
    for (const flood of floods.splice(0)) flood.stop();
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  async function node(options: Partial<TcpTransportOptions> = {}): Promise<{ transport: TcpTransport; port: number }> {
    const transport = tcpTransport({
      id: 'target', listen: { host: '127.0.0.1', port: 0 }, peers: { a: '127.0.0.1:1', b: '127.0.0.1:2', c: '127.0.0.1:3' },
      clusterId: CLUSTER, secret: SECRET, ...options,
    });
    open.push(transport);
    const { port } = await transport.listening();
    return { transport, port };
  }

  async function idle(port: number, source: string): Promise<net.Socket> {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: source });
    socket.on('error', () => undefined);
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    return socket;
  }

  async function peer(port: number, id: NodeId): Promise<RawPeer> {
    const raw = await RawPeer.connect(port, { id });
    sockets.push(raw.socket);
    return raw;
  }

  describe('handshake budget', () => {
    test('one source cannot hold more than its share; its oldest pending handshake is evicted first', async () => {
      const { transport, port } = await node({ maxPendingHandshakesPerSource: 4 });
      const first = nextErrors(transport, HandshakeBudgetError);
      const held: net.Socket[] = [];
      for (let i = 0; i < 4; i++) {
        held.push(await idle(port, '127.0.0.3'));
        await until(() => transport.stats().handshakes.pending === i + 1);
      }
      const closed = held.map((s) => new Promise<number>((resolve) => s.once('close', () => resolve(held.indexOf(s)))));
      await idle(port, '127.0.0.3');
      expect(await Promise.race(closed)).toBe(0); // the oldest, not the newcomer
      expect(await first).toMatchObject([{ outcome: 'evicted' }]);
      expect(held.slice(1).every((s) => !s.destroyed)).toBe(true);
      expect(transport.stats().handshakes).toMatchObject({ pending: 4, evicted: 1 });
    });

    test('70 idle connections from one address, reopened when closed, hold at most its share; a peer still authenticates', async () => {
      const { transport, port } = await node();
      const flood = new IdleFlood(port, ['127.0.0.2'], 70);
      floods.push(flood);
      flood.start();
      await until(() => flood.opened > 200); // churning: every reopen evicts one of its own
      expect(transport.stats().handshakes.pending).toBeLessThanOrEqual(16);
      // A peer completes its handshake (RawPeer.connect resolves once authenticated both ways) and is heard.
      const a = await peer(port, 'a');
      const delivered = firstValueFrom(transport.inbound$.pipe(take(1), timeout(5000)));
      delivered.catch(() => undefined);
      a.sendRaw(joinFrames([encodeEnvelope('a', 'target', { type: 'TimeoutNow', term: 7 })]));
      expect(await delivered).toMatchObject({ from: 'a', message: { type: 'TimeoutNow', term: 7 } });
      expect(transport.stats().handshakes.evicted).toBeGreaterThan(100);
    });

    test('strangers\' connections cannot evict handshakes from a configured peer\'s address', async () => {
      // Only 127.0.0.1 is a peer's address; the budget is 3 in total.
      const { transport, port } = await node({ maxPendingHandshakes: 3 });
      const fromPeers: net.Socket[] = [];
      for (let i = 0; i < 3; i++) {
        fromPeers.push(await idle(port, '127.0.0.1'));
        await until(() => transport.stats().handshakes.pending === i + 1);
      }
      const refused = nextErrors(transport, HandshakeBudgetError);
      const stranger = await idle(port, '127.0.0.5');
      await new Promise<void>((resolve) => stranger.once('close', () => resolve()));
      expect(await refused).toMatchObject([{ outcome: 'refused' }]);
      expect(fromPeers.every((s) => !s.destroyed)).toBe(true);
      expect(transport.stats().handshakes).toMatchObject({ pending: 3, refused: 1, evicted: 0 });
    });
  });

  describe('partial-frame budget', () => {
    test('20 unknown peers announcing 16 MiB frames are closed at the length prefix; nothing is held', async () => {
      const { transport, port } = await node({ acceptUnknownPeers: true });
      const errors = nextErrors(transport, FrameTooLargeError, 20);
      const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
      const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => peer(port, `stranger-${i}`)));
      for (const s of strangers) s.sendRaw(partialFrame(16 * MIB, 256 * KIB));
      const tooLarge = await errors;
      expect(tooLarge.map((e) => e.limit)).toEqual(Array(20).fill(2 * MIB));
      await Promise.all(strangers.map((s) => s.closed));
      expect(transport.stats().partialFrames).toMatchObject({ bytes: 0 });
      expect(transport.stats().partialFrames.peakBytes).toBe(0); // the length prefix alone was refused
      console.log(`20 unknown peers x 16 MiB prefix: peak held ${transport.stats().partialFrames.peakBytes} bytes; ` +
        `arrayBuffers ${((process.memoryUsage().arrayBuffers - arrayBuffersBefore) / MIB).toFixed(1)} MiB above the start`);
    });

    test('an unknown peer is limited to small frames until setPeer names it', async () => {
      const { transport, port } = await node({ acceptUnknownPeers: true, maxUnknownPeerFrameBytes: 64 * KIB });
      const early = await peer(port, 'early');
      const tooLarge = nextErrors(transport, FrameTooLargeError);
      early.sendRaw(partialFrame(512 * KIB, 200 * KIB));
      expect(await tooLarge).toMatchObject([{ peerId: 'early', limit: 64 * KIB }]);
      await early.closed;
      const late = await peer(port, 'late');
      await until(() => transport.stats().peers.late?.connected === true);
      transport.setPeer('late', '127.0.0.1:9');
      late.sendRaw(partialFrame(512 * KIB, 200 * KIB));
      await until(() => transport.stats().partialFrames.bytes >= 200 * KIB);
      expect(late.socket.destroyed).toBe(false);
    });

    test('known peers\' partial frames together stay within the budget; the one that would exceed it is closed', async () => {
      const { transport, port } = await node({ maxFrameBytes: 2 * MIB, maxPartialFrameBytes: 4 * MIB });
      const [a, b, c] = [await peer(port, 'a'), await peer(port, 'b'), await peer(port, 'c')];
      const overBudget = nextErrors(transport, FrameBudgetExceededError);
      // Each announces 1.5 MiB and sends 1.4 MiB: a and b fit (each holds about what arrived), c does not.
      const frame = 1536 * KIB;
      const sent = 1400 * KIB;
      a.sendRaw(partialFrame(frame, sent));
      await until(() => transport.stats().partialFrames.bytes >= sent);
      b.sendRaw(partialFrame(frame, sent));
      await until(() => transport.stats().partialFrames.bytes >= 2 * sent);
      c.sendRaw(partialFrame(frame, sent));
      expect(await overBudget).toMatchObject([{ peerId: 'c', budget: 4 * MIB }]);
      await c.closed;
      const { partialFrames } = transport.stats();
      expect(partialFrames.bytes).toBeLessThanOrEqual(4 * MIB);
      expect(partialFrames.peakBytes).toBeLessThanOrEqual(4 * MIB);
      expect(partialFrames.overBudget).toBe(1);
      expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
      // Completing a frame releases what it held (its buffer, at least the bytes that arrived).
      const before = partialFrames.bytes;
      a.sendRaw(Buffer.alloc(frame - sent, 0x61));
      await until(() => transport.stats().partialFrames.bytes <= before - sent);
    });

    test('a partial frame that stops arriving closes its connection with FrameStalledError and releases its bytes', async () => {
      const { transport, port } = await node({ partialFrameTimeout: 300 });
      const a = await peer(port, 'a');
      const stalled = nextErrors(transport, FrameStalledError);
      a.sendRaw(partialFrame(1 * MIB, 100 * KIB));
      await until(() => transport.stats().partialFrames.bytes > 0);
      expect(await stalled).toMatchObject([{ peerId: 'a', timeout: 300 }]);
      await a.closed;
      expect(transport.stats().partialFrames.bytes).toBe(0);
    });
  });
});
