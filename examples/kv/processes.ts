/**
 * Forking KV server processes and talking to them over IPC: shared by the cluster
 * launcher, the demo, the benchmark and the integration tests.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Observable, Subject } from 'rxjs';
import type { ChildMessage, ParentMessage, StreamName } from './ipc';

/** The repository root: the nearest directory above this file holding a package.json (also from the compiled tree). */
export const REPO_ROOT = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

const compiled = new Map<string, string | null>();

/** The TypeScript files `entry` imports, directly or not, within this repository. */
function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [path.join(REPO_ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import|require\()\s*'(\.{1,2}\/[^']*)'/g)) {
      const base = path.resolve(path.dirname(file), m[1]);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (found) pending.push(found);
    }
  }
  return [...seen].sort();
}

/**
 * Transpiles `entry` and the files it imports to JavaScript (no type check) into
 * `node_modules/.cache/rxraft-js/<hash of the sources>/`, once, and returns the
 * compiled entry; null if TypeScript is not available. Children then start in a
 * fraction of a second instead of each transpiling ~60 files through ts-node — which
 * matters on a small machine that starts several nodes at once and restarts them in a
 * benchmark. Type checking stays with `npm run typecheck`.
 */
export function compiledEntry(entry: string): string | null {
  // Another process sharing node_modules may have removed a build it thought unused: check.
  const known = compiled.get(entry);
  if (known !== undefined && (known === null || fs.existsSync(known))) return markUsed(known);
  let result: string | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require('typescript') as typeof import('typescript');
    const files = importClosure(entry);
    const hash = crypto.createHash('sha256').update(ts.version);
    const sources = files.map((f) => {
      const text = fs.readFileSync(f, 'utf8');
      hash.update(f).update('\0').update(text).update('\0');
      return text;
    });
    const out = path.join(REPO_ROOT, 'node_modules', '.cache', 'rxraft-js', hash.digest('hex').slice(0, 16));
    if (!fs.existsSync(out)) {
      const staging = `${out}.${process.pid}.tmp`;
      files.forEach((file, i) => {
        const js = ts.transpileModule(sources[i], {
          fileName: file,
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, isolatedModules: true },
        }).outputText;
        const target = path.join(staging, path.relative(REPO_ROOT, file)).replace(/\.ts$/, '.js');
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, js);
      });
      try {
        fs.renameSync(staging, out);
      } catch {
        // Another process finished the same build first: use theirs.
        fs.rmSync(staging, { recursive: true, force: true });
      }
      // Builds of older sources, unused for a while, go.
      const parent = path.dirname(out);
      for (const name of fs.readdirSync(parent)) {
        const old = path.join(parent, name);
        if (old !== out && Date.now() - fs.statSync(old).mtimeMs > 10 * 60_000) fs.rmSync(old, { recursive: true, force: true });
      }
    }
    result = path.join(out, entry.replace(/\.ts$/, '.js'));
  } catch {
    result = null;
  }
  compiled.set(entry, result);
  return markUsed(result);
}

/**
 * Touches the build holding `entry` so that other processes sharing node_modules (other
 * checkouts, other runs) do not remove it as unused while a long run still forks from it.
 */
function markUsed(entry: string | null): string | null {
  if (entry === null) return null;
  const cacheRoot = path.join(REPO_ROOT, 'node_modules', '.cache', 'rxraft-js');
  const build = path.join(cacheRoot, path.relative(cacheRoot, entry).split(path.sep)[0]);
  try {
    const now = new Date();
    fs.utimesSync(build, now, now);
  } catch {
    // Gone meanwhile: the next call rebuilds it.
  }
  return entry;
}

/** How to run a TypeScript entry point of this repository in a child process. */
function entryPoint(entry: string): { modulePath: string; execArgv: string[] } {
  const js = compiledEntry(entry);
  if (js) return { modulePath: js, execArgv: [] };
  return { modulePath: path.join(REPO_ROOT, entry), execArgv: ['-r', 'ts-node/register/transpile-only'] };
}

/** What a child reports once it listens. */
export interface ReadyInfo {
  readonly id: string;
  readonly pid: number;
  readonly http: string;
  readonly raft: string;
}

