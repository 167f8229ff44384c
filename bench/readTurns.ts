/**
 * How many bytes Node hands a flooded socket's `data` handler per event-loop turn, whether
 * pausing the socket stops it, and what that does to a small message on a second socket
 * (issue 17, the bulk lane's read budget). A child process writes as fast as loopback
 * takes it on one socket (the bulk lane) and plays ping-pong on another (the control
 * lane: the next 16-byte ping once the last one's echo is back). This process reads the
 * flood, spending `workMicros` of CPU per 64 KiB read (a follower decoding, stepping and
 * persisting entries: ~400 µs per 64 KiB entry in the cluster benchmark), echoes each
 * ping at once, and counts the bytes and `data` callbacks between two check phases (a
 * `setImmediate` chain), with:
 *
 * - `none`: no budget — libuv reads up to 32 × 64 KiB per poll of one socket;
 * - `pause`: after every `budget` bytes read, `socket.pause()`, and `resume()` at the
 *   next check phase (what `Connection` does on a bulk lane).
 *
 *     npx ts-node --transpile-only bench/readTurns.ts [budgetBytes=262144] [megabytes=512] [workMicros=0]
 *
 * Prints, per mode, the bytes per turn (p50, p99, max) over the turns that read anything,
 * the flood's MB/s, and the pings' round trips as the writer saw them (p50, p99, max).
 * Run as `readTurns.ts write <port> <megabytes>` it is the writer.
 */
import { fork } from 'node:child_process';
import * as net from 'node:net';

const MIB = 1024 * 1024;
const PING_BYTES = 16;
const PING_BYTE = 1;
const FLOOD_BYTE = 7;

/** The child: floods the first connection, pings on the second, reports the round trips when the flood is written. */
function write(port: number, megabytes: number): void {
  const flood = net.connect(port, '127.0.0.1');
  const ping = net.connect(port, '127.0.0.1');
  for (const socket of [flood, ping]) socket.on('error', () => undefined); // the reader closes them when done
  const chunk = Buffer.alloc(MIB, FLOOD_BYTE);
  const trips: number[] = [];
  let sentAt = 0;
  let pinging = true;
  let echoed = 0;
  const sendPing = () => {
    sentAt = performance.now();
    ping.write(Buffer.alloc(PING_BYTES, PING_BYTE));
  };
  ping.on('data', (data: Buffer) => {
    echoed += data.length;
    if (echoed < PING_BYTES) return;
    echoed -= PING_BYTES;
    trips.push(performance.now() - sentAt);
    if (pinging) sendPing();
  });
  let left = megabytes;
  const pump = () => {
    while (left > 0) {
      left--;
      if (!flood.write(chunk)) return void flood.once('drain', pump);
    }
    pinging = false;
    flood.end(() => {
      (process.send as (message: unknown) => void)(trips);
      ping.end();
    });
  };
  let connected = 0;
  const start = () => {
    if (++connected < 2) return;
    sendPing();
    pump();
  };
  flood.once('connect', start);
  ping.once('connect', start);
}

interface Run {
  readonly bytes: number[];
  readonly callbacks: number[];
  readonly trips: number[];
  readonly seconds: number;
  readonly megabytes: number;
}

function spin(micros: number): void {
  const until = performance.now() + micros / 1000;
  while (performance.now() < until);
}

/** Reads one writer's flood; `budget` undefined: never pauses. */
function read(budget: number | undefined, megabytes: number, workMicros: number): Promise<Run> {
  return new Promise((resolve) => {
    const counts = { bytes: [] as number[], callbacks: [] as number[] };
    let bytes = 0;
    let callbacks = 0;
    let sinceYield = 0;
    let paused = false;
    let floodSocket: net.Socket | undefined;
    let done = false;
    const started = performance.now();
    const tick = () => {
      if (bytes > 0) {
        counts.bytes.push(bytes);
        counts.callbacks.push(callbacks);
      }
      bytes = 0;
      callbacks = 0;
      if (paused) {
        paused = false;
        sinceYield = 0;
        floodSocket?.resume();
      }
      if (!done) setImmediate(tick);
    };
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      let role: 'ping' | 'flood' | undefined;
      socket.on('data', (chunk: Buffer) => {
        role ??= chunk[0] === PING_BYTE ? 'ping' : 'flood'; // the writer's first bytes say which lane this is
        if (role === 'ping') return void socket.write(chunk); // the control lane: echo at once
        floodSocket = socket;
        bytes += chunk.length;
        callbacks++;
        spin((workMicros * chunk.length) / 65536);
        sinceYield += chunk.length;
        if (budget !== undefined && sinceYield >= budget && !paused) {
          paused = true;
          socket.pause();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const child = fork(__filename, ['write', String(port), String(megabytes)], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
      child.once('message', (trips) => {
        const seconds = (performance.now() - started) / 1000;
        done = true;
        server.close();
        floodSocket?.destroy();
        resolve({ ...counts, trips: trips as number[], seconds, megabytes });
      });
      setImmediate(tick);
    });
  });
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summary(name: string, run: Run): string {
  const bytes = [...run.bytes].sort((a, b) => a - b);
  const callbacks = [...run.callbacks].sort((a, b) => a - b);
  const trips = [...run.trips].sort((a, b) => a - b);
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const ms = (n: number) => n.toFixed(2);
  return (
    `${name.padEnd(12)} turns ${String(bytes.length).padStart(6)}  bytes/turn p50 ${kib(quantile(bytes, 0.5))}, ` +
    `p99 ${kib(quantile(bytes, 0.99))}, max ${kib(bytes[bytes.length - 1])}; callbacks/turn max ${callbacks[callbacks.length - 1]}; ` +
    `${((run.megabytes * MIB) / 1e6 / run.seconds).toFixed(0)} MB/s; ` +
    `ping ms p50 ${ms(quantile(trips, 0.5))} p99 ${ms(quantile(trips, 0.99))} max ${ms(trips[trips.length - 1])} (${trips.length})`
  );
}

async function main(): Promise<void> {
  const budget = Number(process.argv[2] ?? 256 * 1024);
  const megabytes = Number(process.argv[3] ?? 512);
  const workMicros = Number(process.argv[4] ?? 0);
  console.log(
    `node ${process.version}, socket readableHighWaterMark ${new net.Socket().readableHighWaterMark} B, ` +
      `${megabytes} MiB per run, ${workMicros} µs of work per 64 KiB read`,
  );
  for (let round = 0; round < 2; round++) {
    console.log(summary('none', await read(undefined, megabytes, workMicros)));
    console.log(summary(`pause@${budget >> 10}K`, await read(budget, megabytes, workMicros)));
  }
}

if (process.argv[2] === 'write') write(Number(process.argv[3]), Number(process.argv[4]));
else void main();
