/** Command line of the sharded KV server: the KV server's, plus the shards. */
import { ConfigError, parseHostPort, readCommandLine, USAGE as KV_USAGE } from '../kv/config';
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

export const SHARDED_USAGE = `${KV_USAGE.replace(/rxraft-kv/g, 'sharded-kv')}
  --groups <n>                  how many groups (shards) keys are spread over, the same on every host (default 8)
  --peers-http <id=host:port,...>  the other hosts' HTTP addresses, for leader hints
  --balance                     hand leadership of surplus shards to the hosts leading the fewest (balanceLeaders)
  --group-storage shared|files  shared (default): one write-ahead log for every group of the host, in <data>/wal/;
                                files: a FileStorage per group in <data>/groups/<group>/ (a data directory is one or the other)
  --quiesce=false               keep idle shards heartbeating (default: idle shards go quiet, woken by work or a silent host)

--join and membership routes are not served: every shard's members are the hosts of --peers.`;

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