/** A forked KV server process. */
export interface KvChild {
  readonly id: string;
  readonly process: ChildProcess;
  /** Resolves once the server listens; rejects if the process exits first. */
  readonly ready: Promise<ReadyInfo>;
  /** Every message the child sends (events, replies, failures). */
  readonly messages$: Observable<ChildMessage>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Asks the child to report these streams as `event` messages. */
  watch(streams: readonly StreamName[]): void;
  /** Runs an IPC command in the child (see `superviseByParent`); rejects on error or after `timeoutMs`. */
  call<T = unknown>(command: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Sends a signal (default SIGKILL) unless the process already exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Asks for a clean stop; SIGKILL after `graceMs`. Resolves once exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface ForkOptions {
  /** The node id (for messages before `ready`). */
  readonly id: string;
  /** Arguments of the entry point (kv-server flags). */
  readonly args: readonly string[];
  /** The entry point, relative to the repository root (default `examples/kv-server.ts`). */
  readonly entry?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Each line the child writes to stdout or stderr (default: dropped). */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /**
   * A command that runs node for the child, e.g. `['prlimit', '--nofile=1024:1024']` to
   * start it with a smaller open-file limit. The IPC channel passes through (inherited).
   */
  readonly wrapper?: readonly string[];
}

/**
 * Forks a KV server with an IPC channel. The child stops when this process exits, even
 * by SIGKILL (the channel closes and the child notices: see `superviseByParent`).
 *
 * @example
 * const child = forkKvServer({ id: 'n1', args: ['--id', 'n1', ...], env: { RXRAFT_SECRET } });
 * const { http } = await child.ready;
 * child.kill('SIGKILL');
 */
export function forkKvServer(options: ForkOptions): KvChild {
  const { modulePath, execArgv } = entryPoint(options.entry ?? 'examples/kv-server.ts');
  const nodeArgs = [...execArgv, ...(options.nodeArgs ?? [])];
  const env = { ...process.env, ...options.env };
  const child = options.wrapper
    ? spawn(options.wrapper[0], [...options.wrapper.slice(1), process.execPath, ...nodeArgs, modulePath, ...options.args], {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      })
    : fork(modulePath, [...options.args], { cwd: REPO_ROOT, env, execArgv: nodeArgs, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const messages = new Subject<ChildMessage>();
  const onLine = options.onLine;
  for (const stream of ['stdout', 'stderr'] as const) {
    let buffered = '';
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (chunk: string) => {
      if (!onLine) return;
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl), stream);
        buffered = buffered.slice(nl + 1);
      }
    });
  }
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      hasExited = true;
      messages.complete();
      resolve({ code, signal });
    }),
  );
  child.on('error', () => undefined);
  const ready = new Promise<ReadyInfo>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => {
      messages.next(m);
      if (m.type === 'ready') resolve(m);
      if (m.type === 'failed') reject(new Error(`${options.id}: ${m.error}`));
    });
    void exited.then(({ code, signal }) => reject(new Error(`${options.id} exited (${signal ?? code}) before it was ready`)));
  });
  ready.catch(() => undefined);

  let nextRequestId = 0;
  const send = (m: ParentMessage) => {
    if (child.connected) child.send(m, undefined, undefined, () => undefined);
  };
  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  return {
    id: options.id,
    process: child,
    ready,
    messages$: messages.asObservable(),
    exited,
    watch: (streams) => send({ type: 'watch', streams }),
    call<T>(command: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
      if (hasExited) return Promise.reject(new Error(`${options.id} has exited: cannot ${command}`));
      const requestId = ++nextRequestId;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => finish(() => reject(new Error(`${options.id}: ${command} timed out`))), timeoutMs);
        const subscription = messages.subscribe({
          next: (m) => {
            if (m.type !== 'reply' || m.requestId !== requestId) return;
            finish(() => (m.ok ? resolve(m.value as T) : reject(new Error(`${options.id}: ${command}: ${m.error}`))));
          },
          complete: () => finish(() => reject(new Error(`${options.id} exited during ${command}`))),
        });
        function finish(settle: () => void) {
          clearTimeout(timer);
          subscription.unsubscribe();
          settle();
        }
        send({ type: 'call', requestId, command, args });
      });
    },
    kill,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: 'stop' });
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Free TCP ports on `host`, held while found so they differ. They are taken below the
 * kernel's ephemeral range (Linux `ip_local_port_range`, 32768 up by default): a port in
 * that range may go to any outgoing connection — a cluster's own reconnects to a node
 * that is down among them — and the node's restart on it then fails with `EADDRINUSE`.
 * Where the range cannot be read, or leaves no room below it, the kernel picks (port 0).
 *
 * @example
 * const [raftPort, httpPort] = await freePorts(2); // e.g. 24511, 30877
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const below = ephemeralPortsStart();
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      let port: number | null = null;
      for (let attempt = 0; port === null && attempt < PORT_ATTEMPTS; attempt++) {
        const candidate = below - FIXED_PORTS_FROM >= MIN_FIXED_PORTS && attempt < PORT_ATTEMPTS - 1 ? FIXED_PORTS_FROM + Math.floor(Math.random() * (below - FIXED_PORTS_FROM)) : 0;
        port = await listenOn(servers, candidate, host);
      }
      if (port === null) throw new Error(`no free port found on ${host} in ${PORT_ATTEMPTS} attempts`);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** The lowest port `freePorts` picks, and how many ports below the ephemeral range it needs to pick there at all. */
const FIXED_PORTS_FROM = 20_000;
const MIN_FIXED_PORTS = 1_000;
/** Ports tried per port asked for; the last try lets the kernel pick. */
const PORT_ATTEMPTS = 50;

/** The first port of the kernel's ephemeral range, or 0 when it cannot be read. */
function ephemeralPortsStart(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(first) ? first : 0;
  } catch {
    return 0;
  }
}

/** Listens on `port` (0: any) and keeps the server in `servers`; the port bound, or null when it is taken. */
function listenOn(servers: net.Server[], port: number, host: string): Promise<number | null> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(null) : reject(e)));
    server.listen(port, host, () => {
      servers.push(server);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** The kv-server flags of node `id` of a local cluster. */
export interface LocalNodeSpec {
  readonly id: string;
  readonly raftPort: number;
  readonly httpPort: number;
}

/**
 * The command-line flags for each node of a local (loopback) cluster.
 *
 * @example
 * const specs = [{ id: 'n1', raftPort: 7001, httpPort: 8001 }, { id: 'n2', raftPort: 7002, httpPort: 8002 }];
 * localNodeArgs(specs[0], specs, '/tmp/data'); // ['--id', 'n1', '--raft', '127.0.0.1:7001', ...]
 */
export function localNodeArgs(spec: LocalNodeSpec, initial: readonly LocalNodeSpec[], dataRoot: string, extra: readonly string[] = []): string[] {
  return [
    '--id', spec.id,
    '--raft', `127.0.0.1:${spec.raftPort}`,
    '--http', `127.0.0.1:${spec.httpPort}`,
    '--data', path.join(dataRoot, spec.id),
    '--peers', initial.map((p) => `${p.id}=127.0.0.1:${p.raftPort}`).join(','),
    ...extra,
  ];
}
