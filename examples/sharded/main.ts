import { packageVersion, usageHint } from '../kv/cli';
import { ConfigError } from '../kv/config';
import { CallHandler, ParentMessage, toParent } from '../kv/ipc';
import { createLogger } from '../kv/log';
import { readShardedCommandLine, SHARDED_USAGE, ShardedKvConfig } from './config';
import { ShardedKvServer, startShardedKvServer } from './server';

/**
 * Runs a sharded KV server process: parses the command line (`--help`; bad usage exits 2),
 * starts the server, stops cleanly on SIGINT/SIGTERM, exits 1 if it cannot start or a
 * group fails (fail-stop). Under a parent (forked with IPC, e.g. by `forkKvServer`) it
 * reports `ready`, obeys `stop` and `call` (with `extend`'s handlers) and dies with the
 * parent.
 *
 * @example
 * runShardedKvMain(process.argv.slice(2));
 */
export async function runShardedKvMain(
  argv: readonly string[],
  extend: (server: ShardedKvServer) => Readonly<Record<string, CallHandler>> = () => ({}),
): Promise<void> {
  let config: ShardedKvConfig;
  try {
    const line = readShardedCommandLine(argv);
    if (line.kind !== 'run') {
      console.log(line.kind === 'help' ? SHARDED_USAGE : packageVersion());
      if (process.send) process.disconnect();
      return;
    }
    config = line.config;
  } catch (e) {
    const message = (e as Error).message;
    console.error(e instanceof ConfigError ? `sharded-kv: ${message}\n${usageHint('sharded-kv')}` : `sharded-kv: ${message}`);
    toParent({ type: 'failed', id: '?', error: message });
    process.exitCode = 2;
    if (process.send) process.disconnect();
    return;
  }
  if (config.groupStorage === 'files') widenThreadPool(config.groups);
  const log = createLogger({ id: config.id, level: config.logLevel, format: config.logFormat });
  let server: ShardedKvServer;
  try {
    server = await startShardedKvServer(config, { log });
  } catch (e) {
    const message = (e as Error).message;
    console.error(`sharded-kv: cannot start: ${message}`);
    toParent({ type: 'failed', id: config.id, error: message });
    process.exitCode = 1;
    if (process.send) process.disconnect();
    return;
  }
  log.info({ raft: server.raftAddress, http: `http://${server.httpAddress}`, data: config.dataDir, groups: config.groups, balance: config.balance }, 'listening');
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    const force = setTimeout(() => process.exit(code), 3000); // bounded: the port and the directory locks are wanted back
    force.unref();
    server.stop().then(
      () => process.exit(code),
      (e: Error) => {
        log.error({ error: e.message }, 'stop'); // StopTimeoutError: a storage or the transport did not close in time
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => exit(0));
  process.once('SIGTERM', () => exit(0));
  server.stopped.then((failure) => {
    if (!failure) return;
    log.fatal({ error: failure.message }, 'a group stopped');
    toParent({ type: 'failed', id: config.id, error: failure.message });
    exit(1);
  });
  if (!process.send) return;
  const handlers = extend(server);
  process.on('disconnect', () => exit(0));
  process.on('message', (raw: unknown) => {
    const message = raw as ParentMessage;
    if (message?.type === 'stop') exit(0);
    if (message?.type !== 'call') return;
    const reply = (ok: boolean, value?: unknown, error?: string) => toParent({ type: 'reply', requestId: message.requestId, ok, value, error });
    const handler = handlers[message.command];
    if (!handler) reply(false, undefined, `unknown command ${message.command}`);
    else handler(message.args).then((v) => reply(true, v), (e: unknown) => reply(false, undefined, e instanceof Error ? e.message : String(e)));
  });
  toParent({ type: 'ready', id: config.id, pid: process.pid, http: server.httpAddress, raft: server.raftAddress });
}

/**
 * With `--group-storage files`, each group writes its own log with synchronous (O_DSYNC) writes, which Node runs on
 * libuv's thread pool: 4 threads by default, so 4 durable writes at a time per process
 * however many groups wait — measured, 64 busy groups on 3 processes reached about 2.2×
 * the writes/s with 64 threads as with 4. Unless UV_THREADPOOL_SIZE is set, it becomes
 * one thread per group, between 4 and 64. (The shared log makes one write at a time for
 * every group, so it needs no more.) Must run before the pool is first used (the
 * first asynchronous file, DNS or crypto call), which it does: the config is read
 * synchronously.
 */
function widenThreadPool(groups: number): void {
  if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(Math.min(64, Math.max(4, groups)));
}
