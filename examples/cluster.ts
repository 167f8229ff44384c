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
import { ConfigError, parseFlags } from './kv/config';
import { forkKvServer, KvChild, LocalNodeSpec, localNodeArgs } from './kv/processes';

const USAGE = 'usage: npm run cluster -- [--nodes 3] [--dir <data dir>] [--base-port 7001]';

function options(argv: readonly string[]): { nodes: number; dir: string | null; basePort: number } {
  const flags = parseFlags(argv);
  for (const name of flags.keys()) if (!['nodes', 'dir', 'base-port'].includes(name)) throw new ConfigError(`unknown option --${name}`);
  const nodes = Number(flags.get('nodes') ?? 3);
  const basePort = Number(flags.get('base-port') ?? 7001);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new ConfigError('--nodes: 1 to 9');
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 1000 + nodes > 65535) throw new ConfigError('--base-port: 1024 to 64000');
  const dir = flags.get('dir');
  if (dir === 'true') throw new ConfigError('--dir needs a directory');
  return { nodes, dir: dir ?? null, basePort };
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
    console.error(`${(e as Error).message}\n${USAGE}`);
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
    await Promise.all([...children.values()].map((c) => c.stop()));
    if (temporary) fs.rmSync(dataRoot, { recursive: true, force: true });
    console.log(temporary ? 'stopped; removed the data directory' : `stopped; data kept in ${dataRoot}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  console.log(`starting ${opts.nodes} node(s); data in ${dataRoot}${temporary ? ' (temporary)' : ''}\n`);
  for (const spec of specs) {
    const child = forkKvServer({
      id: spec.id,
      args: localNodeArgs(spec, specs, dataRoot),
      env: { RXRAFT_SECRET: secret },
      onLine: (line) => console.log(line.startsWith('[') ? line : `[${spec.id}] ${line}`),
    });
    children.set(spec.id, child);
    child.messages$.subscribe((m) => {
      if (m.type !== 'event') return;
      if (m.stream === 'leader' && m.value && (m.value as { self: boolean }).self) {
        console.log(`[${m.id}] is the leader (term ${(m.value as { term: number }).term})`);
      }
      if (m.stream === 'members') {
        // Print each configuration once, when this node sees it committed.
        const v = m.value as { voters: string[]; learners: string[]; index: number; committed: boolean };
        if (v.index > 0 && v.committed) console.log(`[${m.id}] members: voters ${v.voters.join(', ')}${v.learners.length ? `; learners ${v.learners.join(', ')}` : ''} (configuration #${v.index})`);
      }
    });
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
  for (const child of children.values()) child.watch(['leader', 'members']);

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
  const next = opts.nodes + 1;
  const joiner: LocalNodeSpec = { id: `n${next}`, raftPort: opts.basePort + opts.nodes, httpPort: opts.basePort + 1000 + opts.nodes };
  console.log(`
Try (any node takes reads and writes; followers forward to the leader):

  curl -X PUT --data-binary hello ${h(0)}/kv/greeting
  curl ${h(1)}/kv/greeting                          # linearizable read
  curl '${h(2)}/kv/greeting?stale=1'                # local read, possibly stale
  curl -X POST --data-binary bye '${h(0)}/kv/greeting?cas=hello'
  curl -X PUT -H 'Idempotency-Key: client-1:1' --data-binary once ${h(1)}/kv/k   # retry-safe
  curl -X DELETE ${h(2)}/kv/greeting
  curl ${h(0)}/status
  curl ${h(0)}/metrics
  kill -9 <pid of the leader>                       # watch the others elect a new one

Add a node (in another terminal; it is not supervised by this launcher):

  RXRAFT_SECRET=${secret} npm run kv -- --id ${joiner.id} --join \\
    --raft 127.0.0.1:${joiner.raftPort} --http 127.0.0.1:${joiner.httpPort} --data ${path.join(dataRoot, joiner.id)} \\
    --peers ${specs.map((s) => `${s.id}=127.0.0.1:${s.raftPort}`).join(',')}
  curl -X POST -d '{"id":"${joiner.id}","raft":"127.0.0.1:${joiner.raftPort}","http":"127.0.0.1:${joiner.httpPort}"}' ${h(0)}/members
  curl -X POST ${h(0)}/transfer                     # hand leadership to another voter

Ctrl-C stops the cluster.
`);
}

void main();
