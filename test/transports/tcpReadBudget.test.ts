/**
 * The bulk lane's read budget (issue 17): a receiver takes at most
 * `bulkReadBytesPerTurn` from a bulk socket per turn of its event loop, so frames on the
 * control lane (heartbeats, read rounds) are handled in between, and not after megabytes
 * of entries. Counted in frames and bytes between heartbeats, never in time.
 */
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { EntryKind } from '../../src/messages/entry';
import type { AppendEntries, Envelope } from '../../src/messages/types';
import { TransportConfigError } from '../../src/transports/tcpErrors';
import type { TcpTransport, TcpTransportOptions } from '../../src/transports/tcpTransport';
import { hasOpenssl, makePki } from './certificates';
import { TcpNetwork, until } from './tcpHarness';

const KIB = 1024;
const ENTRY_BYTES = 32 * KIB;

/** AppendEntries number `seq`: one entry of `bytes` (bulk lane), or none (a heartbeat, control lane). */
function append(seq: number, bytes: number): AppendEntries {
  if (bytes === 0) return { type: 'AppendEntries', term: 1, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq };
  const entries = [{ index: seq, term: 1, kind: EntryKind.Command, data: new Uint8Array(bytes).fill(seq & 0xff) }];
  return { type: 'AppendEntries', term: 1, leaderId: 'a', prevLogIndex: seq - 1, prevLogTerm: seq > 1 ? 1 : 0, entries, leaderCommit: 0, seq };
}

interface Flood {
  /** The seq of every bulk message b received, in the order received. */
  readonly bulkSeqs: number[];
  /** Heartbeats b handled after its first bulk message and before its last. */
  readonly heartbeatsBetween: number;
  /** The most entry bytes b received between two heartbeats (or before the first, after the last one). */
  readonly mostBulkBytesBetweenHeartbeats: number;
}

/**
 * `a` sends `b` `count` messages of one 32 KiB entry at once while playing ping-pong on
 * the control lane: each heartbeat b receives makes a send the next one, so one is always
 * on its way while the entries arrive.
 */
async function flood(a: TcpTransport, b: TcpTransport, count: number): Promise<Flood> {
  const bulkSeqs: number[] = [];
  let heartbeats = 0;
  let heartbeatsAtFirstBulk = -1;
  let heartbeatsAtLastBulk = -1;
  let bulkBytes = 0;
  let most = 0;
  const subscription = b.inbound$.subscribe(({ message }: Envelope) => {
    if (message.type !== 'AppendEntries') return;
    if (message.entries.length === 0) {
      heartbeats++;
      most = Math.max(most, bulkBytes);
      bulkBytes = 0;
      if (bulkSeqs.length < count) a.send('b', append(heartbeats, 0));
      return;
    }
    if (heartbeatsAtFirstBulk < 0) heartbeatsAtFirstBulk = heartbeats;
    heartbeatsAtLastBulk = heartbeats;
    bulkSeqs.push(message.seq);
    bulkBytes += message.entries[0].data.length;
  });
  try {
    a.send('b', append(0, 0));
    for (let seq = 1; seq <= count; seq++) a.send('b', append(seq, ENTRY_BYTES));
    await until(() => bulkSeqs.length === count, 20_000);
  } finally {
    subscription.unsubscribe();
  }
  most = Math.max(most, bulkBytes);
  return { bulkSeqs, heartbeatsBetween: heartbeatsAtLastBulk - heartbeatsAtFirstBulk, mostBulkBytesBetweenHeartbeats: most };
}

const inOrder = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

