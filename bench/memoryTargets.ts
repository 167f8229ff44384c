/**
 * The clusters the memory benchmark (bench/memory.ts) loads: three KV server processes
 * (examples/kv-server.ts, compiled to JS, FileStorage) or three etcd members, each seen
 * the same way — its members' process ids, the HTTP port of its current leader, the
 * dialect its API speaks — so one load loop and one sampler serve both.
 *
 * @example
 * const target = await startKvServers(['--log-level', 'warn']);
 * const { id, port } = await target.leader(); // drive `port` with putClient(..., target.dialect)
 * await target.stop();
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { forkKvServer, freePorts, KvChild, localNodeArgs } from '../examples/kv/processes';
import { etcdDialect, HttpDialect, kvDialect } from './clusterHttp';
import { nowMs } from './clusterStats';
import { EtcdCluster } from './etcdCluster';

/** A cluster under memory load. */
export interface MemoryTarget {
  /** `rxraft` or `etcd`. */
  readonly name: string;
  readonly dialect: HttpDialect;
  /** Each member's id and process id. */
  readonly members: readonly { readonly id: string; readonly pid: number }[];
  /** The member every member calls leader, and its HTTP port (waits up to 15 s). */
  leader(): Promise<{ id: string; port: number }>;
  /** A member's V8 heap in use and memory outside it, MB; nulls where the server does not say. */
  heap(id: string): Promise<{ heapMb: number | null; externalMb: number | null }>;
  stop(): Promise<void>;
}

const LEADER_WAIT_MS = 15_000;

/** The resident set of a process, MB, from /proc (NaN once it is gone). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function get(port: number, pathname: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Three KV servers on loopback (FileStorage in a temporary directory), started with `flags`.
 * They log warnings only; with `RXRAFT_BENCH_KV_LOGS=<dir>` they log at info into
 * `<dir>/n1.log` … (JSON lines, appended): leader changes and why each election started.
 */
export async function startKvServers(flags: readonly string[]): Promise<MemoryTarget> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-memory-'));
  const logDir = process.env.RXRAFT_BENCH_KV_LOGS;
  if (logDir) fs.mkdirSync(logDir, { recursive: true });
  const ports = await freePorts(6);
  const specs = [0, 1, 2].map((i) => ({ id: `n${i + 1}`, raftPort: ports[i], httpPort: ports[i + 3] }));
  const secret = crypto.randomBytes(16).toString('hex');
  const children: KvChild[] = specs.map((spec) =>
    forkKvServer({
      id: spec.id,
      args: localNodeArgs(spec, specs, root, ['--log-level', logDir ? 'info' : 'warn', ...flags]),
      env: { RXRAFT_SECRET: secret },
      onLine: (line, stream) => {
        if (logDir) fs.appendFileSync(path.join(logDir, `${spec.id}.log`), `${line}\n`);
        if (stream === 'stderr') console.error(`  [${spec.id}] ${line}`);
      },
    }),
  );
  const stop = async () => {
    await Promise.all(children.map((c) => c.stop(5000)));
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(children.map((c) => c.ready));
  } catch (e) {
    await stop();
    throw e;
  }
  const httpPort = new Map(specs.map((s) => [s.id, s.httpPort]));
  return {
    name: 'rxraft',
    dialect: kvDialect,
    members: specs.map((s, i) => ({ id: s.id, pid: children[i].process.pid! })),
    async leader() {
      const deadline = nowMs() + LEADER_WAIT_MS;
      while (nowMs() < deadline) {
        const views = await Promise.all(specs.map(async (s) => JSON.parse((await get(s.httpPort, '/status')) ?? 'null') as { role: string; leader: string } | null));
        const leaders = views.filter((v) => v?.role === 'leader');
        if (leaders.length === 1 && views.every((v) => v?.leader === leaders[0]!.leader)) return { id: leaders[0]!.leader, port: httpPort.get(leaders[0]!.leader)! };
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`rxraft: no leader within ${LEADER_WAIT_MS / 1000} s`);
    },
    async heap(id) {
      const text = await get(httpPort.get(id)!, '/metrics');
      const read = (name: string) => {
        const m = text && new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
        return m ? Number(m[1]) / 2 ** 20 : null;
      };
      return { heapMb: read('nodejs_heap_size_used_bytes'), externalMb: read('nodejs_external_memory_bytes') };
    },
    stop,
  };
}

/** Three etcd members on loopback (bench/etcdCluster.ts: default settings, fsync on). */
export async function startEtcd(): Promise<MemoryTarget> {
  const etcd = await EtcdCluster.start({ onLine: (line) => console.error(`  ${line}`) });
  const list = etcd.memberList();
  return {
    name: 'etcd',
    dialect: etcdDialect(),
    members: list.map((m) => ({ id: m.name, pid: m.pid })),
    async leader() {
      const { port } = await etcd.leaderAddress(LEADER_WAIT_MS);
      return { id: list.find((m) => m.clientPort === port)!.name, port };
    },
    heap: async () => ({ heapMb: null, externalMb: null }),
    stop: () => etcd.stop(),
  };
}
