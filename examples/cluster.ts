/**
 * Starts a local multi-process KV cluster: one kv-server process per node, on loopback,
 * with a random cluster secret, and its data under a temporary directory (or `--dir`).
 * Prints each node's status and some curl commands to try; Ctrl-C stops every node.
 * The nodes also stop if this launcher dies in any other way (they watch its IPC channel).
 *
 *   npm run cluster -- --nodes 3 [--dir ./data] [--base-port 7001]
 *
 * Raft listens on base-port, base-port + 1, ...; HTTP on base-port + 1000, ...
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { commandLineOrExit, ConfigError, OptionSpec, positiveInt, usageHint } from './kv/cli';
import { forkKvServer, KvChild, LocalNodeSpec, localNodeArgs } from './kv/processes';

const PROGRAM = 'npm run cluster --';
const OPTIONS: readonly OptionSpec[] = [
  { name: 'nodes', type: 'string', value: '<n>', help: 'how many nodes, 1 to 9 (default 3)', env: false },
  { name: 'dir', type: 'string', value: '<dir>', help: 'keep the data in <dir> (default: a temporary directory, removed on exit)', env: false },
  { name: 'base-port', type: 'string', value: '<port>', help: 'Raft on <port>, <port>+1, ...; HTTP on <port>+1000, ... (default 7001)', env: false },
];
const SUMMARY = `Starts a local KV cluster: one rxraft-kv process per node, on loopback, with a random cluster
secret. Ctrl-C stops every node; the nodes also stop if this launcher dies.`;

function options(argv: readonly string[]): { nodes: number; dir: string | null; basePort: number } {
  const v = commandLineOrExit(argv, OPTIONS, PROGRAM, SUMMARY);
  const nodes = positiveInt(v.nodes, 'nodes', 3);
  const basePort = positiveInt(v['base-port'], 'base-port', 7001);
  if (nodes > 9) throw new ConfigError('--nodes: 1 to 9');
  if (basePort < 1024 || basePort + 1000 + nodes > 65535) throw new ConfigError('--base-port: 1024 to 64000');
  return { nodes, dir: (v.dir as string | undefined) ?? null, basePort };
}

function getJson(address: string, route: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${address}${route}`, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options(process.argv.slice(2));
  } catch (e) {
    console.error(`cluster: ${(e as Error).message}\n${usageHint(PROGRAM)}`);
    process.exit(2);
  }
  const temporary = opts.dir === null;
  const dataRoot = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-cluster-'));
  const secret = crypto.randomBytes(18).toString('base64url');
  const specs: LocalNodeSpec[] = Array.from({ length: opts.nodes }, (_, i) => ({
    id: `n${i + 1}`,
    raftPort: opts.basePort + i,
    httpPort: opts.basePort + 1000 + i,
  }));

  const children = new Map<string, KvChild>();
  let shuttingDown = false;
  const shutdown = async (why: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${why}: stopping ${children.size} node(s)...`);
    const stopped = await Promise.all([...children].map(async ([id, c]) => {
      await c.stop();
      return { id, ...(await c.exited) };
    }));
    for (const { id, code, signal } of stopped) console.log(`[${id}] stopped (${signal ?? `code ${code}`})`);
    // Only what this launcher created, for the nodes it ran: never a directory of a node
    // started by hand (the printed join command puts its data outside, in the working directory).
    if (!temporary) {
      console.log(`stopped; data kept in ${dataRoot}`);
    } else {
      for (const spec of specs) fs.rmSync(path.join(dataRoot, spec.id), { recursive: true, force: true });
      try {
        fs.rmdirSync(dataRoot); // only if empty: anything else in it is someone else's
        console.log(`stopped; removed ${dataRoot}`);
      } catch {
        console.log(`stopped; removed the nodes' data; kept ${dataRoot}: it holds files this launcher did not create`);
      }
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  console.log(`starting ${opts.nodes} node(s); data in ${dataRoot}${temporary ? ' (temporary)' : ''}\n`);
  for (const spec of specs) {
    const child = forkKvServer({
      id: spec.id,
      args: localNodeArgs(spec, specs, dataRoot),
      env: { RXRAFT_SECRET: secret, RXRAFT_LOG_FORMAT: 'pretty' },
      onLine: (line) => console.log(line),
    });
    children.set(spec.id, child);
    void child.exited.then(({ code, signal }) => {
      if (shuttingDown) return;
      console.log(`[${spec.id}] exited (${signal ?? `code ${code}`}); the others keep running. Ctrl-C stops them.`);
    });
  }
  try {
    await Promise.all([...children.values()].map((c) => c.ready));
  } catch (e) {
    console.error(`a node failed to start: ${(e as Error).message}`);
    await shutdown('start failed', 1);
    return;
  }

  // Wait (briefly) for an election, then show every node's view.
  const first = specs[0];
  for (let i = 0; i < 50; i++) {
    const s = await getJson(`127.0.0.1:${first.httpPort}`, '/status').catch(() => null);
    if (s?.leader) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log('\n  node  pid      role       term  leader  commit  applied  http                    raft');
  for (const spec of specs) {
    const child = children.get(spec.id)!;
    const s = await getJson(`127.0.0.1:${spec.httpPort}`, '/status').catch(() => null);
    const cells = s
      ? [spec.id, child.process.pid, s.role, s.term, s.leader ?? '-', s.commitIndex, s.appliedIndex]
      : [spec.id, child.process.pid, '?', '?', '?', '?', '?'];
    const widths = [4, 7, 9, 4, 6, 6, 7];
    console.log(`  ${cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')}  http://127.0.0.1:${spec.httpPort}   127.0.0.1:${spec.raftPort}`);
  }

  const h = (i: number) => `http://127.0.0.1:${specs[i % specs.length].httpPort}`;
  // The node the user adds by hand is theirs: its data must not live in a directory this
  // launcher removes on exit.
  const joinerData = temporary ? path.join('data', `n${opts.nodes + 1}`) : path.join(dataRoot, `n${opts.nodes + 1}`);
  const next = opts.nodes + 1;
  const joiner: LocalNodeSpec = { id: `n${next}`, raftPort: opts.basePort + opts.nodes, httpPort: opts.basePort + 1000 + opts.nodes };
  console.log(`
Each node logs leader and membership changes above (RXRAFT_LOG_FORMAT=json for JSON lines).

Try (any node takes reads and writes; followers forward to the leader, and redirect
leader-only routes there: -L follows the redirect):

  curl -L -X PUT --data-binary hello ${h(0)}/kv/greeting
  curl -L ${h(1)}/kv/greeting                          # linearizable read
  curl -L '${h(2)}/kv/greeting?stale=1'                # local read, possibly stale
  curl -L -X POST --data-binary bye '${h(0)}/kv/greeting?cas=hello'   # 412 if the value is not hello
  curl -L -X PUT -H 'Idempotency-Key: client-1:1' --data-binary once ${h(1)}/kv/k   # retry-safe
  curl -L -X DELETE ${h(2)}/kv/greeting
  curl -L ${h(0)}/status
  curl -L ${h(0)}/members
  curl -L ${h(0)}/metrics
  kill -9 <pid of the leader>                       # watch the others elect a new one

Add a node (in another terminal; it is not supervised by this launcher):

  RXRAFT_SECRET=${secret} npm run kv -- --id ${joiner.id} --join \\
    --raft 127.0.0.1:${joiner.raftPort} --http 127.0.0.1:${joiner.httpPort} --data ${joinerData} \\
    --peers ${specs.map((s) => `${s.id}=127.0.0.1:${s.raftPort}`).join(',')}
  curl -L -X POST -d '{"id":"${joiner.id}","raft":"127.0.0.1:${joiner.raftPort}","http":"127.0.0.1:${joiner.httpPort}"}' ${h(0)}/members
  curl -L -X POST ${h(0)}/transfer                     # hand leadership to another voter
  (its data stays in ${joinerData}; this launcher never removes it)

Ctrl-C stops the cluster.
`);
}

void main();
