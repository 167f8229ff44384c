/**
 * With `RXRAFT_HEARTBEAT_TRACE=<path prefix>`, a benchmark node records every
 * AppendEntries it hands its transport (`out`) and every one its transport delivers
 * (`in`: read from the socket, decoded, before the node handles it): wall time, peer,
 * term, round (`seq`) and entry count, one JSON line each in `<prefix>-<pid>.jsonl`,
 * written once a second. All nodes run on one machine, so `Date.now()` is one clock:
 * joining a heartbeat's `out` line on the leader with its `in` line on the follower (same
 * term, seq, and no entries) gives how long it took from the leader's loop to the
 * follower's transport — the time it spent behind entry bytes in the outbox, the sockets
 * and the follower's reads (issue 17).
 *
 *   RXRAFT_HEARTBEAT_TRACE=/tmp/hb npm run bench -- --only library --sizes 65536 --levels 1024
 *   npx ts-node --transpile-only bench/heartbeatTrace.ts /tmp/hb-*.jsonl
 *
 * @example
 * const stop = traceHeartbeats(server.transport, 'n2', '/tmp/hb');
 * // /tmp/hb-1234.jsonl: {"t":1796527819836,"node":"n2","dir":"out","peer":"n1","term":3,"seq":812,"n":0}
 * stop();
 */
import * as fs from 'node:fs';
import type { Transport } from '../src';

interface HeartbeatLine {
  readonly t: number;
  readonly node: string;
  readonly dir: 'out' | 'in';
  readonly peer: string;
  readonly term: number;
  readonly seq: number;
  /** Entries carried (0: a heartbeat). */
  readonly n: number;
}

/** The trace's path prefix, when one is wanted. */
export function heartbeatTracePrefix(): string | null {
  return process.env.RXRAFT_HEARTBEAT_TRACE || null;
}

/** Starts recording `transport`'s AppendEntries; returns what stops it (and writes what is buffered). */
export function traceHeartbeats(transport: Transport, node: string, prefix: string): () => void {
  const file = `${prefix}-${process.pid}.jsonl`;
  let lines: string[] = [];
  const record = (line: HeartbeatLine) => lines.push(`${JSON.stringify(line)}\n`);
  const flush = () => {
    if (lines.length > 0) fs.appendFileSync(file, lines.join(''));
    lines = [];
  };
  const send = transport.send.bind(transport);
  transport.send = (to, message) => {
    if (message.type === 'AppendEntries') record({ t: Date.now(), node, dir: 'out', peer: to, term: message.term, seq: message.seq, n: message.entries.length });
    send(to, message);
  };
  const inbound = transport.inbound$.subscribe(({ from, message }) => {
    if (message.type === 'AppendEntries') record({ t: Date.now(), node, dir: 'in', peer: from, term: message.term, seq: message.seq, n: message.entries.length });
  });
  const timer = setInterval(flush, 1000);
  timer.unref();
  process.on('exit', flush);
  return () => {
    clearInterval(timer);
    process.off('exit', flush);
    inbound.unsubscribe();
    transport.send = send;
    flush();
  };
}

/**
 * Joins heartbeats sent with their arrival: for each follower, the delays (ms) from the
 * leader's send to the follower's transport, and the longest gaps (ms) between
 * AppendEntries arriving from its leader.
 */
export function heartbeatDelays(lines: readonly HeartbeatLine[]): { delays: number[]; arrivalGaps: number[] } {
  const sent = new Map<string, number>();
  for (const l of lines) if (l.dir === 'out' && l.n === 0) sent.set(`${l.node}>${l.peer}:${l.term}:${l.seq}`, l.t);
  const delays: number[] = [];
  const arrivalGaps: number[] = [];
  const lastArrival = new Map<string, number>();
  for (const l of [...lines].sort((a, b) => a.t - b.t)) {
    if (l.dir !== 'in') continue;
    const key = `${l.peer}>${l.node}`;
    const previous = lastArrival.get(`${key}:${l.term}`);
    if (previous !== undefined) arrivalGaps.push(l.t - previous);
    lastArrival.set(`${key}:${l.term}`, l.t);
    const at = l.n === 0 ? sent.get(`${key}:${l.term}:${l.seq}`) : undefined;
    if (at !== undefined) delays.push(l.t - at);
  }
  return { delays, arrivalGaps };
}

if (require.main === module) {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('usage: bench/heartbeatTrace.ts <prefix>-*.jsonl');
  const lines = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter((t) => t.startsWith('{')).map((t) => JSON.parse(t) as HeartbeatLine));
  const { delays, arrivalGaps } = heartbeatDelays(lines);
  const pct = (xs: number[], p: number) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]);
  const over = (xs: number[], ms: number) => xs.filter((x) => x > ms).length;
  console.log(JSON.stringify({
    heartbeats: delays.length,
    delayMs: { p50: pct(delays, 0.5), p99: pct(delays, 0.99), max: pct(delays, 1), over50: over(delays, 50), over100: over(delays, 100) },
    arrivals: arrivalGaps.length + 1,
    arrivalGapMs: { p50: pct(arrivalGaps, 0.5), p99: pct(arrivalGaps, 0.99), max: pct(arrivalGaps, 1), over150: over(arrivalGaps, 150) },
  }));
}