describe('tcpTransport: the bulk lane reads a bounded number of bytes per turn', () => {
  let network: TcpNetwork;

  afterEach(async () => {
    await network.dispose();
  });

  async function pair(options: Partial<TcpTransportOptions>): Promise<[TcpTransport, TcpTransport]> {
    network = new TcpNetwork((id) => (id === 'b' ? options : {}));
    const a = await network.open('a');
    const b = await network.open('b');
    return [a, b];
  }

  it('handles heartbeats between the entries of a flood, and every entry arrives once, in order', async () => {
    const [a, b] = await pair({ bulkReadBytesPerTurn: 64 * KIB });
    const count = 256; // 8 MiB: at least 128 turns of b's loop at 64 KiB a turn
    const result = await flood(a, b, count);
    expect(result.bulkSeqs).toEqual(inOrder(count));
    // A heartbeat on its way is read at b's next poll; between two, b reads at most two
    // turns' budget of entries and the rest of a frame begun before. Without the budget,
    // libuv reads up to 2 MiB of one socket per poll.
    expect(result.mostBulkBytesBetweenHeartbeats).toBeLessThanOrEqual(4 * 64 * KIB);
    expect(result.heartbeatsBetween).toBeGreaterThanOrEqual(16);
  });

  it('resumes a socket whose budget ran out on its last bytes (a budget of 1 byte pauses after every read)', async () => {
    const [a, b] = await pair({ bulkReadBytesPerTurn: 1 });
    const received: number[] = [];
    const subscription = b.inbound$.subscribe(({ message }) => message.type === 'AppendEntries' && received.push(message.seq));
    try {
      a.send('b', append(1, ENTRY_BYTES));
      await until(() => received.length === 1);
      await new Promise((resolve) => setImmediate(resolve)); // nothing more arrives: the paused socket must still resume
      a.send('b', append(2, ENTRY_BYTES));
      await until(() => received.length === 2);
    } finally {
      subscription.unsubscribe();
    }
    expect(received).toEqual([1, 2]);
    const result = await flood(a, b, 64);
    expect(result.bulkSeqs).toEqual(inOrder(64));
  });

  it('closes cleanly while its bulk socket is paused', async () => {
    const [a, b] = await pair({ bulkReadBytesPerTurn: 1 });
    const lost = firstValueFrom(a.lost$.pipe(filter((peer) => peer === 'b'), take(1), timeout(5000)));
    let received = 0;
    const closed = new Promise<void>((resolve) => {
      const subscription = b.inbound$.subscribe(({ message }) => {
        if (message.type !== 'AppendEntries' || ++received !== 8) return;
        subscription.unsubscribe();
        void b.close().then(resolve); // inside a read that paused the socket
      });
    });
    for (let seq = 1; seq <= 64; seq++) a.send('b', append(seq, ENTRY_BYTES));
    await closed;
    expect(await lost).toBe('b');
    expect(b.stats().partialFrames.bytes).toBe(0);
  });

  it('with no budget (Infinity, the default), delivers every entry once, in order', async () => {
    const [a, b] = await pair({ bulkReadBytesPerTurn: Infinity });
    const result = await flood(a, b, 64);
    expect(result.bulkSeqs).toEqual(inOrder(64));
  });

  it('refuses a budget out of range', async () => {
    network = new TcpNetwork();
    await expect(network.open('a')).resolves.toBeDefined();
    for (const bulkReadBytesPerTurn of [0, -1, 1.5, 64 * 1024 * KIB + 1, Number.NaN]) {
      const bad = new TcpNetwork(() => ({ bulkReadBytesPerTurn }));
      await expect(bad.open('x')).rejects.toThrow(TransportConfigError);
    }
  });

  (hasOpenssl() ? it : it.skip)('keeps the order of a flood over TLS with a budget of 1 byte', async () => {
    const pki = makePki('cluster-ca', ['a', 'b']);
    network = new TcpNetwork((id) => ({ tls: { ca: pki.ca, ...pki.nodes[id] }, ...(id === 'b' ? { bulkReadBytesPerTurn: 1 } : {}) }));
    const a = await network.open('a');
    const b = await network.open('b');
    const result = await flood(a, b, 64);
    expect(result.bulkSeqs).toEqual(inOrder(64));
    expect(result.heartbeatsBetween).toBeGreaterThanOrEqual(1);
  });
});
