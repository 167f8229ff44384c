import { ConfigError, parseConfig, USAGE } from './config';
import { CallHandler, reportFromStart, superviseByParent, toParent } from './ipc';
import { KvServer, startKvServer } from './server';

/**
 * Runs a KV server process: parses the command line, starts the server, logs where it
 * listens, stops cleanly on SIGINT/SIGTERM, and exits non-zero if the node fails
 * (fail-stop). Under a parent (forked with IPC) it also obeys the parent and dies with it.
 * `extend` lets a wrapper (the benchmark) add IPC commands.
 *
 * @example
 * runKvServerMain(process.argv.slice(2));
 */
export async function runKvServerMain(
  argv: readonly string[],
  extend: (server: KvServer) => Readonly<Record<string, CallHandler>> = () => ({}),
): Promise<void> {
  let server: KvServer;
  try {
    const config = parseConfig(argv);
    server = await startKvServer(config, { created: reportFromStart });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(e instanceof ConfigError ? `${message}\n${USAGE}` : `kv-server: cannot start: ${message}`);
    toParent({ type: 'failed', id: '?', error: message });
    process.exitCode = 1;
    if (process.send) process.disconnect();
    return;
  }
  const { id } = server.config;
  const log = (line: string) => console.log(`[${id}] ${line}`);
  log(`raft ${server.raftAddress}  http http://${server.httpAddress}  data ${server.config.dataDir}${server.config.join ? '  (joining)' : ''}`);
  if (server.storage.recovery.tornTail) log(`recovery cut a torn write at the end of the log`);

  const shutdown = (signal: string) => {
    log(`${signal}: stopping`);
    const force = setTimeout(() => process.exit(1), 3000);
    force.unref();
    server.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  server.stopped.then((failure) => {
    if (!failure) return;
    console.error(`[${id}] node stopped: ${failure.message}`);
    toParent({ type: 'failed', id, error: failure.message });
    server.stop().finally(() => process.exit(1));
  });
  superviseByParent(server, extend(server));
}
