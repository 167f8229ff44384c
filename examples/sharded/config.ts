/** Command line of the sharded KV server: the KV server's, plus the shards. */
import { usageText, type OptionSpec } from '../kv/cli';
import { ConfigError, KV_OPTIONS, parseHostPort, readCommandLine } from '../kv/config';
import type { KvServerConfig } from '../kv/config';

export interface ShardedKvConfig extends KvServerConfig {
  /** How many groups (shards) the keys are spread over; the same on every process. */
  readonly groups: number;
  /** The other hosts' HTTP addresses (`host:port`), to point clients at a shard's leader. */
  readonly peersHttp: Readonly<Record<string, string>>;
  /** Run `balanceLeaders`, so this host leads no more than its share of the shards. */
  readonly balance: boolean;
  /** `shared`: every group writes into one write-ahead log of the host (one fsync per flush for all); `files`: a `FileStorage` per group. */
  readonly groupStorage: 'shared' | 'files';
  /** Let idle shards quiesce: no heartbeats or election timers until work or a suspected failure wakes them (default true). */
  readonly quiesce: boolean;
}

/** The flags the sharded server adds to the KV server's. */
const EXTRA = ['groups', 'peers-http', 'balance', 'group-storage', 'quiesce'];

/** The sharded server's own flags (command line only: no environment variable). */
const SHARDED_OPTIONS: readonly OptionSpec[] = [
  { name: 'groups', type: 'string', value: '<n>', help: 'how many groups (shards) keys are spread over, the same on every host (default 8)', env: false },
  { name: 'peers-http', type: 'string', value: '<id=host:port,...>', help: "the other hosts' HTTP addresses, for leader hints", env: false },
  { name: 'balance', type: 'boolean', help: 'hand leadership of surplus shards to the hosts leading the fewest (balanceLeaders)', env: false },
  {
    name: 'group-storage',
    type: 'string',
    value: 'shared|files',
    help: 'shared (default): one write-ahead log for every group of the host, in <data>/wal/; files: a FileStorage per group in <data>/groups/<group>/ (a data directory is one or the other)',
    env: false,
  },
  { name: 'quiesce', type: 'boolean', help: 'idle shards go quiet, woken by work or a silent host (default); --quiesce=false keeps them heartbeating', env: false },
];

const SHARDED_SUMMARY = `A key-value store sharded over many Raft groups (createRaftHost): every host runs every
group, over one authenticated TCP transport per host, and each key belongs to group
FNV-1a(key) mod --groups; any host serves any key over HTTP. The cluster secret comes from
RXRAFT_SECRET or --secret-file, never from the command line (where ps would show it).
Membership is not changed at run time: every shard's members are the hosts of --peers.

example:
  RXRAFT_SECRET=... sharded-kv --id h1 --raft 127.0.0.1:7001 --http 127.0.0.1:8001 --groups 8 \\
    --data ./data/h1 --peers h2=127.0.0.1:7002,h3=127.0.0.1:7003 --peers-http h2=127.0.0.1:8002,h3=127.0.0.1:8003`;

/** The usage text: the KV server's flags but `--join` (refused: members are fixed), then the sharded server's own. */
export const SHARDED_USAGE = usageText('sharded-kv', SHARDED_SUMMARY, [...KV_OPTIONS.filter((o) => o.name !== 'join'), ...SHARDED_OPTIONS], { version: true });

/** What `readShardedCommandLine` found. */
export type ShardedCommandLine = { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'run'; readonly config: ShardedKvConfig };

/**
 * Reads the sharded server's command line: `--groups`, `--peers-http`, `--balance` and `--group-storage`,
 * and everything else as the KV server does (`readCommandLine`). Throws `ConfigError`.
 *
 * @example
 * readShardedCommandLine(['--id', 'h1', '--raft', '127.0.0.1:7001', '--http', '127.0.0.1:8001', '--groups', '8',
 *   '--peers', 'h2=127.0.0.1:7002', '--peers-http', 'h2=127.0.0.1:8002'], { RXRAFT_SECRET: 's' });
 */
export function readShardedCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ShardedCommandLine {
  const extra = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') ? argv[i].slice(2).split(/=(.*)/s, 2) : [''];
    if (!EXTRA.includes(flag)) {
      rest.push(argv[i]);
      continue;
    }
    if (flag === 'balance' || flag === 'quiesce') extra.set(flag, inline ?? 'true');
    else if (inline !== undefined) extra.set(flag, inline);
    else if (i + 1 < argv.length) extra.set(flag, argv[++i]);
    else throw new ConfigError(`--${flag} needs a value`);
  }
  const line = readCommandLine(rest, env);
  if (line.kind !== 'run') return line;
  if (line.config.join) throw new ConfigError('--join is not supported by the sharded server: every shard\'s members are the hosts of --peers');
  const groupsText = extra.get('groups') ?? '8';
  const groups = Number(groupsText);
  if (!/^\d+$/.test(groupsText) || groups < 1 || groups > 10_000) throw new ConfigError(`--groups: expected 1 to 10000, got ${JSON.stringify(groupsText)}`);
  const peersHttp: Record<string, string> = {};
  for (const item of (extra.get('peers-http') ?? '').split(',').filter((s) => s.trim() !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--peers-http: expected id=host:port, got ${JSON.stringify(item)}`);
    const id = item.slice(0, eq).trim();
    if (!(id in line.config.peers)) throw new ConfigError(`--peers-http: ${id} is not one of --peers`);
    parseHostPort(item.slice(eq + 1).trim(), `--peers-http ${id}`);
    peersHttp[id] = item.slice(eq + 1).trim();
  }
  const balance = extra.get('balance') ?? 'false';
  if (balance !== 'true' && balance !== 'false') throw new ConfigError('--balance takes no value (or =true / =false)');
  const groupStorage = extra.get('group-storage') ?? 'shared';
  if (groupStorage !== 'shared' && groupStorage !== 'files') throw new ConfigError(`--group-storage: expected shared or files, got ${JSON.stringify(groupStorage)}`);
  const quiesce = extra.get('quiesce') ?? 'true';
  if (quiesce !== 'true' && quiesce !== 'false') throw new ConfigError('--quiesce takes =true or =false');
  return { kind: 'run', config: { ...line.config, groups, peersHttp, balance: balance === 'true', groupStorage, quiesce: quiesce === 'true' } };
}
