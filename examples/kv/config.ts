/** Command-line configuration of the KV server. */

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
}

export const USAGE = `usage: kv-server --id <id> --raft <host:port> --http <host:port> --secret <secret>
                 [--data <dir>] [--peers <id>=<host:port>,...] [--cluster <name>] [--join]
                 [--election-timeout <min>-<max> ms] [--heartbeat <ms>] [--max-value-bytes <n>]
                 [--turn immediate|asap]
  The secret may come from the environment variable RXRAFT_SECRET instead.`;

/** A command-line argument that makes no sense; the message says which and why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses `host:port` (or `[v6]:port`). */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${what}: expected host:port, got ${JSON.stringify(text)}`);
  }
  return { host, port };
}

/** Reads `--name value` and `--name=value` pairs; a flag without a value is `'true'`. */
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

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${what}: expected a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * Builds the server configuration from command-line arguments and the environment.
 * Throws `ConfigError` with a message for the user.
 *
 * @example
 * parseConfig(['--id', 'n1', '--raft', '127.0.0.1:7001', '--http', '127.0.0.1:8001',
 *              '--peers', 'n2=127.0.0.1:7002,n3=127.0.0.1:7003'], { RXRAFT_SECRET: 's3cret' });
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KvServerConfig {
  const flags = parseFlags(argv);
  const known = new Set(['id', 'raft', 'http', 'data', 'peers', 'secret', 'cluster', 'join', 'election-timeout', 'heartbeat', 'max-value-bytes', 'turn']);
  for (const name of flags.keys()) if (!known.has(name)) throw new ConfigError(`unknown option --${name}`);
  const required = (name: string) => {
    const v = flags.get(name);
    if (v === undefined || v === 'true') throw new ConfigError(`--${name} is required`);
    return v;
  };
  const id = required('id');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new ConfigError('--id: 1-64 letters, digits, "_", "." or "-"');
  const peers: Record<string, string> = {};
  const peerList = flags.get('peers') ?? '';
  for (const item of peerList.split(',').filter((s) => s.trim() !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--peers: expected id=host:port, got ${JSON.stringify(item)}`);
    const peerId = item.slice(0, eq).trim();
    const address = item.slice(eq + 1).trim();
    parseHostPort(address, `--peers ${peerId}`);
    if (peerId === id) continue;
    peers[peerId] = address;
  }
  const secret = flags.get('secret') ?? env.RXRAFT_SECRET;
  if (!secret || secret === 'true') throw new ConfigError('a cluster secret is required: --secret <secret> or RXRAFT_SECRET');
  let electionTimeout = { min: 150, max: 300 };
  const et = flags.get('election-timeout');
  if (et !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(et);
    if (!m || Number(m[1]) <= 0 || Number(m[1]) > Number(m[2])) throw new ConfigError('--election-timeout: expected <min>-<max> in ms, e.g. 150-300');
    electionTimeout = { min: Number(m[1]), max: Number(m[2]) };
  }
  const heartbeatInterval = flags.has('heartbeat') ? positiveInt(flags.get('heartbeat')!, '--heartbeat') : Math.max(1, Math.floor(electionTimeout.min / 3));
  const turn = flags.get('turn') ?? 'immediate';
  if (turn !== 'immediate' && turn !== 'asap') throw new ConfigError('--turn: immediate or asap');
  return {
    id,
    turn,
    raft: parseHostPort(required('raft'), '--raft'),
    http: parseHostPort(required('http'), '--http'),
    dataDir: flags.get('data') ?? `./data/${id}`,
    peers,
    secret,
    clusterId: flags.get('cluster') ?? 'rxraft-kv',
    join: flags.get('join') === 'true',
    electionTimeout,
    heartbeatInterval,
    maxValueBytes: flags.has('max-value-bytes') ? positiveInt(flags.get('max-value-bytes')!, '--max-value-bytes') : 512 * 1024,
  };
}
