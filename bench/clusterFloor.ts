/**
 * The physical floors the cluster benchmark compares against, measured in the same run:
 * one loopback TCP round trip between two processes, and one append + fdatasync of a
 * small record.
 */
import * as fs from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { EntryKind, RaftMessage, tcpTransport } from '../src';
import { LatencySummary, nowMs, Samples } from './clusterStats';

export interface FloorResult {
  readonly iterations: number;
  readonly latencyMs: LatencySummary;
}

/**
 * Ping-pong of a 64-byte message with an echo server in another process (one message in
 * flight), for `ms` milliseconds.
 */
export async function roundTripFloor(port: number, ms: number): Promise<FloorResult> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const message = Buffer.alloc(64, 0x62);
  const samples = new Samples();
  const end = nowMs() + ms;
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    let sentAt = 0;
    const send = () => {
      sentAt = nowMs();
      socket.write(message);
    };
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (received < message.length) return;
      received -= message.length;
      const t = nowMs();
      samples.add(t - sentAt);
      if (t < end) send();
      else resolve();
    });
    socket.once('error', reject);
    send();
  });
  socket.destroy();
  return { iterations: samples.length, latencyMs: samples.summary() };
}

/**
 * Appends a `recordBytes` record at the end of a file and fdatasyncs it, one at a time,
 * for `ms` milliseconds (the size of a write-ahead-log record holding one command).
 */
export async function fsyncFloor(dir: string, recordBytes: number, ms: number): Promise<FloorResult> {
  const file = path.join(dir, 'fsync-floor.bin');
  const handle = await fsp.open(file, 'w');
  const record = Buffer.alloc(recordBytes, 0x63);
  const samples = new Samples();
  let position = 0;
  const end = nowMs() + ms;
  try {
    while (nowMs() < end) {
      const t = nowMs();
      await handle.write(record, 0, record.length, position);
      await handle.datasync();
      samples.add(nowMs() - t);
      position += record.length;
    }
  } finally {
    await handle.close();
    await fsp.rm(file, { force: true });
  }
  return { iterations: samples.length, latencyMs: samples.summary() };
}

/** What one sequential O_DSYNC writer reached. */
export interface BandwidthResult {
  readonly blockBytes: number;
  readonly writes: number;
  readonly seconds: number;
  /** Megabytes (10^6 bytes) per second. */
  readonly mbPerSec: number;
}

/**
 * The disk's bandwidth for one durable writer: `blockBytes` blocks appended one after the
 * other with `fs.writeSync` to a file opened O_DSYNC (each write durable when it returns,
 * as `dd oflag=dsync bs=<blockBytes>` does), for `ms` milliseconds. The reference for
 * large entries: a cluster writing blocks of this size cannot beat it on the same disk.
 * Blocks the event loop while it runs. The file wraps at 1 GiB and is removed.
 */
