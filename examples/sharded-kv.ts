/**
 * A sharded key-value server on rxraft: `--groups N` Raft groups (shards) over the same
 * hosts, in one process per host (`createRaftHost` over `tcpHostTransport`: two
 * authenticated connections per pair of hosts carry every shard), one write-ahead log
 * per host shared by every group (one fsync per flush for all of them; `--group-storage
 * files` gives each group its own `FileStorage`), the KV server's store per group, and an HTTP front end that routes each key to
 * its shard by a stable hash (FNV-1a of the key, mod N). Every host serves every key:
 * a host that does not lead a key's shard forwards the write to the shard's leader,
 * which it follows on the group's `leader$`. `--balance` spreads the shards' leaders
 * over the hosts (`balanceLeaders`).
 *
 *   RXRAFT_SECRET=<cluster secret> npx ts-node --transpile-only examples/sharded-kv.ts --id h1 \
 *     --raft 127.0.0.1:7001 --http 127.0.0.1:8001 --data ./data/h1 --groups 8 --balance \
 *     --peers h2=127.0.0.1:7002,h3=127.0.0.1:7003 --peers-http h2=127.0.0.1:8002,h3=127.0.0.1:8003
 *
 *   curl -X PUT --data-binary 1 http://127.0.0.1:8001/kv/x     # answered with X-Raft-Group: kv-<n>
 *   curl http://127.0.0.1:8002/kv/x
 *   curl http://127.0.0.1:8003/shards                          # each shard's leader
 *
 * The pieces, in examples/sharded/: shards.ts (key → shard), config.ts (flags: the KV
 * server's plus --groups, --peers-http, --balance, --group-storage), server.ts (the host, its groups and
 * stores), http.ts (the front end, over the KV server's routes per shard), main.ts (the
 * process, and supervision by a parent as the KV server's).
 */
import { runShardedKvMain } from './sharded/main';

void runShardedKvMain(process.argv.slice(2));
