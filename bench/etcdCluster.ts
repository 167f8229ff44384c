/**
 * A three-member etcd cluster on loopback, for the side-by-side benchmark
 * (bench/sideBySide.ts): each member an `etcd` process with its data directory in one
 * temporary directory, default settings (fsync on), talking HTTP (no TLS). Members and
 * the directory go on `stop()`, and on this process's exit if it was not called.
 *
 * @example
 * if (etcdBinary()) {
 *   const etcd = await EtcdCluster.start();
 *   const { port } = await etcd.leaderAddress(); // POST /v3/kv/put there
 *   await etcd.stop();
 * }
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { freePorts } from '../examples/kv/processes';
import { nowMs } from './clusterStats';

/** etcd did not come up (or lost its leader) within the time allowed. */
export class EtcdStartError extends Error {
  override readonly name = 'EtcdStartError';
}

/** The path of the `etcd` binary on PATH, or null when it is not installed. */
export function etcdBinary(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'etcd');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** `POST path` with a JSON body (or `GET` without one) to a member; the parsed JSON or text; rejects after 2 s. */
function call(port: number, pathname: string, body?: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: '127.0.0.1', port, path: pathname, method: data ? 'POST' : 'GET', timeout: 2000, headers: data ? { 'Content-Length': data.length } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${pathname}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${pathname}: no answer within 2 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
}

/** Members still running, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class EtcdCluster {
  private constructor(
    readonly root: string,
    private readonly members: readonly Member[],
    /** Set once `stop()` began: members' complaints about each other going away are not news. */
    private readonly stopping: { value: boolean },
  ) {}

  /** Starts three members and waits (up to `timeoutMs`) until they agree on a leader. */
  static async start(options: { binary?: string; timeoutMs?: number; onLine?: (line: string) => void } = {}): Promise<EtcdCluster> {
    const binary = options.binary ?? etcdBinary();
    if (!binary) throw new EtcdStartError('etcd is not on PATH (apt-get install etcd-server)');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-etcd-'));
    const ports = await freePorts(6);
    const names = ['e1', 'e2', 'e3'];
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[3 + i]}`).join(',');
    const stopping = { value: false };
    const report = options.onLine ?? (() => undefined);
    const onLine = (line: string) => stopping.value || report(line);
    const members = names.map((name, i): Member => {
      const clientUrl = `http://127.0.0.1:${ports[i]}`;
      const peerUrl = `http://127.0.0.1:${ports[3 + i]}`;
      const child = spawn(
        binary,
        [
          '--name', name,
          '--data-dir', path.join(root, name),
          '--listen-client-urls', clientUrl,
          '--advertise-client-urls', clientUrl,
          '--listen-peer-urls', peerUrl,
          '--initial-advertise-peer-urls', peerUrl,
          '--initial-cluster', initialCluster,
          '--initial-cluster-state', 'new',
          '--initial-cluster-token', path.basename(root),
          '--logger', 'zap',
          '--log-level', 'error',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      live.add(child);
      let buffered = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          onLine(`[${name}] ${buffered.slice(0, nl)}`);
          buffered = buffered.slice(nl + 1);
        }
      });
      child.on('error', (e) => onLine(`[${name}] ${e.message}`));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      void exited.then(() => live.delete(child));
      return { name, clientPort: ports[i], peerPort: ports[3 + i], process: child, exited };
    });
    const cluster = new EtcdCluster(root, members, stopping);
    try {
      await cluster.leaderAddress(options.timeoutMs ?? 20_000);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** The members' process ids. */
  pids(): number[] {
    return this.members.map((m) => m.process.pid!).filter((pid) => pid !== undefined);
  }

  /** Each member's name, process id and client port. */
  memberList(): { name: string; pid: number; clientPort: number }[] {
    return this.members.map((m) => ({ name: m.name, pid: m.process.pid!, clientPort: m.clientPort }));
  }

  /** The client address of the member all members call leader (waits up to `timeoutMs`). */
  async leaderAddress(timeoutMs = 10_000): Promise<{ host: string; port: number }> {
    const deadline = nowMs() + timeoutMs;
    let last: unknown = null;
    while (nowMs() < deadline) {
      const exited = this.members.find((m) => m.process.exitCode !== null || m.process.signalCode !== null);
      if (exited) throw new EtcdStartError(`etcd member ${exited.name} exited (${exited.process.signalCode ?? exited.process.exitCode})`);
      try {
        const views = await Promise.all(this.members.map(async (m) => JSON.parse(await call(m.clientPort, '/v3/maintenance/status', {})) as { leader?: string; header?: { member_id?: string } }));
        const leader = views[0].leader;
        const at = views.findIndex((v) => v.header?.member_id === leader);
        if (leader && leader !== '0' && at >= 0 && views.every((v) => v.leader === leader)) return { host: '127.0.0.1', port: this.members[at].clientPort };
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new EtcdStartError(`etcd: no leader within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
  }

  /** Leader changes seen so far: the most any member counted (`etcd_server_leader_changes_seen_total`). */
  async leaderChanges(): Promise<number> {
    const counts = await Promise.all(
      this.members.map(async (m) => {
        const families = parsePrometheus(await call(m.clientPort, '/metrics').catch(() => ''));
        return Number(families.find((f) => f.name === 'etcd_server_leader_changes_seen_total')?.metrics[0]?.value ?? NaN);
      }),
    );
    return Math.max(...counts);
  }

  /** Stops every member (SIGTERM, SIGKILL after `graceMs`) and removes the data directories. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping.value = true;
    await Promise.all(
      this.members.map(async (m) => {
        if (m.process.exitCode === null && m.process.signalCode === null) {
          m.process.kill('SIGTERM');
          const timer = setTimeout(() => m.process.kill('SIGKILL'), graceMs);
          await m.exited;
          clearTimeout(timer);
        }
      }),
    );
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
