/**
 * A cluster of three KV server processes on loopback for one test file: started in
 * `beforeAll` (FileStorage in a fresh temp directory, TCP with a secret), stopped and
 * removed in `afterAll`. Tests restart, kill and query nodes through it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpAnswer, request } from '../../examples/kv/client';
import { forkKvServer, freePorts, KvChild, LocalNodeSpec, localNodeArgs } from '../../examples/kv/processes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 20 ms for at most `ms`; returns the first truthy result. */
export async function within<T>(ms: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe().catch(() => null);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(20);
  }
}

export interface KvProcessCluster {
  /** The temp directory holding each node's data directory (`<root>/<id>`). */
  readonly root: string;
  readonly specs: readonly LocalNodeSpec[];
  readonly children: Map<string, KvChild>;
  /** Starts (or restarts) the node of `spec`. */
  start(spec: LocalNodeSpec): KvChild;
  call(method: string, id: string, route: string, body?: string): Promise<HttpAnswer>;
  status(id: string): Promise<{ role: string; leader: string | null; appliedIndex: number }>;
}

/**
 * Registers `beforeAll`/`afterAll` for a three-node cluster named `name` (its secret and
 * temp directory prefix) with election timeouts of 150 to `electionTimeoutMax` ms, and
 * `extraArgs` on every node's command line.
 *
 * @example
 * const kv = useKvProcessCluster('damaged-log', 300);
 * test('...', async () => { await kv.call('PUT', 'n1', '/kv/x', '1'); });
 */
export function useKvProcessCluster(name: string, electionTimeoutMax: number, extraArgs: readonly string[] = []): KvProcessCluster {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const cluster = {
    root: '',
    specs: [] as LocalNodeSpec[],
    children: new Map<string, KvChild>(),
    start(spec: LocalNodeSpec): KvChild {
      const args = localNodeArgs(spec, cluster.specs, cluster.root, ['--election-timeout', `150-${electionTimeoutMax}`, ...extraArgs]);
      const child = forkKvServer({ id: spec.id, args, env: { RXRAFT_SECRET: `${name}-test` } });
      cluster.children.set(spec.id, child);
      return child;
    },
    call(method: string, id: string, route: string, body?: string): Promise<HttpAnswer> {
      return request(method, `http://127.0.0.1:${cluster.specs.find((s) => s.id === id)!.httpPort}${route}`, { body, agent, timeoutMs: 5000 });
    },
    async status(id: string) {
      return JSON.parse((await cluster.call('GET', id, '/status')).body);
    },
  };
  beforeAll(async () => {
    cluster.root = fs.mkdtempSync(path.join(os.tmpdir(), `rxraft-kv-${name}-`));
    const ports = await freePorts(6);
    cluster.specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
    await Promise.all(cluster.specs.map((s) => cluster.start(s).ready));
  });
  afterAll(async () => {
    try {
      await Promise.all([...cluster.children.values()].map((c) => c.stop(1000)));
    } finally {
      agent.destroy();
      fs.rmSync(cluster.root, { recursive: true, force: true });
    }
  });
  return cluster;
}
