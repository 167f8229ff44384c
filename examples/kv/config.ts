/** Command-line configuration of the KV server. */
import * as fs from 'node:fs';
import { ConfigError, envName, OptionSpec, parseCommandLine, positiveInt, usageText } from './cli';

/**
 * The server's election timeout when `--election-timeout` is not given: longer than the
 * library's 150-300 ms, so that a leader whose process a busy machine holds back for a few
 * hundred ms is not deposed (with 150-300, leaders silent for 170-460 ms under CPU
 * contention were, 4 times in 150 s; with 500-1000, none: docs/notes/deposed-leaders.md).
 * A failover waits 350-700 ms longer for the timeout (not measured; etcd's default is 1000 ms).
 */
export const DEFAULT_ELECTION_TIMEOUT: { readonly min: number; readonly max: number } = Object.freeze({ min: 500, max: 1000 });

export { ConfigError } from './cli';

/** How many log lines to write, least to most. */
export type LogLevel = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LOG_LEVELS: readonly LogLevel[] = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export interface KvServerConfig {
  /** This node's id. */
  readonly id: string;
  /** Where this node accepts Raft connections from its peers. */
  readonly raft: { readonly host: string; readonly port: number };
  /** Where this node serves HTTP clients. */
  readonly http: { readonly host: string; readonly port: number };
  /** The directory of this node's write-ahead log. */
  readonly dataDir: string;
  /** The other initial members: id → Raft address (`host:port`). */
  readonly peers: Readonly<Record<string, string>>;
  /** Shared secret every node of the cluster authenticates with. */
  readonly secret: string;
  /** Cluster id, checked in the transport handshake. */
  readonly clusterId: string;
  /**
   * Start as a new, empty node that an existing cluster adds (as a learner, then
   * promoted): this node is not one of the initial voters and waits to be contacted.
   */
  readonly join: boolean;
  readonly electionTimeout: { readonly min: number; readonly max: number };
  readonly heartbeatInterval: number;
  /** Largest value accepted in a request body. */
  readonly maxValueBytes: number;
  /**
   * Where rxraft ends a turn and batches the proposals made in it:
   * `immediate` (default) at the end of the event loop's I/O phase, so concurrent HTTP
   * requests share a batch; `asap` after each callback's microtasks (rxraft's default).
   */
  readonly turn: 'immediate' | 'asap';
  /**
   * Where the log is written: `thread-pool` (default) through libuv's thread pool, the event
   * loop free while the disk works; `event-loop` synchronously on the event loop
   * (`eventLoopWrites`): less CPU and fewer wakeups per write, but the node waits for each
   * write; `followers`: on the event loop while this node does not lead, through the
   * thread pool while it does (a leader keeps sending heartbeats during its own writes).
   */
  readonly logWrites: 'thread-pool' | 'event-loop' | 'followers';
  /** Take a snapshot (and compact the log) after this many applied entries. */
  readonly snapshotEvery: number;
  /** Log lines at this level and above are written. */
  readonly logLevel: LogLevel;
  /** `json` (one object per line), `pretty` (for people), `auto`: pretty when stdout is a terminal. */
  readonly logFormat: 'json' | 'pretty' | 'auto';
  /** Bounds of the HTTP port (issue 18: idle connections must not take the descriptors storage needs). */
  readonly httpLimits: HttpLimits;
}

/** Limits of the HTTP server. */
export interface HttpLimits {
  /** Connections open at once; more are closed as they arrive. */
  readonly maxConnections: number;
  /** An idle keep-alive connection is closed after this many ms. */
  readonly keepAliveTimeoutMs: number;
  /** A connection must send a request's headers within this many ms of opening or of its previous request. */
  readonly headersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this many ms. */
  readonly requestTimeoutMs: number;
}

/** Descriptors kept for everything but HTTP clients: Raft peers, the log, the hard state, snapshots, stdio. */
export const DESCRIPTOR_RESERVE = 256;

/**
 * The default HTTP connection limit: the process's open-file limit (soft, from
 * /proc/self/limits) minus `DESCRIPTOR_RESERVE`, so a flood of idle HTTP connections
 * cannot take the descriptors the storage and the Raft transport need; at least 16, and
 * 768 (a 1024 limit minus the reserve) where the limit cannot be read.
 */
export function defaultMaxConnections(limitsFile = '/proc/self/limits'): number {
  let soft = 1024;
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(fs.readFileSync(limitsFile, 'utf8'));
    if (m && m[1] !== 'unlimited') soft = Number(m[1]);
    else if (m) soft = 65536;
  } catch {
    // Not Linux: assume the common 1024.
  }
  return Math.max(16, Math.min(soft, 65536) - DESCRIPTOR_RESERVE);
}

