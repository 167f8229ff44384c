/**
 * The physical floors the cluster benchmark compares against, measured in the same run:
 * one loopback TCP round trip between two processes, and one append + fdatasync of a
 * small record.
 */
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
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
