/**
 * A replicated key-value server on rxraft: FileStorage (durable write-ahead log), the TCP
 * transport (shared-secret authentication) and an HTTP API (node:http). The `rxraft-kv`
 * program; `--help` lists every option (each also an RXRAFT_* variable).
 *
 *   RXRAFT_SECRET=<cluster secret> npm run kv -- --id n1 --raft 127.0.0.1:7001 \
 *     --http 127.0.0.1:8001 --data ./data/n1 --peers n2=127.0.0.1:7002,n3=127.0.0.1:7003
 *
 *   curl -L -X PUT --data-binary 1 http://127.0.0.1:8001/kv/x
 *   curl -L http://127.0.0.1:8001/kv/x
 *   curl -L -X POST --data-binary 2 'http://127.0.0.1:8001/kv/x?cas=1'   # 412 if x is not 1
 *   curl -L http://127.0.0.1:8001/status
 *
 * The pieces, one concern per file, in examples/kv/: commands.ts (the log's command
 * bytes), stateMachine.ts (applying them), http.ts (routes), errors.ts (rxraft errors →
 * HTTP), metrics.ts (Prometheus, prom-client), log.ts and events.ts (pino logs),
 * measuredStorage.ts (storage timings), server.ts (wiring), cli.ts and config.ts (flags
 * and RXRAFT_* variables), main.ts (the process), ipc.ts
 * (supervision by a parent process); and for programs that drive servers: processes.ts
 * (forking them) and client.ts (a small HTTP client).
 */
import { runKvServerMain } from './kv/main';

void runKvServerMain(process.argv.slice(2));