/** The KV server's options, each also read from `RXRAFT_<NAME>`. */
export const KV_OPTIONS: readonly OptionSpec[] = [
  { name: 'id', type: 'string', value: '<id>', help: 'this node\'s id (required)' },
  { name: 'raft', type: 'string', value: '<host:port>', help: 'where to accept Raft connections from peers (required)' },
  { name: 'http', type: 'string', value: '<host:port>', help: 'where to serve HTTP clients (required)' },
  { name: 'data', type: 'string', value: '<dir>', help: 'directory of the write-ahead log (default ./data/<id>)' },
  { name: 'peers', type: 'string', value: '<id=host:port,...>', help: 'the other initial members and their Raft addresses' },
  { name: 'secret-file', type: 'string', value: '<path>', help: 'file holding the cluster secret (or put the secret itself in RXRAFT_SECRET)' },
  { name: 'cluster', type: 'string', value: '<name>', help: 'cluster id checked in the Raft handshake (default rxraft-kv)' },
  { name: 'join', type: 'boolean', help: 'start empty and wait to be added by the cluster (POST /members on the leader)' },
  { name: 'election-timeout', type: 'string', value: '<min>-<max>', help: 'election timeout range in ms (default 500-1000)' },
  { name: 'heartbeat', type: 'string', value: '<ms>', help: 'heartbeat interval (default a third of the minimum election timeout, at most 100)' },
  { name: 'max-value-bytes', type: 'string', value: '<n>', help: 'largest request body (default 524288)' },
  { name: 'turn', type: 'string', value: 'immediate|asap', help: 'where proposals are batched (default immediate)' },
  { name: 'log-writes', type: 'string', value: 'thread-pool|event-loop|followers', help: 'write the log through the thread pool, on the event loop (which waits for the disk), or on it only while following (default thread-pool)' },
  { name: 'snapshot-every', type: 'string', value: '<entries>', help: 'snapshot the store and compact the log after this many entries (default 10000)' },
  { name: 'log-level', type: 'string', value: '<level>', help: `${LOG_LEVELS.join(', ')} (default info)` },
  { name: 'log-format', type: 'string', value: 'auto|json|pretty', help: 'auto: readable on a terminal, JSON lines otherwise (default auto)' },
  { name: 'http-max-connections', type: 'string', value: '<n>', help: `HTTP connections open at once (default: open-file limit - ${DESCRIPTOR_RESERVE})` },
  { name: 'http-keep-alive-timeout', type: 'string', value: '<ms>', help: 'close an idle keep-alive connection after this long (default 30000)' },
  { name: 'http-headers-timeout', type: 'string', value: '<ms>', help: 'a request\'s headers must arrive within this long (default 10000)' },
  { name: 'http-request-timeout', type: 'string', value: '<ms>', help: 'a whole request must arrive within this long (default 60000)' },
];

const SUMMARY = `A replicated key-value store on rxraft: FileStorage, the TCP transport (authenticated with a
shared secret) and an HTTP API. The cluster secret comes from RXRAFT_SECRET or --secret-file,
never from the command line (where ps would show it).

example:
  RXRAFT_SECRET=... rxraft-kv --id n1 --raft 127.0.0.1:7001 --http 127.0.0.1:8001 \\
    --data ./data/n1 --peers n2=127.0.0.1:7002,n3=127.0.0.1:7003`;

/** The usage text of the KV server. */
export const USAGE = usageText('rxraft-kv', SUMMARY, KV_OPTIONS, { version: true });

/** Parses `host:port` (or `[v6]:port`). */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (colon <= 0 || !host || !/^\d+$/.test(portText) || port > 65535) {
    throw new ConfigError(`${what}: expected host:port, got ${JSON.stringify(text)}`);
  }
  return { host, port };
}

/**
 * Reads `--name value` and `--name=value` pairs; a flag without a value is `'true'`.
 * For scripts that take any flag (the benchmark); programs with a fixed set of options
 * use `parseCommandLine`.
 */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(arg.slice(2), argv[++i]);
    else flags.set(arg.slice(2), 'true');
  }
  return flags;
}

