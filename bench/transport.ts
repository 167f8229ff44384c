/**
 * TCP transport throughput between two processes over loopback, against a raw
 * length-prefixed socket doing the same exchange.
 *
 *     npm run bench:transport                 # 3 runs of each scenario, prints medians
 *     RUNS=5 SECONDS=3 npm run bench:transport
 *     PROFILE=1 ...                           # the forked server writes a --cpu-prof profile to /tmp/prof
 *     V8_FLAGS="--trace-gc" ...               # extra node/V8 flags for the forked server
 *
 * Per scenario it reports CPU time per pair on each side, the system (kernel) part of it,
 * and read and write system calls per pair (/proc/<pid>/io), so that a gap to the raw
 * socket can be told apart as JavaScript, kernel work or the number of syscalls.
 * Scenarios (the parent process is the client, a forked child the server):
 * - heartbeat: AppendEntries without entries -> AppendEntriesResponse, pipelined
 *   (WINDOW requests in flight, one new request per response), over one connection (the
 *   control lane: both carry no payload bytes).
 * - append64:  AppendEntries with 64 entries of 100 bytes (entry objects made before the
 *   measured window, a block laid out afresh for each message) -> AppendEntriesResponse, pipelined:
 *   the send of a batch whose block is not encoded yet. Requests travel on the bulk lane's
 *   connection, responses on the control lane's (the raw-* ceiling uses one socket).
 * - append64-logged: the same messages with their entries as a leader's log hands them out:
 *   views into the block encoded once when the batch was appended (`RaftLog.append`, for the
 *   write-ahead log and every follower), remembered for them (`RaftLog.slice`), so the
 *   transport copies that block into its write: what a leader pays per follower per batch.
 * - raw-*:     the same frame sizes and pattern over a bare net.Socket: length-prefixed
 *   frames, frames of one turn in one write, no encoding or validation. The ceiling.
 * - codec-append64: `append64-logged`'s messages over the raw socket's framing and writes,
 *   each encoded and decoded by the transport's codec (`EnvelopeEncoder`, `EnvelopeDecoder`:
 *   envelope, layout, validation, the block's checks), with none of the transport around
 *   it (no lanes, outbox, flow control, handshake or streams). Between raw and the
 *   transport: how much of the gap the wire format's own work is.
 *
 * Prints a table and writes JSON under bench/results/.
 */
import { ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { EntryKind, type Entry } from '../src/messages/entry';
import { rememberBlock } from '../src/messages/entryBlocks';
import { decodeEntries, encodeEntries } from '../src/messages/entryCodec';
import { entryRunOf } from '../src/messages/receivedAppendEntries';
import type { AppendEntries, AppendEntriesResponse } from '../src/messages/types';
import { writeBlock } from '../src/messages/entryBlocks';
import { encodeEnvelope, EnvelopeDecoder, EnvelopeEncoder } from '../src/transports/tcpCodec';
import { tcpTransport, TcpTransport } from '../src/transports/tcpTransport';
import { cpuTimes, stealPercent } from './cpuSteal';
import { processSyscalls, SyscallCounts } from './procCpu';

type Scenario = 'heartbeat' | 'append64' | 'append64-logged' | 'codec-append64' | 'raw-heartbeat' | 'raw-append64';
const ALL: Scenario[] = ['heartbeat', 'raw-heartbeat', 'append64', 'append64-logged', 'codec-append64', 'raw-append64'];
/** `ONLY=append64,raw-append64` runs a subset. */
const SCENARIOS = process.env.ONLY ? ALL.filter((s) => process.env.ONLY!.split(',').includes(s)) : ALL;
const RUNS = Number(process.env.RUNS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 3);
const WARMUP_MS = 1000;
const WINDOW: Record<Scenario, number> = { heartbeat: Number(process.env.HB_WINDOW ?? 2000), 'raw-heartbeat': Number(process.env.HB_WINDOW ?? 2000), append64: 256, 'append64-logged': 256, 'codec-append64': 256, 'raw-append64': 256 };
const SECRET = 'bench-secret';
const CLUSTER = 'bench';
const ENTRIES = 64;
const ENTRY_BYTES = 100;

interface Result {
  scenario: Scenario;
  run: number;
  pairsPerSecond: number;
  megabytesPerSecond: number;
  /** CPU time (user + system) per request/response pair, in microseconds. */
  clientCpuMicros: number;
  serverCpuMicros: number;
  /** The system (kernel) part of it: sends, receives, loopback delivery. */
  clientSystemMicros: number;
  serverSystemMicros: number;
  /** Read-type and write-type system calls per pair, each side (/proc/<pid>/io; NaN where unreadable). */
  clientReadsPerPair: number;
  clientWritesPerPair: number;
  serverReadsPerPair: number;
  serverWritesPerPair: number;
  requestBytes: number;
  responseBytes: number;
}

// ---------------------------------------------------------------------------- messages

const payloads = Array.from({ length: 16 }, (_, i) => Buffer.alloc(ENTRY_BYTES, i));

function heartbeat(i: number): AppendEntries {
  return { type: 'AppendEntries', term: 5, leaderId: 'client', prevLogIndex: i, prevLogTerm: 5, entries: [], leaderCommit: i, seq: i };
}

/**
 * Entry lists made before the measured window, one per message slot: a leader's entries
 * exist before the transport sends them (made by the application's proposals), and making
 * 64 objects per message cost the client about 0.4–0.76 µs per pair that the raw side never
 * pays. More slots than the block cache holds (`CACHED_BLOCKS`, 32), so every message's
 * block is laid out afresh, as a new batch's is: the transport's work is not made lighter.
 */
const APPEND_SLOTS = 1024;
let appendSlots: Entry[][] | undefined;

function append64(i: number): AppendEntries {
  appendSlots ??= Array.from({ length: APPEND_SLOTS }, (_, slot) =>
    Array.from({ length: ENTRIES }, (_, k): Entry => ({ index: slot * ENTRIES + 1 + k, term: 5, kind: EntryKind.Command, data: payloads[k & 15] })),
  );
  const slot = i % APPEND_SLOTS;
  const prevLogIndex = slot * ENTRIES;
  return { type: 'AppendEntries', term: 5, leaderId: 'client', prevLogIndex, prevLogTerm: 5, entries: appendSlots[slot], leaderCommit: prevLogIndex, seq: i };
}

/** Per `append64` slot, its entries as `BlockEntry` views into their encoded block (made before the measured window). */
let loggedSlots: { entries: Entry[]; block: Buffer }[] | undefined;

function append64Logged(i: number): AppendEntries {
  loggedSlots ??= Array.from({ length: APPEND_SLOTS }, (_, slot) => {
    const block = encodeEntries(append64(slot).entries);
    return { entries: decodeEntries(block, { lazy: true }), block };
  });
  const { entries, block } = loggedSlots[i % APPEND_SLOTS];
  rememberBlock(entries, block); // what RaftLog.slice does when a follower's slice is a whole batch
  const prevLogIndex = (i % APPEND_SLOTS) * ENTRIES;
  return { type: 'AppendEntries', term: 5, leaderId: 'client', prevLogIndex, prevLogTerm: 5, entries, leaderCommit: prevLogIndex, seq: i };
}

function response(request: AppendEntries): AppendEntriesResponse {
  // A follower reads a received block as a run (`entryRunOf`), making no entry objects.
  const matchIndex = request.prevLogIndex + (entryRunOf(request)?.length ?? request.entries.length);
  return { type: 'AppendEntriesResponse', term: 5, success: true, matchIndex, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: request.seq };
}

/** Frame sizes of the transport's messages, so the raw baseline moves the same bytes. */
function frameSizes(scenario: Scenario): { request: number; response: number } {
  const request = scenario.includes('append64') ? append64(1000) : heartbeat(1000);
  return {
    request: 4 + encodeEnvelope('client', 'server', request).length,
    response: 4 + encodeEnvelope('server', 'client', response(request)).length,
  };
}

// ---------------------------------------------------------------------------- transport

function transport(id: string, peers: Record<string, string>): TcpTransport {
  return tcpTransport({
    id, listen: { host: '127.0.0.1', port: 0 }, peers, clusterId: CLUSTER, secret: SECRET, maxQueuedMessages: 100_000,
  });
}

async function transportServer(clientPort: number): Promise<number> {
  const t = transport('server', { client: `127.0.0.1:${clientPort}` });
  t.errors$.subscribe((e) => console.error('server:', e.message));
  t.inbound$.subscribe(({ message }) => t.send('client', response(message as AppendEntries)));
  return (await t.listening()).port;
}

async function transportClient(scenario: Scenario, run: number): Promise<Result> {
  const t = transport('client', {});
  t.errors$.subscribe((e) => console.error('client:', e.message));
  const { port } = await t.listening();
  const child = await startServer(scenario, port);
  t.setPeer('server', `127.0.0.1:${child.port}`);
  const make = scenario === 'append64' ? append64 : scenario === 'append64-logged' ? append64Logged : heartbeat;
  let sent = 0;
  let received = 0;
  t.inbound$.subscribe(() => {
    received++;
    t.send('server', make(sent++));
  });
  for (let i = 0; i < WINDOW[scenario]; i++) t.send('server', make(sent++));
  const measured = await measure(child.process, () => received, () => t.stats().peers.server.bytesSent + t.stats().peers.server.bytesReceived);
  child.process.kill();
  await t.close();
  const sizes = frameSizes(scenario);
  return { scenario, run, ...measured, requestBytes: sizes.request, responseBytes: sizes.response };
}

// ---------------------------------------------------------------------------- raw socket

/**
 * Calls `onFrame` per length-prefixed frame; copies only a frame spread over chunks (its
 * bytes so far, then the rest of it from the next chunk), and reads every other frame in
 * place. (It used to join the held tail with the whole next chunk: a copy of nearly every
 * byte with 7.8 KB frames in 64 KiB reads, which made the raw server slower per pair than
 * the transport's and the baseline no ceiling.)
 */
function rawReader(onFrame: (body: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  return (chunk) => {
    let at = 0;
    if (pending) {
      if (pending.length < 4) {
        at = Math.min(4 - pending.length, chunk.length);
        pending = Buffer.concat([pending, chunk.subarray(0, at)]);
        if (pending.length < 4) return;
      }
      const total = 4 + pending.readUInt32BE(0);
      const take = Math.min(total - pending.length, chunk.length - at);
      pending = Buffer.concat([pending, chunk.subarray(at, at + take)]);
      at += take;
      if (pending.length < total) return;
      const body = pending.subarray(4);
      pending = undefined;
      onFrame(body);
    }
    while (chunk.length - at >= 4) {
      const length = chunk.readUInt32BE(at);
      if (chunk.length - at - 4 < length) break;
      at += 4 + length;
      onFrame(chunk.subarray(at - length, at));
    }
    if (at < chunk.length) pending = chunk.subarray(at);
  };
}

/** Frames written in one write per turn (like the transport), waiting for `drain` when asked. */
function rawWriter(socket: net.Socket, frame: Buffer): (count: number) => void {
  let queued = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    while (queued > 0 && !socket.writableNeedDrain) {
      const n = Math.min(queued, Math.max(1, Math.floor((256 * 1024) / frame.length)));
      queued -= n;
      const out = Buffer.allocUnsafe(n * frame.length);
      for (let i = 0; i < n; i++) frame.copy(out, i * frame.length);
      socket.write(out);
    }
  };
  socket.on('drain', flush);
  return (count) => {
    queued += count;
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  };
}

function sizedFrame(size: number): Buffer {
  const frame = Buffer.alloc(size, 7);
  frame.writeUInt32BE(size - 4, 0);
  return frame;
}

async function rawServer(scenario: Scenario): Promise<number> {
  const { response: size } = frameSizes(scenario);
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const write = rawWriter(socket, sizedFrame(size));
    socket.on('data', rawReader(() => write(1)));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function rawClient(scenario: Scenario, run: number): Promise<Result> {
  const child = await startServer(scenario, 0);
  const sizes = frameSizes(scenario);
  const socket = net.connect(child.port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const write = rawWriter(socket, sizedFrame(sizes.request));
  let received = 0;
  socket.on('data', rawReader(() => {
    received++;
    write(1);
  }));
  write(WINDOW[scenario]);
  const measured = await measure(child.process, () => received, () => received * (sizes.request + sizes.response));
  socket.destroy();
  child.process.kill();
  return { scenario, run, ...measured, requestBytes: sizes.request, responseBytes: sizes.response };
}

// ---------------------------------------------------------------------------- codec over the raw socket

/** Encoded frames written in one write per turn (as `rawWriter` does with copies of one frame). */
function codecWriter(socket: net.Socket, encoder: EnvelopeEncoder): (message: AppendEntries | AppendEntriesResponse) => void {
  let queued: { head: Buffer; tail: Buffer | Parameters<typeof writeBlock>[0] | undefined }[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (socket.writableNeedDrain || queued.length === 0) return;
    let size = 0;
    for (const { head, tail } of queued) size += 4 + head.length + (tail?.byteLength ?? 0);
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const { head, tail } of queued) {
      at = out.writeUInt32BE(head.length + (tail?.byteLength ?? 0), at);
      at += head.copy(out, at);
      if (tail instanceof Uint8Array) {
        out.set(tail, at);
        at += tail.length;
      } else if (tail !== undefined) at = writeBlock(tail, out, at);
    }
    queued = [];
    socket.write(out);
  };
  socket.on('drain', flush);
  return (message) => {
    queued.push(encoder.encode(message));
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  };
}

async function codecServer(): Promise<number> {
  const decoder = new EnvelopeDecoder('client', 'server');
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const write = codecWriter(socket, new EnvelopeEncoder('server', 'client'));
    socket.on('data', rawReader((body) => write(response(decoder.decode(body).message as AppendEntries))));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function codecClient(scenario: Scenario, run: number): Promise<Result> {
  const child = await startServer(scenario, 0);
  const sizes = frameSizes(scenario);
  const socket = net.connect(child.port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const write = codecWriter(socket, new EnvelopeEncoder('client', 'server'));
  const decoder = new EnvelopeDecoder('server', 'client');
  let sent = 0;
  let received = 0;
  socket.on('data', rawReader((body) => {
    decoder.decode(body);
    received++;
    write(append64Logged(sent++));
  }));
  for (let i = 0; i < WINDOW[scenario]; i++) write(append64Logged(sent++));
  const measured = await measure(child.process, () => received, () => received * (sizes.request + sizes.response));
  socket.destroy();
  child.process.kill();
  return { scenario, run, ...measured, requestBytes: sizes.request, responseBytes: sizes.response };
}

// ---------------------------------------------------------------------------- harness

async function measure(
  server: ChildProcess,
  pairs: () => number,
  bytes: () => number,
): Promise<Omit<Result, 'scenario' | 'run' | 'requestBytes' | 'responseBytes'>> {
  await sleep(WARMUP_MS);
  const serverCpu = ask(server, 'cpu');
  const [p0, b0, t0, c0] = [pairs(), bytes(), process.hrtime.bigint(), process.cpuUsage()];
  const [io0, serverIo0] = [processSyscalls(process.pid), processSyscalls(server.pid!)];
  const s0 = await serverCpu;
  await sleep(SECONDS * 1000);
  const serverCpuAfter = ask(server, 'cpu');
  const [p1, b1, t1, c1] = [pairs(), bytes(), process.hrtime.bigint(), process.cpuUsage(c0)];
  const [io1, serverIo1] = [processSyscalls(process.pid), processSyscalls(server.pid!)];
  const s1 = await serverCpuAfter;
  const count = p1 - p0;
  const seconds = Number(t1 - t0) / 1e9;
  const perPair = (before: SyscallCounts | null, after: SyscallCounts | null, kind: keyof SyscallCounts) =>
    before && after ? (after[kind] - before[kind]) / count : NaN;
  return {
    pairsPerSecond: count / seconds,
    megabytesPerSecond: (b1 - b0) / seconds / 1e6,
    clientCpuMicros: (c1.user + c1.system) / count,
    serverCpuMicros: (s1.user + s1.system - s0.user - s0.system) / count,
    clientSystemMicros: c1.system / count,
    serverSystemMicros: (s1.system - s0.system) / count,
    clientReadsPerPair: perPair(io0, io1, 'reads'),
    clientWritesPerPair: perPair(io0, io1, 'writes'),
    serverReadsPerPair: perPair(serverIo0, serverIo1, 'reads'),
    serverWritesPerPair: perPair(serverIo0, serverIo1, 'writes'),
  };
}

/** Asks the server process a question over IPC (only 'cpu': its CPU time so far, user and system, in µs). */
function ask(child: ChildProcess, question: 'cpu'): Promise<NodeJS.CpuUsage> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as NodeJS.CpuUsage));
    child.send(question);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startServer(scenario: Scenario, clientPort: number): Promise<{ process: ReturnType<typeof fork>; port: number }> {
  const execArgv = ['-r', 'ts-node/register/transpile-only', ...(process.env.PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), ...(process.env.V8_FLAGS ? process.env.V8_FLAGS.split(' ') : [])];
  const child = fork(__filename, ['server', scenario, String(clientPort)], { execArgv });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { process: child, port };
}

/** One side's read and write system calls per pair, e.g. `0.14/0.13`. */
function syscalls(r: Pick<Result, 'clientReadsPerPair' | 'clientWritesPerPair' | 'serverReadsPerPair' | 'serverWritesPerPair'>, side: 'client' | 'server'): string {
  const [reads, writes] = side === 'client' ? [r.clientReadsPerPair, r.clientWritesPerPair] : [r.serverReadsPerPair, r.serverWritesPerPair];
  return `${reads.toFixed(2)}/${writes.toFixed(2)}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const [role, scenario, clientPort] = process.argv.slice(2);
  if (role === '--help' || role === '-h') {
    console.log('usage: npm run bench:transport\n\nTCP transport throughput between two processes against a raw socket.\nEnvironment: RUNS (default 3), SECONDS (default 3), ONLY=<scenario,...> (heartbeat, raw-heartbeat, append64, append64-logged, codec-append64, raw-append64), PROFILE=1 (server --cpu-prof to /tmp/prof), V8_FLAGS=<flags for the server>.');
    return;
  }
  if (role === 'server') {
    const s = scenario as Scenario;
    const port = s.startsWith('raw') ? await rawServer(s) : s.startsWith('codec') ? await codecServer() : await transportServer(Number(clientPort));
    process.send?.(port);
    process.on('message', () => process.send?.(process.cpuUsage()));
    process.on('disconnect', () => process.exit(0));
    process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
    return;
  }

  const results: Result[] = [];
  const cpuAtStart = cpuTimes();
  for (let run = 1; run <= RUNS; run++) {
    for (const s of SCENARIOS) {
      const client = s.startsWith('raw') ? rawClient : s.startsWith('codec') ? codecClient : transportClient;
      const result = await client(s, run);
      results.push(result);
      console.log(
        `run ${run} ${s.padEnd(14)} ${Math.round(result.pairsPerSecond).toLocaleString('en').padStart(10)} pairs/s ` +
          `${result.megabytesPerSecond.toFixed(1).padStart(7)} MB/s   CPU µs/pair: client ${result.clientCpuMicros.toFixed(2)} ` +
          `(sys ${result.clientSystemMicros.toFixed(2)}), server ${result.serverCpuMicros.toFixed(2)} (sys ${result.serverSystemMicros.toFixed(2)})   syscalls/pair (read/write): client ${syscalls(result, 'client')}, server ${syscalls(result, 'server')}`,
      );
    }
  }

  const steal = stealPercent(cpuAtStart, cpuTimes());
  const summary = SCENARIOS.map((s) => {
    const mine = results.filter((r) => r.scenario === s);
    return {
      scenario: s,
      pairsPerSecond: median(mine.map((r) => r.pairsPerSecond)),
      megabytesPerSecond: median(mine.map((r) => r.megabytesPerSecond)),
      clientCpuMicros: median(mine.map((r) => r.clientCpuMicros)),
      serverCpuMicros: median(mine.map((r) => r.serverCpuMicros)),
      clientSystemMicros: median(mine.map((r) => r.clientSystemMicros)),
      serverSystemMicros: median(mine.map((r) => r.serverSystemMicros)),
      clientReadsPerPair: median(mine.map((r) => r.clientReadsPerPair)),
      clientWritesPerPair: median(mine.map((r) => r.clientWritesPerPair)),
      serverReadsPerPair: median(mine.map((r) => r.serverReadsPerPair)),
      serverWritesPerPair: median(mine.map((r) => r.serverWritesPerPair)),
      requestBytes: mine[0].requestBytes,
      responseBytes: mine[0].responseBytes,
    };
  });
  const byName = new Map(summary.map((s) => [s.scenario, s]));
  const vsRaw = (s: Scenario): string => {
    if (s.startsWith('raw')) return '';
    const raw = byName.get(`raw-${s.replace('-logged', '').replace('codec-', '')}` as Scenario);
    if (!raw) return '';
    return `${((100 * byName.get(s)!.pairsPerSecond) / raw.pairsPerSecond).toFixed(0)}%`;
  };

  console.log(`\nTCP transport vs raw socket, loopback, two processes; medians of ${RUNS} runs of ${SECONDS} s`);
  console.log('| scenario | request / response frame | pairs/s | MB/s (both ways) | vs raw | CPU µs/pair client / server | of which system | syscalls/pair (read/write) client; server |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const s of summary) {
    console.log(
      `| ${s.scenario} | ${s.requestBytes} B / ${s.responseBytes} B | ${Math.round(s.pairsPerSecond).toLocaleString('en')} | ` +
        `${s.megabytesPerSecond.toFixed(1)} | ${vsRaw(s.scenario)} | ${s.clientCpuMicros.toFixed(2)} / ${s.serverCpuMicros.toFixed(2)} | ` +
        `${s.clientSystemMicros.toFixed(2)} / ${s.serverSystemMicros.toFixed(2)} | ${syscalls(s, 'client')}; ${syscalls(s, 'server')} |`,
    );
  }
  const append = byName.get('append64');
  if (append) console.log(`append64: ${Math.round(append.pairsPerSecond * ENTRIES).toLocaleString('en')} entries/s`);
  if (steal !== null) console.log(`CPU steal during the run: ${steal.toFixed(0)}% of this machine's CPU time went to other guests of the host`);

  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `transport-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ node: process.version, runs: RUNS, seconds: SECONDS, windows: WINDOW, cpuStealPercent: steal, summary, results }, null, 2),
  );
  console.log(`wrote ${file}`);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});

