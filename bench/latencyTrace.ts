/**
 * With `RXRAFT_LATENCY_TRACE=1`, a benchmark node (bench/clusterNode.ts) records when each
 * stage of a write happens in its process — a proposal made and resolved, a log append
 * called and durable, a frame written to and read from a peer socket, a message handed to
 * the transport and stepped, an entry applied, and every `setImmediate` callback (one
 * event-loop turn of the check phase) — on the monotonic clock, which all processes of
 * the machine share. `bench/latencyTimeline.ts` collects the three nodes' records after a
 * one-proposer load and lays one write's stages out end to end. Nothing in `src/` knows:
 * the hooks wrap the server's node, storage and transport objects, its HTTP server's
 * requests, two `Connection` methods and `FileHandle` writes.
 *
 * @example
 * const trace = traceLatency(server); // in the node process
 * await server.node.propose(cmd); // marks 'propose', then 'resolved' with its index
 * trace.take(); // → [{ t: 81234567.1, what: 'propose', index: 0 }, ...]
 */
import * as fsp from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { KvServer } from '../examples/kv/server';
import { Connection } from '../src/transports/tcpConnection';

/** One stage reached: when (µs on the monotonic clock), what, and the log index when known. */
export interface TraceEvent {
  readonly t: number;
  readonly what: string;
  readonly index: number;
}

/** The most events kept (the rest are not recorded): a few seconds at one proposer. */
const MAX_EVENTS = 400_000;

export interface LatencyTrace {
  mark(what: string, index?: number): void;
  /** The events recorded so far; recording starts again from empty. */
  take(): TraceEvent[];
}

const nowMicros = () => Number(process.hrtime.bigint()) / 1000;

/** Whether the environment asks benchmark nodes to record write timelines. */
export const latencyTraceWanted = (env: NodeJS.ProcessEnv = process.env): boolean => env.RXRAFT_LATENCY_TRACE === '1';

/** Installs the hooks in this process (once) and returns the trace. */
export function traceLatency(server: KvServer): LatencyTrace {
  let events: TraceEvent[] = [];
  const mark = (what: string, index = 0) => {
    if (events.length < MAX_EVENTS) events.push({ t: nowMicros(), what, index });
  };
  (globalThis as unknown as { __lt: typeof mark }).__lt = mark;
  const storage = server.storage;
  const append = storage.append.bind(storage);
  storage.append = (entries) => {
    const last = entries.length ? entries[entries.length - 1].index : 0;
    mark('appendCall', last);
    const done = append(entries);
    done.then(() => mark('durable', last), () => undefined);
    return done;
  };
  const transport = server.transport;
  const send = transport.send.bind(transport);
  transport.send = (to, message) => {
    mark(`send:${message.type}`);
    send(to, message);
  };
  // Subscribed after the node: the mark comes once the node has stepped the message.
  transport.inbound$.subscribe(({ message }) => mark(`stepped:${message.type}`));
  server.node.committed$.subscribe((e) => mark('applied', e.index));
  const node = server.node as { propose: KvServer['node']['propose'] };
  const propose = node.propose.bind(node);
  node.propose = (data, options) => {
    mark('propose');
    const done = propose(data, options);
    done.then((at) => mark('resolved', at.index), () => undefined);
    return done;
  };
  // HTTP: a request's bytes read, its handler called, its answer ended.
  server.httpServer.on('connection', (socket: Socket) => socket.prependListener('data', () => mark('httpRead')));
  server.httpServer.prependListener('request', (_req, res) => {
    mark('httpRequest');
    const end = res.end;
    res.end = function (this: typeof res, ...args: unknown[]) {
      mark('httpEnd');
      return (end as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.end;
  });
  const proto = Connection.prototype as unknown as { write: (frames: Buffer | readonly Buffer[]) => boolean; receive: (chunk: Buffer) => void };
  const write = proto.write;
  proto.write = function (this: Connection, frames) {
    mark(`sockWrite:${this.peerId}`);
    return write.call(this, frames);
  };
  const receive = proto.receive;
  proto.receive = function (this: Connection, chunk: Buffer) {
    mark(`sockRead:${this.peerId}`, chunk.length);
    receive.call(this, chunk);
  };
  // When the write(2) of a log append is handed to the thread pool (FileHandle's prototype is not exported: take it from a handle).
  void fsp.open(__filename, 'r').then((handle) => {
    const fileProto = Object.getPrototypeOf(handle) as Record<'write' | 'writev', (...args: unknown[]) => Promise<unknown>>;
    for (const name of ['write', 'writev'] as const) {
      const original = fileProto[name];
      fileProto[name] = function (this: unknown, ...args: unknown[]) {
        mark('fsWrite');
        return original.apply(this, args);
      };
    }
    return handle.close();
  });
  const immediate = global.setImmediate;
  global.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) =>
    immediate(() => {
      mark('immediate');
      fn(...args);
    })) as typeof setImmediate;
  return {
    mark,
    take: () => {
      const taken = events;
      events = [];
      return taken;
    },
  };
}
