/**
 * The IPC protocol between a supervising parent (the cluster launcher, the demo, the
 * benchmark) and the KV server processes it forks. Messages are plain JSON objects over
 * the `child_process.fork` channel.
 *
 * The channel also ties the child's life to the parent's: when the parent dies, however
 * it dies (even SIGKILL), the channel closes and the child stops (`superviseByParent`).
 */
import { Subscription } from 'rxjs';
import { decodeCommand, Op } from './commands';
import type { RaftNode } from '../../src';
import type { KvServer } from './server';

/** Streams a child can report to its parent. */
export type StreamName = 'leader' | 'role' | 'term' | 'members' | 'committed' | 'errors';

const STREAMS: readonly StreamName[] = ['leader', 'role', 'term', 'members', 'committed', 'errors'];

/** Parent → child. */
export type ParentMessage =
  | { readonly type: 'watch'; readonly streams: readonly StreamName[] }
  | { readonly type: 'stop' }
  | { readonly type: 'call'; readonly requestId: number; readonly command: string; readonly args?: unknown };

/** Child → parent. */
export type ChildMessage =
  | { readonly type: 'ready'; readonly id: string; readonly pid: number; readonly http: string; readonly raft: string }
  | { readonly type: 'event'; readonly id: string; readonly stream: StreamName; readonly value: unknown; readonly at: number }
  | { readonly type: 'reply'; readonly requestId: number; readonly ok: boolean; readonly value?: unknown; readonly error?: string }
  | { readonly type: 'failed'; readonly id: string; readonly error: string };

/** A command the parent may `call` in the child; resolves with the reply's value. */
export type CallHandler = (args: unknown) => Promise<unknown>;

/** Sends a message to the parent if the channel is open; never throws. */
export function toParent(message: ChildMessage): void {
  if (process.send && process.connected) process.send(message, undefined, undefined, () => undefined);
}

function describeCommand(data: Uint8Array): string {
  try {
    const c = decodeCommand(data);
    const text = (b: Uint8Array) => {
      const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
      return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
    };
    switch (c.op) {
      case Op.Put:
        return `put ${c.key} = ${text(c.value)}`;
      case Op.Delete:
        return `delete ${c.key}`;
      case Op.Cas:
        return `cas ${c.key}: ${text(c.expected)} → ${text(c.value)}`;
      case Op.MemberHttp:
        return `member ${c.key} serves HTTP on ${text(c.value)}`;
    }
  } catch {
    return `(${data.byteLength} bytes, not a KV command)`;
  }
}

/**
 * Puts a forked KV server under its parent's control: reports `ready`, serves `watch`,
 * `stop` and `call` messages (with `handlers` for calls), and stops the server and exits
 * as soon as the parent goes away. Does nothing when the process has no IPC channel.
 *
 * @example
 * const server = await startKvServer(config);
 * superviseByParent(server, { load: (args) => runLoad(server, args) });
 */
export function superviseByParent(server: KvServer, handlers: Readonly<Record<string, CallHandler>> = {}): void {
  if (!process.send) return;
  const id = server.config.id;
  const watching = new Subscription();
  const exit = (code: number) => {
    watching.unsubscribe();
    // Bounded: a parent that is gone wants the port and the directory lock back now.
    const force = setTimeout(() => process.exit(code), 2000);
    force.unref();
    server.stop().finally(() => process.exit(code));
  };
  process.on('disconnect', () => exit(0));
  process.on('message', (raw: unknown) => {
    const message = raw as ParentMessage;
    switch (message?.type) {
      case 'stop':
        exit(0);
        break;
      case 'watch':
        for (const stream of message.streams) watching.add(reportStream(server.node, stream));
        break;
      case 'call': {
        const handler = handlers[message.command];
        const reply = (ok: boolean, value?: unknown, error?: string) => toParent({ type: 'reply', requestId: message.requestId, ok, value, error });
        if (!handler) reply(false, undefined, `unknown command ${message.command}`);
        else handler(message.args).then((v) => reply(true, v), (e: unknown) => reply(false, undefined, e instanceof Error ? e.message : String(e)));
        break;
      }
    }
  });
  toParent({ type: 'ready', id, pid: process.pid, http: server.httpAddress, raft: server.raftAddress });
}

/**
 * Reports the streams named in RXRAFT_WATCH (e.g. `leader,members,committed`) to the
 * parent, from the node's creation on, so nothing emitted during start-up (such as the
 * log replay) is missed. Call it right after `createRaftNode`.
 */
export function reportFromStart(node: RaftNode): Subscription {
  const subscription = new Subscription();
  if (!process.send) return subscription;
  for (const stream of (process.env.RXRAFT_WATCH ?? '').split(',')) {
    if (STREAMS.includes(stream as StreamName)) subscription.add(reportStream(node, stream as StreamName));
  }
  return subscription;
}

/** Reports one of the node's streams to the parent as `event` messages. */
export function reportStream(node: RaftNode, stream: StreamName): Subscription {
  const send = (value: unknown) => toParent({ type: 'event', id: node.id, stream, value, at: Date.now() });
  switch (stream) {
    case 'leader':
      return node.leader$.subscribe((l) => send(l));
    case 'role':
      return node.role$.subscribe((r) => send(r));
    case 'term':
      return node.term$.subscribe((t) => send(t));
    case 'members':
      return node.members$.subscribe((m) => send({ voters: m.voters, learners: m.learners, index: m.index, committed: m.committed }));
    case 'committed':
      return node.committed$.subscribe((e) => send({ index: e.index, term: e.term, command: describeCommand(e.data) }));
    case 'errors':
      return node.errors$.subscribe((e) => send(`${e.name}: ${e.message}`));
  }
}
