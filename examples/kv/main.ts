import { ConfigError, KvServerConfig, readCommandLine, USAGE } from './config';
import { packageVersion, usageHint } from './cli';
import { CallHandler, reportFromStart, superviseByParent, toParent } from './ipc';
import { createLogger } from './log';
import { KvServer, startKvServer } from './server';

/**
 * Runs a KV server process: parses the command line (`--help` and `--version` print and
 * exit 0; bad usage exits 2 with the reason and a hint), starts the server, logs what
 * happens (pino: JSON lines, readable on a terminal), stops cleanly on SIGINT/SIGTERM,
 * and exits 1 if the server cannot start or the node fails (fail-stop). Under a parent
 * (forked with IPC) it also obeys the parent and dies with it. `extend` lets a wrapper
 * (the benchmark) add IPC commands.
 *
 * @example
 * runKvServerMain(process.argv.slice(2));
 */
export async function runKvServerMain(
  argv: readonly string[],
  extend: (server: KvServer) => Readonly<Record<string, CallHandler>> = () => ({}),
): Promise<void> {
  let config: KvServerConfig;
  try {
    const line = readCommandLine(argv);
    if (line.kind === 'help' || line.kind === 'version') {
      console.log(line.kind === 'help' ? USAGE : packageVersion());
      process.exitCode = 0;
      if (process.send) process.disconnect();
      return;
    }
    config = line.config;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(e instanceof ConfigError ? `rxraft-kv: ${message}\n${usageHint('rxraft-kv')}` : `rxraft-kv: ${message}`);
    toParent({ type: 'failed', id: '?', error: message });
    process.exitCode = 2;
    if (process.send) process.disconnect();
    return;
  }
  const log = createLogger({ id: config.id, level: config.logLevel, format: config.logFormat });
  let server: KvServer;
  try {
    server = await startKvServer(config, { created: reportFromStart, log });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.fatal({ error: message }, 'cannot start');
    console.error(`rxraft-kv: cannot start: ${message}`);
    toParent({ type: 'failed', id: config.id, error: message });
    process.exitCode = 1;
    if (process.send) process.disconnect();
    return;
  }
  const { id } = server.config;
  log.info(
    { version: packageVersion(), raft: server.raftAddress, http: `http://${server.httpAddress}`, data: server.config.dataDir, join: server.config.join, httpMaxConnections: config.httpLimits.maxConnections },
    'listening',
  );
  if (server.storage.recovery.tornTail) log.warn('recovery cut a torn write at the end of the log');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return; // Ctrl-C reaches a launcher's whole process group, which also sends SIGTERM
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 3000);
    force.unref();
    server.stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error({ error: e.message }, 'stop'); // StopTimeoutError: the storage or transport did not close in time
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  server.stopped.then((failure) => {
    if (!failure) return;
    log.fatal({ error: failure.message }, 'node stopped');
    console.error(`[${id}] node stopped: ${failure.message}`);
    toParent({ type: 'failed', id, error: failure.message });
    server.stop().finally(() => process.exit(1));
  });
  superviseByParent(server, extend(server));
}
