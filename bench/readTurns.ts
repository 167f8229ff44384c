/**
 * How many bytes Node hands a flooded socket's `data` handler per event-loop turn, and
 * whether pausing the socket stops it (issue 17, the bulk lane's read budget). A child
 * process writes as fast as loopback takes it; this process reads, and counts the bytes
 * and `data` callbacks between two check phases (a `setImmediate` chain), with:
 *
 * - `none`: no budget — libuv reads up to 32 × 64 KiB per poll of one socket;
 * - `pause`: once `budget` bytes came in a turn, `socket.pause()`, and `resume()` at the
 *   next check phase (what `Connection` does on a bulk lane).
 *
 *     npx ts-node --transpile-only bench/readTurns.ts [budgetBytes=262144] [megabytes=512]
 *
 * Prints, per mode, the bytes per turn (p50, p99, max) over the turns that read anything.
 * Run as `readTurns.ts write <port> <megabytes>` it is the writer.
 */
import { fork } from 'node:child_process';
import * as net from 'node:net';

const MIB = 1024 * 1024;

function write(port: number, megabytes: number): void {
  const socket = net.connect(port, '127.0.0.1');
  const chunk = Buffer.alloc(MIB, 7);
  let left = megabytes;
  const pump = () => {
    while (left > 0) {
      left--;
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  socket.once('connect', pump);
}

interface TurnCounts {
  readonly bytes: number[];
  readonly callbacks: number[];
}

/** Reads one writer's flood; `budget` undefined: never pauses. */
function read(budget: number | undefined, megabytes: number): Promise<TurnCounts> {
  return new Promise((resolve) => {
    const counts: TurnCounts = { bytes: [], callbacks: [] };
    let bytes = 0;
    let callbacks = 0;
    let turnBytes = 0;
    let done = false;
    const tick = () => {
      if (bytes > 0) {
        counts.bytes.push(bytes);
        counts.callbacks.push(callbacks);
      }
      bytes = 0;
      callbacks = 0;
      turnBytes = 0;
      if (paused) {
        paused = false;
        socketOf?.resume();
      }
      if (!done) setImmediate(tick);
    };
    let paused = false;
    let socketOf: net.Socket | undefined;
    const server = net.createServer((socket) => {
      socketOf = socket;
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        callbacks++;
        turnBytes += chunk.length;
        if (budget !== undefined && turnBytes >= budget && !paused) {
          paused = true;
          socket.pause();
        }
      });
      socket.on('end', () => {
        done = true;
        server.close();
        resolve(counts);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      fork(__filename, ['write', String(port), String(megabytes)], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
      setImmediate(tick);
    });
  });
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summary(name: string, counts: TurnCounts): string {
  const bytes = [...counts.bytes].sort((a, b) => a - b);
  const callbacks = [...counts.callbacks].sort((a, b) => a - b);
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  return (
    `${name.padEnd(12)} turns ${String(bytes.length).padStart(6)}  bytes/turn p50 ${kib(quantile(bytes, 0.5))}, ` +
    `p99 ${kib(quantile(bytes, 0.99))}, max ${kib(bytes[bytes.length - 1])}; ` +
    `data callbacks/turn p50 ${quantile(callbacks, 0.5)}, max ${callbacks[callbacks.length - 1]}`
  );
}

async function main(): Promise<void> {
  const budget = Number(process.argv[2] ?? 256 * 1024);
  const megabytes = Number(process.argv[3] ?? 512);
  console.log(`node ${process.version}, socket readableHighWaterMark ${new net.Socket().readableHighWaterMark} B, ${megabytes} MiB per run`);
  for (let round = 0; round < 2; round++) {
    console.log(summary('none', await read(undefined, megabytes)));
    console.log(summary(`pause@${budget >> 10}K`, await read(budget, megabytes)));
  }
}

if (process.argv[2] === 'write') write(Number(process.argv[3]), Number(process.argv[4]));
else void main();
