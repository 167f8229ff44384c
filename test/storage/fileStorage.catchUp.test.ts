/**
 * The bounded in-memory log on real nodes (issue 17 item 2): FileStorage, TCP on loopback.
 * With `log.cacheBytes: 0` a leader holds no applied entry in memory beyond what its
 * followers' windows may still need (`maxInflightBytes`, 4 KiB here); a follower that was
 * down while entries were written catches up from the leader's write-ahead log, read back
 * through `FileStorage.readEntries` (no snapshot exists: none is configured).
 */
import { filter, firstValueFrom, timeout } from 'rxjs';
import type { CommittedEntry } from '../../src/messages/entry';
import type { NodeId } from '../../src/messages/types';
import { createRaftNode, RaftNode } from '../../src/node';
import { FileStorage } from '../../src/storage/fileStorage';
import type { Storage } from '../../src/storage/storage';
import { TcpNetwork } from '../transports/tcpHarness';
import { TempDirs } from './tempDirs';
import { testHooksOf } from '../../src/testHooks';

const IDS = ['n1', 'n2', 'n3'];
/** A liveness bound on a loaded machine, not a speed target. */
const BOUND_MS = 15_000;
const text = (e: CommittedEntry) => Buffer.from(e.data).toString();

describe('a follower catches up from the leader’s write-ahead log', () => {
  const dirs = new TempDirs('rxraft-catchup-');
  let network: TcpNetwork;
  const nodes = new Map<NodeId, RaftNode>();
  const committed = new Map<NodeId, string[]>();
  const storageDirs = new Map<NodeId, string>();
  /** Entries each node's storage served through readEntries. */
  const served = new Map<NodeId, number>();

  /** `storage`, counting the entries its readEntries serves. */
  function counting(id: NodeId, storage: FileStorage): Storage {
    return {
      load: () => storage.load(),
      saveHardState: (state) => storage.saveHardState(state),
      append: (entries) => storage.append(entries),
      readEntries: async (from, to, maxBytes) => {
        const entries = await storage.readEntries(from, to, maxBytes);
        served.set(id, (served.get(id) ?? 0) + entries.length);
        return entries;
      },
      createSnapshot: (meta) => storage.createSnapshot(meta),
      readSnapshot: () => storage.readSnapshot(),
      clearDamage: () => storage.clearDamage(),
      close: () => storage.close(),
    };
  }

  async function start(id: NodeId): Promise<RaftNode> {
    const transport = await network.open(id);
    const storage = counting(id, await FileStorage.open(storageDirs.get(id)!));
    const node = createRaftNode({ id, peers: IDS, transport, storage, electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30, log: { cacheBytes: 0 }, maxInflight: 2, maxInflightBytes: 4096, maxBytesPerMessage: 4096 });
    committed.set(id, []);
    node.committed$.subscribe((e) => committed.get(id)?.push(text(e)));
    nodes.set(id, node);
    return node;
  }

  beforeEach(async () => {
    network = new TcpNetwork();
    for (const id of IDS) storageDirs.set(id, dirs.make());
    for (const id of IDS) await network.open(id);
    for (const id of IDS) await network.open$.get(id)!.close();
    for (const id of IDS) await start(id);
  });

  afterEach(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    nodes.clear();
    await network.dispose();
    dirs.removeAll();
  });

  async function leader(): Promise<RaftNode> {
    const id = await Promise.race(
      IDS.map((i) => firstValueFrom(nodes.get(i)!.leader$.pipe(filter((l) => l?.self === true), timeout(BOUND_MS))).then(() => i)),
    );
    return nodes.get(id)!;
  }

  function lastIndexOf(node: RaftNode): number {
    return testHooksOf(node).inspect()!.lastIndex;
  }

  async function until(what: string, done: () => boolean): Promise<void> {
    const started = Date.now();
    while (!done()) {
      if (Date.now() - started > BOUND_MS) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  test('entries written while it was down are read back from the leader’s FileStorage', async () => {
    const lead = await leader();
    const follower = IDS.find((id) => id !== lead.id)!;
    await lead.propose(Buffer.from('before'));
    await until(`${follower} to commit 'before'`, () => committed.get(follower)!.includes('before'));
    await nodes.get(follower)!.stop();
    const written = Array.from({ length: 300 }, (_, i) => `cmd-${i}-${'x'.repeat(200)}`);
    for (let i = 0; i < written.length; i += 30) await Promise.all(written.slice(i, i + 30).map((c) => lead.propose(Buffer.from(c))));
    const servedBefore = served.get(lead.id) ?? 0;
    // Of what it needs, the leader holds at most one window (4 KiB) in memory; at most two AppendEntries went towards it.
    const held = testHooksOf(lead).inspect()!.held;
    expect(held.bytes).toBeLessThanOrEqual(4096 + 1024);
    expect(held.from).toBeGreaterThan(lastIndexOf(lead) - 30);
    await start(follower);
    await until(`${follower} to catch up`, () => committed.get(follower)!.length >= written.length + 1);
    expect(committed.get(follower)!.slice(-written.length)).toEqual(written);
    expect(committed.get(follower)).toEqual(committed.get(lead.id));
    // Beyond the two AppendEntries in flight when it stopped (the transport may deliver them late), it was served from storage.
    expect((served.get(lead.id) ?? 0) - servedBefore).toBeGreaterThanOrEqual(written.length - 2 * 30);
  }, 30_000);
});
