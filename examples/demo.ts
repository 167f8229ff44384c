/**
 * rxraft on the real stack: three KV server processes (examples/kv-server.ts) talking
 * Raft over TCP on loopback, each with a write-ahead log (FileStorage) in a temporary
 * directory. The demo prints what the nodes' streams — leader$, members$, committed$ —
 * report while the cluster starts, takes writes over HTTP, loses its leader to SIGKILL,
 * elects another, and gains a fourth member (added as a learner, then promoted).
 *
 *   npm start
 *
 * It cleans up after itself (children, ports, the temporary directory) and exits 0.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { HttpAnswer, request } from './kv/client';
import type { ChildMessage } from './kv/ipc';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from './kv/processes';
import { runWorkSharing } from './work-sharing';

const started = Date.now();
const tty = process.stdout.isTTY === true;
const paint = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const dim = paint(2);
const bold = paint(1);
const colors = [paint(36), paint(33), paint(35), paint(32), paint(34)];
const nodeColor = (id: string) => colors[(Number(id.slice(1)) - 1) % colors.length](id);
const clock = () => dim(`${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`);

function say(who: string, what: string): void {
  console.log(`${clock()}  ${who.padEnd(tty ? who.length + Math.max(0, 14 - visible(who).length) : 14)}${what}`);
}
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
function step(title: string): void {
  console.log(`\n${bold(`── ${title}`)}`);
}

/**
 * Stream events from the children, grouped: the same event reported by several nodes
 * within a short window prints once, prefixed by all of them.
 */
class EventPrinter {
  private readonly pending = new Map<string, { nodes: string[]; text: string; order: number }>();
  private timer: NodeJS.Timeout | null = null;
  private order = 0;

  add(message: ChildMessage): void {
    if (message.type !== 'event') return;
    const described = describe(message.stream, message.value);
    if (!described) return;
    const key = `${message.stream}:${described}`;
    const group = this.pending.get(key);
    if (group) group.nodes.push(message.id);
    else this.pending.set(key, { nodes: [message.id], text: described, order: this.order++ });
    this.timer ??= setTimeout(() => this.flush(), 120);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const groups = [...this.pending.values()].sort((a, b) => a.order - b.order);
    this.pending.clear();
    for (const g of groups) say(`[${g.nodes.sort().map(nodeColor).join(' ')}]`, g.text);
  }
}

function describe(stream: string, value: unknown): string | null {
  switch (stream) {
    case 'leader': {
      const l = value as { id: string; term: number } | null;
      return `${bold('leader$')}     ${l ? `${nodeColor(l.id)} leads (term ${l.term})` : 'no leader'}`;
    }
    case 'members': {
      const m = value as { voters: string[]; learners: string[]; index: number; committed: boolean };
      if (m.voters.length === 0 && m.learners.length === 0) return `${bold('members$')}    not a member yet: waits for the leader to add it`;
      const learners = m.learners.length ? `; learners ${m.learners.map(nodeColor).join(', ')}` : '';
      const where = m.index === 0 ? 'initial configuration' : `configuration entry #${m.index}, ${m.committed ? 'committed' : 'appended'}`;
      return `${bold('members$')}    voters ${m.voters.map(nodeColor).join(', ')}${learners}  ${dim(`(${where})`)}`;
    }
    case 'committed': {
      const e = value as { index: number; term: number; command: string };
      return `${bold('committed$')}  #${e.index}  ${e.command}`;
    }
    default:
      return null;
  }
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

let cleanup: () => Promise<void> = async () => undefined;

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-demo-'));
  const children = new Map<string, KvChild>();
  const agent = new http.Agent({ keepAlive: true });
  cleanup = async () => {
    await Promise.all([...children.values()].map((c) => c.stop(1000)));
    agent.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await run(root, children, agent);
  } finally {
    await cleanup();
  }
}