/** The cluster secret: `RXRAFT_SECRET`, or the contents of `--secret-file` (one trailing newline dropped). */
function readSecret(file: string | undefined, env: NodeJS.ProcessEnv): string {
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`--secret-file: cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret === '') throw new ConfigError(`--secret-file: ${JSON.stringify(file)} is empty`);
    return secret;
  }
  const secret = env.RXRAFT_SECRET;
  if (!secret) throw new ConfigError('a cluster secret is required: set RXRAFT_SECRET or pass --secret-file <path>');
  return secret;
}

/** What `parseConfig` found: a configuration to run, or a request for help or the version. */
export type KvCommandLine = { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'run'; readonly config: KvServerConfig };

/**
 * Reads the command line and the environment. Throws `ConfigError` with a message for
 * the user.
 *
 * @example
 * readCommandLine(['--help']); // { kind: 'help' }
 */
export function readCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KvCommandLine {
  const secretFlag = argv.find((a) => a === '--secret' || a.startsWith('--secret='));
  if (secretFlag) {
    throw new ConfigError('--secret is not accepted: a secret on the command line is visible to every user in ps. Set RXRAFT_SECRET or pass --secret-file <path>');
  }
  const parsed = parseCommandLine(argv, KV_OPTIONS, env, { version: true });
  if (parsed.kind !== 'run') return parsed;
  const v = parsed.values;
  const str = (name: string): string | undefined => v[name] as string | undefined;
  const required = (name: string): string => {
    const value = str(name);
    if (value === undefined) throw new ConfigError(`--${name} is required (or ${envName(name)})`);
    return value;
  };
  const id = required('id');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new ConfigError('--id: 1-64 letters, digits, "_", "." or "-"');
  const peers: Record<string, string> = {};
  for (const item of (str('peers') ?? '').split(',').filter((s) => s.trim() !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--peers: expected id=host:port, got ${JSON.stringify(item)}`);
    const peerId = item.slice(0, eq).trim();
    const address = item.slice(eq + 1).trim();
    parseHostPort(address, `--peers ${peerId}`);
    if (peerId === id) continue;
    peers[peerId] = address;
  }
  let electionTimeout: { min: number; max: number } = DEFAULT_ELECTION_TIMEOUT;
  const et = str('election-timeout');
  if (et !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(et);
    if (!m || Number(m[1]) <= 0 || Number(m[1]) > Number(m[2])) throw new ConfigError('--election-timeout: expected <min>-<max> in ms, e.g. 150-300');
    electionTimeout = { min: Number(m[1]), max: Number(m[2]) };
  }
  const turn = str('turn') ?? 'immediate';
  if (turn !== 'immediate' && turn !== 'asap') throw new ConfigError('--turn: immediate or asap');
  const logWrites = str('log-writes') ?? 'thread-pool';
  if (logWrites !== 'thread-pool' && logWrites !== 'event-loop' && logWrites !== 'followers') throw new ConfigError('--log-writes: thread-pool, event-loop or followers');
  const logLevel = (str('log-level') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level: one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = str('log-format') ?? 'auto';
  if (logFormat !== 'auto' && logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError('--log-format: auto, json or pretty');
  const httpLimits: HttpLimits = {
    maxConnections: positiveInt(v['http-max-connections'], 'http-max-connections', defaultMaxConnections()),
    keepAliveTimeoutMs: positiveInt(v['http-keep-alive-timeout'], 'http-keep-alive-timeout', 30_000),
    headersTimeoutMs: positiveInt(v['http-headers-timeout'], 'http-headers-timeout', 10_000),
    requestTimeoutMs: positiveInt(v['http-request-timeout'], 'http-request-timeout', 60_000),
  };
  if (httpLimits.headersTimeoutMs > httpLimits.requestTimeoutMs) {
    throw new ConfigError('--http-headers-timeout must not exceed --http-request-timeout');
  }
  return {
    kind: 'run',
    config: {
      id,
      turn,
      logWrites,
      raft: parseHostPort(required('raft'), '--raft'),
      http: parseHostPort(required('http'), '--http'),
      dataDir: str('data') ?? `./data/${id}`,
      peers,
      secret: readSecret(str('secret-file'), env),
      clusterId: str('cluster') ?? 'rxraft-kv',
      join: v.join === true,
      electionTimeout,
      heartbeatInterval: positiveInt(v.heartbeat, 'heartbeat', Math.max(1, Math.min(100, Math.floor(electionTimeout.min / 3)))),
      maxValueBytes: positiveInt(v['max-value-bytes'], 'max-value-bytes', 512 * 1024),
      snapshotEvery: positiveInt(v['snapshot-every'], 'snapshot-every', 10_000),
      logLevel,
      logFormat,
      httpLimits,
    },
  };
}

/**
 * Builds the server configuration from command-line arguments and the environment.
 * Throws `ConfigError` with a message for the user (also for `--help` and `--version`,
 * which only `readCommandLine` answers).
 *
 * @example
 * parseConfig(['--id', 'n1', '--raft', '127.0.0.1:7001', '--http', '127.0.0.1:8001',
 *              '--peers', 'n2=127.0.0.1:7002,n3=127.0.0.1:7003'], { RXRAFT_SECRET: 's3cret' });
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KvServerConfig {
  const line = readCommandLine(argv, env);
  if (line.kind !== 'run') throw new ConfigError(`--${line.kind} does not start a server`);
  return line.config;
}