export function dsyncBandwidth(dir: string, blockBytes: number, ms: number): BandwidthResult {
  const file = path.join(dir, 'dsync-bandwidth.bin');
  const fd = fs.openSync(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_DSYNC, 0o644);
  const block = Buffer.alloc(blockBytes, 0x64);
  const wrapAt = Math.max(blockBytes, Math.floor(2 ** 30 / blockBytes) * blockBytes);
  let writes = 0;
  let position = 0;
  const start = nowMs();
  let elapsed = 0;
  try {
    while ((elapsed = nowMs() - start) < ms) {
      fs.writeSync(fd, block, 0, blockBytes, position);
      writes++;
      position = (position + blockBytes) % wrapAt;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const seconds = elapsed / 1000;
  return { blockBytes, writes, seconds, mbPerSec: (writes * blockBytes) / 1e6 / seconds };
}

/**
 * The disk's bandwidth for each of `writers` durable writers at once, as a three-node
 * cluster on one machine writes: each appends `blockBytes` blocks to its own O_DSYNC file
 * (async writes, so they run together in the thread pool) for `ms` milliseconds. The
 * result is the slowest writer's, in the shape of `dsyncBandwidth`: what one replica
 * can write while the other two write too, the honest reference for a cluster on one disk.
 */
export async function sharedDsyncBandwidth(dir: string, blockBytes: number, ms: number, writers = 3): Promise<BandwidthResult> {
  const block = Buffer.alloc(blockBytes, 0x64);
  const wrapAt = Math.max(blockBytes, Math.floor(2 ** 30 / blockBytes) * blockBytes);
  const start = nowMs();
  const counts = await Promise.all(
    Array.from({ length: writers }, async (_, i) => {
      const file = path.join(dir, `shared-dsync-${i}.bin`);
      const handle = await openDsync(file);
      let writes = 0;
      let position = 0;
      try {
        while (nowMs() - start < ms) {
          await handle.write(block, 0, blockBytes, position);
          writes++;
          position = (position + blockBytes) % wrapAt;
        }
      } finally {
        await handle.close();
        await fsp.rm(file, { force: true });
      }
      return writes;
    }),
  );
  const seconds = (nowMs() - start) / 1000;
  const writes = Math.min(...counts);
  return { blockBytes, writes, seconds, mbPerSec: (writes * blockBytes) / 1e6 / seconds };
}

/** An append-only file whose writes are durable when they return (O_DSYNC), like the WAL's. */
async function openDsync(file: string): Promise<fsp.FileHandle> {
  return fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_DSYNC, 0o644);
}

/**
 * The follower side of `replicationFloor`: a TCP server that, for every `recordBytes`
 * message, appends it durably (O_DSYNC) to a file in `dir` and then answers one byte.
 * Resolves with its port.
 */
export async function replicaEcho(dir: string, recordBytes: number, name = 'replica-floor.bin'): Promise<number> {
  const handle = await openDsync(path.join(dir, name));
  let position = 0;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let pending = 0;
    const ack = Buffer.alloc(1, 0x61);
    socket.on('data', (chunk) => {
      pending += chunk.length;
      while (pending >= recordBytes) {
        pending -= recordBytes;
        const at = position;
        position += recordBytes;
        void handle.write(chunk.subarray(0, recordBytes), 0, recordBytes, at).then(() => socket.write(ack));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/**
 * What one replicated write needs at the least, hand-rolled with nothing else: the leader
 * appends a `recordBytes` record durably (O_DSYNC) while sending it to every `replicaEcho`
 * in `ports` (other processes), which append it durably and answer; the write is done
 * when the leader's own append and the acks of a majority (with the leader) are. With
 * two followers this is a three-node cluster's write on one disk: three durable writes
 * at once, two of them waited for. One write in flight, for `ms` milliseconds. No Raft,
 * no framing, no encoding: the fastest a Node.js program on this machine commits one
 * write with that many followers.
 */
export async function replicationFloor(ports: readonly number[], dir: string, recordBytes: number, ms: number): Promise<FloorResult> {
  const sockets = await Promise.all(
    ports.map(
      (port) =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
          socket.setNoDelay(true);
          socket.once('error', reject);
        }),
    ),
  );
  const file = path.join(dir, 'leader-floor.bin');
  const handle = await openDsync(file);
  const record = Buffer.alloc(recordBytes, 0x65);
  const samples = new Samples();
  const acksNeeded = Math.floor((ports.length + 1) / 2);
  let written = 0;
  let acked: () => void = () => undefined;
  // Acks per follower (each answers in order); write `written` has a majority when
  // `acksNeeded` followers have answered it.
  const acks = sockets.map(() => 0);
  sockets.forEach((socket, i) =>
    socket.on('data', (chunk) => {
      acks[i] += chunk.length;
      if (acks.filter((n) => n > written).length >= acksNeeded) acked();
    }),
  );
  let position = 0;
  const end = nowMs() + ms;
  try {
    while (nowMs() < end) {
      const t = nowMs();
      const ack = new Promise<void>((resolve) => (acked = resolve));
      for (const socket of sockets) socket.write(record);
      await Promise.all([handle.write(record, 0, recordBytes, position), ack]);
      samples.add(nowMs() - t);
      written++;
      position += recordBytes;
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await handle.close();
    await fsp.rm(file, { force: true });
  }
  return { iterations: samples.length, latencyMs: samples.summary() };
}

const TRANSPORT_SECRET = 'bench-transport-floor';

/**
 * The answering side of `transportFloor`: an rxraft TCP transport (id `floor-b`) that
 * answers every AppendEntries with an AppendEntriesResponse. Resolves with its port.
 */
export async function transportEcho(): Promise<number> {
  // floor-a must be a configured peer to be let in; answers go back on the connection it opens.
  const transport = tcpTransport({ id: 'floor-b', listen: { host: '127.0.0.1', port: 0 }, peers: { 'floor-a': '127.0.0.1:9' }, clusterId: 'floor', secret: TRANSPORT_SECRET });
  transport.inbound$.subscribe(({ from, message }) => {
    if (message.type !== 'AppendEntries') return;
    const last = message.entries.length ? message.entries[message.entries.length - 1].index : message.prevLogIndex;
    transport.send(from, { type: 'AppendEntriesResponse', term: message.term, success: true, matchIndex: last, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: message.seq });
  });
  return (await transport.listening()).port;
}

/**
 * One AppendEntries carrying one `entryBytes` entry, answered by `transportEcho` in another
 * process, one in flight, for `ms` milliseconds: the round trip through rxraft's TCP
 * transport (framing, encoding, validation, turn batching) without Raft or disk.
 */
export async function transportFloor(port: number, entryBytes: number, ms: number): Promise<FloorResult> {
  const transport = tcpTransport({ id: 'floor-a', listen: { host: '127.0.0.1', port: 0 }, peers: { 'floor-b': `127.0.0.1:${port}` }, clusterId: 'floor', secret: TRANSPORT_SECRET });
  const data = Buffer.alloc(entryBytes, 0x64);
  const samples = new Samples();
  try {
    await transport.listening();
    const end = nowMs() + ms;
    let index = 0;
    const send = () => {
      index++;
      const message: RaftMessage = {
        type: 'AppendEntries', term: 1, leaderId: 'floor-a', prevLogIndex: index - 1, prevLogTerm: 1,
        entries: [{ index, term: 1, kind: EntryKind.Command, data }], leaderCommit: index - 1, seq: index,
      };
      transport.send('floor-b', message);
      return nowMs();
    };
    await new Promise<void>((resolve, reject) => {
      const stuck = setTimeout(() => reject(new Error('transport floor: no answer')), ms + 5000);
      let sentAt = 0;
      // The first exchange includes dialing and the handshake: not a sample.
      let warm = false;
      transport.inbound$.subscribe(({ message }) => {
        if (message.type !== 'AppendEntriesResponse') return;
        const t = nowMs();
        if (warm) samples.add(t - sentAt);
        warm = true;
        if (t < end) sentAt = send();
        else {
          clearTimeout(stuck);
          resolve();
        }
      });
      sentAt = send();
    });
  } finally {
    await transport.close();
  }
  return { iterations: samples.length, latencyMs: samples.summary() };
}