async function run(root: string, children: Map<string, KvChild>, agent: http.Agent): Promise<void> {
  const secret = crypto.randomBytes(16).toString('hex');
  const ports = await freePorts(8);
  const specs: LocalNodeSpec[] = [0, 1, 2, 3].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 4] }));
  const initial = specs.slice(0, 3);
  const printer = new EventPrinter();
  const acknowledged = new Map<string, string>();

  const start = (spec: LocalNodeSpec, join = false) => {
    const child = forkKvServer({
      id: spec.id,
      args: localNodeArgs(spec, initial, root, join ? ['--join'] : []),
      env: { RXRAFT_SECRET: secret, RXRAFT_WATCH: 'leader,members,committed' },
      onLine: (line, stream) => stream === 'stderr' && say(`[${nodeColor(spec.id)}]`, dim(line)),
    });
    child.messages$.subscribe((m) => printer.add(m));
    children.set(spec.id, child);
    return child;
  };
  const url = (id: string, route: string) => `http://127.0.0.1:${specs.find((s) => s.id === id)!.httpPort}${route}`;
  const call = async (method: string, id: string, route: string, body?: string, note = ''): Promise<HttpAnswer> => {
    printer.flush();
    say('client', `${method} ${route}${body !== undefined ? ` ${JSON.stringify(body)}` : ''} → ${nodeColor(id)}${note ? dim(`  ${note}`) : ''}`);
    const t = Date.now();
    const answer = await request(method, url(id, route), { body, agent });
    const took = Date.now() - t;
    await settle(150);
    printer.flush();
    say('', `${dim('←')} ${answer.status} ${answer.body.trim()}  ${dim(`(${took} ms)`)}`);
    return answer;
  };
  const leaderAmong = async (ids: string[]): Promise<string> => {
    // Ask the nodes' /status until one names a leader they agree on.
    for (let i = 0; i < 100; i++) {
      const views = await Promise.all(ids.map((id) => request('GET', url(id, '/status'), { agent }).then((a) => JSON.parse(a.body) as { leader: string | null }).catch(() => null)));
      const leader = views.find((v) => v?.leader && ids.includes(v.leader))?.leader;
      if (leader) return leader;
      await settle(100);
    }
    throw new Error('no leader elected');
  };
  const write = async (id: string, key: string, value: string, note = '') => {
    const answer = await call('PUT', id, `/kv/${key}`, value, note);
    if (answer.status === 200) acknowledged.set(key, value);
    return answer;
  };

  console.log(bold('rxraft demo: a replicated key-value store on three processes'));
  console.log(dim(`each node is examples/kv-server.ts: Raft over TCP (shared-secret auth) + a write-ahead log in ${root}\n`));

  step('1. Start three nodes; watch them elect a leader');
  say('demo', `starting ${initial.map((s) => nodeColor(s.id)).join(', ')} as child processes`);
  await Promise.all(initial.map((s) => start(s).ready));
  const leader = await leaderAmong(initial.map((s) => s.id));
  await settle(400);
  printer.flush();
  say('demo', dim('(each node also records its HTTP address in the store, so followers can name the leader\'s)'));

  step('2. Writes: any node takes them; followers forward to the leader');
  const follower = initial.find((s) => s.id !== leader)!.id;
  await write(follower, 'greeting', 'hello', `${follower} is a follower: rxraft forwards the write to ${leader}`);
  await write(leader, 'counter', '1');
  await call('POST', follower, '/kv/counter?cas=1', '2', 'compare-and-set: 1 → 2');
  acknowledged.set('counter', '2');
  await call('POST', follower, '/kv/counter?cas=1', '3', 'again: the value is no longer 1');
  await call('GET', initial.find((s) => s.id !== leader && s.id !== follower)!.id, '/kv/greeting', undefined, 'linearizable read (ReadIndex)');

  step(`3. SIGKILL the leader ${leader}`);
  const killedAt = Date.now();
  children.get(leader)!.kill('SIGKILL');
  say('demo', `${nodeColor(leader)} killed; the others notice the missing heartbeats and hold an election`);
  const survivors = initial.map((s) => s.id).filter((id) => id !== leader);
  const next = await leaderAmong(survivors);
  await settle(200);
  printer.flush();
  say('demo', `${nodeColor(next)} took over ${Date.now() - killedAt} ms after the kill`);
  await write(survivors.find((id) => id !== next)!, 'after-crash', 'still writable', 'a majority (2 of 3) is enough');
  for (const [key, value] of acknowledged) {
    const answer = await request('GET', url(next, `/kv/${key}`), { agent });
    if (answer.body !== value) throw new Error(`lost write: ${key} = ${JSON.stringify(answer.body)}, expected ${JSON.stringify(value)}`);
  }
  say('demo', `every acknowledged write (${acknowledged.size}) reads back from ${nodeColor(next)} ✓`);
  say('demo', dim('(the index skipped above is the new leader\'s no-op entry: committed$ carries only commands)'));

  step(`4. Restart ${leader}: its log replays into its state machine, then it catches up`);
  await start(specs.find((s) => s.id === leader)!).ready;
  await firstValueFrom(
    children.get(leader)!.messages$.pipe(
      filter((m) => m.type === 'event' && m.stream === 'committed' && (m.value as { command: string }).command.includes('after-crash')),
      timeout(10_000),
    ),
  );
  await settle(200);
  printer.flush();

  step('5. A fourth node joins: added as a learner, promoted to voter once caught up');
  const n4 = specs[3];
  await start(n4, true).ready;
  await call('POST', survivors[0], '/members', JSON.stringify({ id: n4.id, raft: `127.0.0.1:${n4.raftPort}`, http: `127.0.0.1:${n4.httpPort}` }), 'a follower redirects membership changes to the leader');
  await settle(300);
  printer.flush();
  await call('GET', n4.id, '/kv/greeting', undefined, `${n4.id} has the whole history`);

  step('6. Servers react to members$: work shared by consistent hashing over the voters (in one process)');
  await runWorkSharing();

  step('Done');
  say('demo', `stopping the nodes and removing ${root} ${dim(`(total ${((Date.now() - started) / 1000).toFixed(1)} s)`)}`);
}

const watchdog = setTimeout(() => {
  console.error('demo did not finish within 30 s');
  void cleanup().finally(() => process.exit(1));
}, 30_000);
watchdog.unref();
main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
