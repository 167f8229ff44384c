import * as fs from 'fs';
import * as path from 'path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import type { RaftNode } from '../../src/api';
import { InvalidOptionsError } from '../../src/errors';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { createRaftHost, RaftHost } from '../../src/host/raftHost';
import { groupStorage } from '../../src/host/groupStorage';
import type { Storage } from '../../src/storage/storage';
import type { NodeId } from '../../src/messages/types';
import { tcpHostTransport, TcpHostTransport } from '../../src/transports/tcpHostTransport';
import { TempDirs } from '../storage/tempDirs';

const CLUSTER = 'shared-log-test';
const SECRET = 'a shared-log secret for tests';
const HOSTS = ['h1', 'h2', 'h3'];
const GROUPS = Array.from({ length: 10 }, (_, i) => `s${i + 1}`);
const dirs = new TempDirs('rxraft-swal-host-');
const GROUP_DEFAULTS = { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 };

/** Polls (real time, bounded) until `done()` holds. */
async function until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    if (waited >= ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(() => dirs.removeAll());

describe('hosts of Raft groups over TCP on 127.0.0.1 with one shared write-ahead log each', () => {
  const hosts = new Map<NodeId, RaftHost>();
  const transports = new Map<NodeId, TcpHostTransport>();
  const applied = new Map<string, string[]>();

  afterEach(async () => {
    await Promise.all([...hosts.values()].map((h) => h.stop()));
    await Promise.all([...transports.values()].map((t) => t.close()));
    hosts.clear();
    transports.clear();
  });

  const transportFor = (id: NodeId, port: number, peers: Record<string, string>) =>
    tcpHostTransport({ id, listen: { host: '127.0.0.1', port }, peers, clusterId: CLUSTER, secret: SECRET, reconnectDelay: { min: 20, max: 200 }, connectOnStart: false });

  async function start(id: NodeId, dataDir: string): Promise<void> {
    const host = createRaftHost({ id, transport: transports.get(id)!, dataDir, sharedLog: true, groupDefaults: GROUP_DEFAULTS });
    hosts.set(id, host);
    for (const g of GROUPS) {
      const seen: string[] = [];
      applied.set(`${id}/${g}`, seen);
      (await host.createGroup(g, { peers: HOSTS })).committed$.subscribe((e) => e.data.length > 0 && seen.push(Buffer.from(e.data).toString()));
    }
  }

  async function leaderOf(group: string): Promise<RaftNode> {
    const nodes = HOSTS.map((h) => hosts.get(h)!.group(group)!);
    return Promise.race(nodes.map((n) => firstValueFrom(n.leader$.pipe(filter((l) => l?.self === true), timeout(15_000))).then(() => n)));
  }

  it('3 hosts × 10 groups commit; a restarted host resumes every group from its shared log; removeGroup frees the group', async () => {
    for (const id of HOSTS) transports.set(id, transportFor(id, 0, {}));
    for (const [id, t] of transports) {
      const { port } = await t.listening();
      for (const [other, o] of transports) if (other !== id) o.setPeer(id, `127.0.0.1:${port}`);
    }
    const dataDirs = new Map(HOSTS.map((h) => [h, dirs.make()]));
    for (const id of HOSTS) await start(id, dataDirs.get(id)!);
    await Promise.all(GROUPS.map(async (g) => (await leaderOf(g)).propose(Buffer.from(`${g}-before`))));
    await until(() => GROUPS.every((g) => HOSTS.every((h) => applied.get(`${h}/${g}`)!.length === 1)), 'every group applied on every host');
    // One log per host; a group's directory holds its snapshots only.
    for (const h of HOSTS) {
      const dataDir = dataDirs.get(h)!;
      expect(fs.readdirSync(path.join(dataDir, 'wal')).some((n) => n.endsWith('.wal'))).toBe(true);
      expect(fs.readdirSync(path.join(dataDir, 'groups', 's1'))).toEqual(['snapshots']);
    }

    // h3 stops (all its groups) and comes back on the same directory and port.
    const { port } = await transports.get('h3')!.listening();
    await hosts.get('h3')!.stop();
    await transports.get('h3')!.close();
    const peers = Object.fromEntries(await Promise.all(['h1', 'h2'].map(async (id) => [id, `127.0.0.1:${(await transports.get(id)!.listening()).port}`])));
    transports.set('h3', transportFor('h3', port, peers));
    await transports.get('h3')!.listening();
    await start('h3', dataDirs.get('h3')!);
    await Promise.all(GROUPS.map(async (g) => (await leaderOf(g)).propose(Buffer.from(`${g}-after`))));
    await until(() => GROUPS.every((g) => applied.get(`h3/${g}`)!.length === 2), 'h3 replayed and applied every group');
    for (const g of GROUPS) expect(applied.get(`h3/${g}`)).toEqual([`${g}-before`, `${g}-after`]);

    await Promise.all(HOSTS.map((h) => hosts.get(h)!.removeGroup('s3')));
    for (const h of HOSTS) {
      expect(fs.existsSync(path.join(dataDirs.get(h)!, 'groups', 's3'))).toBe(false);
      expect(hosts.get(h)!.groups()).not.toContain('s3');
    }
  }, 40_000);

  it('sharedLog is checked: a boolean, and only with dataDir', () => {
    const transport = transportFor('h1', 0, {});
    transports.set('h1', transport);
    expect(() => createRaftHost({ id: 'h1', transport, dataDir: dirs.make(), sharedLog: 'yes' as unknown as boolean })).toThrow(InvalidOptionsError);
    expect(() => createRaftHost({ id: 'h1', transport, storage: () => new MemoryStorage(), sharedLog: true })).toThrow(/sharedLog needs dataDir/);
  });

  it('takes a GroupStorage: each group opens through it (here wrapped), the shared log counts one sync per flush, removeGroup frees the group', async () => {
    transports.set('h1', transportFor('h1', 0, {}));
    const dataDir = dirs.make();
    const shared = groupStorage({ dataDir, sharedLog: true });
    const opened: string[] = [];
    let appends = 0;
    const wrapped = {
      ...shared,
      open: async (group: string): Promise<Storage> => {
        opened.push(group);
        const storage = await shared.open(group);
        return Object.assign(Object.create(storage) as Storage, { append: (entries: Parameters<Storage['append']>[0]) => (appends++, storage.append(entries)) });
      },
    };
    const host = createRaftHost({ id: 'h1', transport: transports.get('h1')!, storage: wrapped, groupDefaults: GROUP_DEFAULTS });
    hosts.set('h1', host);
    const nodes = await Promise.all(['a', 'b', 'c'].map((g) => host.createGroup(g, { peers: ['h1'] })));
    await Promise.all(nodes.map((n) => firstValueFrom(n.leader$.pipe(filter((l) => l?.self === true), timeout(15_000)))));
    const before = shared.syncs!();
    await Promise.all(nodes.map((n, i) => n.propose(Buffer.from(`x${i}`))));
    expect(opened).toEqual(['a', 'b', 'c']);
    expect(appends).toBeGreaterThanOrEqual(6); // a no-op at election and the proposal, per group
    // Three groups' appends of one turn: fewer syncs than appends (one per flush, shared).
    expect(shared.syncs!() - before).toBeGreaterThan(0);
    expect(shared.syncs!() - before).toBeLessThan(3);
    await host.removeGroup('b');
    expect(fs.existsSync(path.join(dataDir, 'groups', 'b'))).toBe(false);
    expect(host.groups().sort()).toEqual(['a', 'c']);
    expect(() => createRaftHost({ id: 'h1', transport: transports.get('h1')!, storage: { open: shared.open } as never })).toThrow(/GroupStorage \(open, remove\)/);
  });

  it('a data directory is one layout or the other: a shared log refuses per-group files and the reverse', async () => {
    transports.set('h1', transportFor('h1', 0, {}));
    const dataDir = dirs.make();
    const shared = createRaftHost({ id: 'h1', transport: transports.get('h1')!, dataDir, sharedLog: true });
    hosts.set('h1', shared);
    await (await shared.createGroup('a', { peers: ['h1'] })).stop();
    await shared.stop();
    hosts.delete('h1');
    transports.set('h1', transportFor('h1', 0, {}));
    const perGroup = createRaftHost({ id: 'h1', transport: transports.get('h1')!, dataDir });
    hosts.set('h1', perGroup);
    await expect(perGroup.createGroup('a', { peers: ['h1'] })).rejects.toThrow(/shared write-ahead log/);
  });
});
