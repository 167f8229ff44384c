/**
 * Two lanes per pair of peers (issue 17): entries, snapshot chunks and forwarded commands
 * travel on a bulk connection, everything else on a control connection, so a heartbeat
 * never waits behind entries — neither in the outbox nor in a socket's buffers.
 */
import * as net from 'node:net';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { EntryKind } from '../../src/messages/entry';
import type { AppendEntries, Envelope, NodeId, RaftMessage } from '../../src/messages/types';
import { EnvelopeDecoder } from '../../src/transports/tcpCodec';
import { AuthenticationError, HandshakeError } from '../../src/transports/tcpErrors';
import { FrameReader, joinFrames } from '../../src/transports/tcpFrames';
import { decodeHandshake, encodeHello, NONCE_BYTES, PROTOCOL_NAME, PROTOCOL_VERSION } from '../../src/transports/tcpHandshake';
import { TcpTransport } from '../../src/transports/tcpTransport';
import { CLUSTER, nextError, RawPeer, SECRET, TcpNetwork, until } from './tcpHarness';

const vote: RaftMessage = { type: 'RequestVoteResponse', term: 1, voteGranted: true };

function append(index: number, bytes: number): AppendEntries {
  const entries = bytes === 0 ? [] : [{ index: index + 1, term: 1, kind: EntryKind.Command, data: new Uint8Array(bytes) }];
  return { type: 'AppendEntries', term: 1, leaderId: 'a', prevLogIndex: index, prevLogTerm: index ? 1 : 0, entries, leaderCommit: 0, seq: index };
}

/** The messages `a` sent on a raw peer's connection (its first frame is the handshake's auth). */
function messages(peer: RawPeer, from: NodeId, to: NodeId): RaftMessage[] {
  const decoder = new EnvelopeDecoder(from, to);
  return peer.frames.slice(1).map((body) => (decoder.decode(body) as Envelope).message);
}

describe('tcpTransport lanes', () => {
  let network: TcpNetwork;
  let a: TcpTransport;

  beforeEach(async () => {
    network = new TcpNetwork(() => ({ connectOnStart: false }));
    a = await network.open('a');
  });

  afterEach(async () => {
    await network.dispose();
  });

  it('sends entries on the bulk connection and everything else on the control connection', async () => {
    const b = await network.open('b');
    const got: string[] = [];
    const both = firstValueFrom(b.inbound$.pipe(filter((e) => got.push(e.message.type) === 3), timeout(5000)));
    a.send('b', append(0, 1000));
    a.send('b', append(0, 0)); // a heartbeat
    a.send('b', vote);
    await both;
    expect(got.sort()).toEqual(['AppendEntries', 'AppendEntries', 'RequestVoteResponse']);
    const { lanes, ...sum } = a.stats().peers.b;
    expect(lanes.bulk).toMatchObject({ connected: true, connects: 1, framesSent: 1 });
    expect(lanes.control).toMatchObject({ connected: true, connects: 1, framesSent: 2 });
    expect(sum).toMatchObject({ connected: true, connects: 2, framesSent: 3, bytesSent: lanes.bulk.bytesSent + lanes.control.bytesSent });
    expect(lanes.bulk.bytesSent).toBeGreaterThan(1000);
  });

  it('a heartbeat is not queued behind a full bulk socket: it arrives on the control lane while entries still wait', async () => {
    network.reserve('b', 1); // b is a configured peer; nothing dials it: it reaches a over its own connections
    const bulk = await network.raw('a', 'b', SECRET, CLUSTER, 'bulk');
    const control = await network.raw('a', 'b', SECRET, CLUSTER, 'control');
    bulk.socket.pause(); // b reads nothing from the bulk lane: its socket fills, then a's outbox
    await until(() => a.stats().peers.b.lanes.bulk.connected && a.stats().peers.b.lanes.control.connected);
    const lanes = () => a.stats().peers.b.lanes;
    for (let i = 0; i < 60 && lanes().bulk.queued === 0; i++) {
      a.send('b', append(i, 1 << 20));
      await new Promise((r) => setImmediate(r));
    }
    expect(lanes().bulk.queued).toBeGreaterThan(0); // the bulk socket is backpressured
    a.send('b', append(0, 0)); // a heartbeat
    a.send('b', vote);
    await until(() => messages(control, 'a', 'b').length === 2);
    expect(messages(control, 'a', 'b')).toEqual([append(0, 0), vote]);
    expect(lanes().bulk.queued).toBeGreaterThan(0); // the entries still wait
    expect(lanes().control.queued).toBe(0);
  });

  it('reports the peer lost when a control connection that carried messages closes', async () => {
    network.reserve('b', 1);
    const control = await network.raw('a', 'b');
    await until(() => a.stats().peers.b.lanes.control.connected);
    a.send('b', vote);
    await until(() => control.frames.length === 2);
    const lost = firstValueFrom(a.lost$.pipe(filter((peer) => peer === 'b'), timeout(5000)));
    control.socket.destroy();
    expect(await lost).toBe('b');
    await until(() => !a.stats().peers.b.connected);
  });

  it('refuses a proof made for the other lane', async () => {
    network.reserve('b', 1);
    const refused = nextError(a, AuthenticationError);
    await RawPeer.connect(network.ports.get('a') as number, { id: 'b', lane: 'bulk', proofLane: 'control' });
    expect((await refused).message).toMatch(/wrong proof/);
    expect(a.stats().peers.b.connected).toBe(false);
  });

  it('refuses an acceptor that answers for another lane than the one dialed', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      const reader = new FrameReader(1 << 16);
      socket.on('data', (chunk: Buffer) =>
        reader.push(chunk, (body) => {
          const hello = decodeHandshake(body);
          const lane = hello.kind === 'hello' && hello.lane === 'control' ? 'bulk' : 'control';
          socket.write(joinFrames([encodeHello(CLUSTER, 'b', Buffer.alloc(NONCE_BYTES), { name: PROTOCOL_NAME, version: PROTOCOL_VERSION }, lane)]));
          return true;
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      network.reserve('b', (server.address() as net.AddressInfo).port);
      const refused = nextError(a, HandshakeError);
      a.send('b', vote); // dials the control lane
      expect((await refused).message).toMatch(/answered for the bulk lane, dialed the control lane/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses a peer of the previous protocol version (one connection, no lane)', async () => {
    network.reserve('b', 1);
    const socket = await network.socket('a');
    const refused = nextError(a, HandshakeError);
    socket.write(joinFrames([encodeHello(CLUSTER, 'b', Buffer.alloc(NONCE_BYTES), { name: PROTOCOL_NAME, version: PROTOCOL_VERSION - 1 })]));
    expect((await refused).message).toMatch(`protocol version ${PROTOCOL_VERSION - 1}, expected ${PROTOCOL_VERSION}`);
  });
});
