/**
 * Issue 18, finding 4: idle unauthenticated connections to the Raft ports, reopened
 * as soon as they are closed, must not keep a restarted follower from rejoining. Real
 * nodes (FileStorage, TCP with a secret) on loopback; the attackers connect from other
 * loopback addresses (127.0.0.2 ...), the peers from 127.0.0.1, their configured host.
 */
import { filter, firstValueFrom, timeout } from 'rxjs';
import type { CommittedEntry } from '../../src/messages/entry';
import type { NodeId } from '../../src/messages/types';
import { NotLeaderError } from '../../src/errors';
import { createRaftNode, RaftNode } from '../../src/node';
import { FileStorage } from '../../src/storage/fileStorage';
import { TempDirs } from '../storage/tempDirs';
import { IdleFlood, loopbackSources } from './tcpFlood';
import { TcpNetwork } from './tcpHarness';

const IDS = ['n1', 'n2', 'n3'];
const ELECTION_TIMEOUT = { min: 150, max: 300 };
/**
 * The liveness bound: a generous number of election timeouts (the target is
 * one), not a speed target: it holds on a loaded machine.
 */
const REJOIN_BOUND_MS = 30 * ELECTION_TIMEOUT.max;
/**
 * Longer than the test: a flooded handshake slot never frees by timing out, so a
 * follower gets in only if the budget lets it (with the old fixed cap it never did).
 */
const HANDSHAKE_TIMEOUT = 20_000;
const text = (e: CommittedEntry) => Buffer.from(e.data).toString();

describe('a restarted follower rejoins while every Raft port is flooded', () => {
  const dirs = new TempDirs('rxraft-flood-');
  let network: TcpNetwork;
  const nodes = new Map<NodeId, RaftNode>();
  const committed = new Map<NodeId, string[]>();
  const storageDirs = new Map<NodeId, string>();
  const floods: IdleFlood[] = [];

  async function start(id: NodeId): Promise<RaftNode> {
    const transport = await network.open(id);
    const storage = await FileStorage.open(storageDirs.get(id)!);
    const node = createRaftNode({
      id, peers: IDS, transport, storage, electionTimeout: ELECTION_TIMEOUT, heartbeatInterval: 30,
    });
    committed.set(id, []);
    node.committed$.subscribe((e) => committed.get(id)?.push(text(e)));
    nodes.set(id, node);
    return node;
  }

  beforeEach(async () => {
    network = new TcpNetwork(() => ({ handshakeTimeout: HANDSHAKE_TIMEOUT }));
    for (const id of IDS) storageDirs.set(id, dirs.make());
    // Every node knows every port before the nodes start.
    for (const id of IDS) await network.open(id);
    for (const id of IDS) await network.open$.get(id)!.close();
    for (const id of IDS) await start(id);
  });

  afterEach(async () => {
    for (const flood of floods.splice(0)) flood.stop();
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    nodes.clear();
    await network.dispose();
    dirs.removeAll();
  });

  async function leader(): Promise<RaftNode> {
    const id = await Promise.race(
      IDS.map((i) => firstValueFrom(nodes.get(i)!.leader$.pipe(filter((l) => l?.self === true), timeout(10_000))).then(() => i)),
    );
    return nodes.get(id)!;
  }

  /** Waits (bounded) until `id` has committed `command`; returns the time it took. */
  async function committedAt(id: NodeId, command: string, bound: number): Promise<number> {
    const started = Date.now();
    while (!committed.get(id)!.includes(command)) {
      if (Date.now() - started > bound) throw new Error(`${id} did not commit ${command} within ${bound} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return Date.now() - started;
  }

  /**
   * Proposes `command` on whichever node leads, retrying (bounded) while leadership
   * moves: a loaded machine may see an election meanwhile.
   */
  async function proposeOnLeader(command: string, bound: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      const lead = await leader();
      try {
        await lead.propose(Buffer.from(command));
        return;
      } catch (e) {
        if (!(e instanceof NotLeaderError) || Date.now() - started > bound) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Stops follower `id` and starts it again on the same port and storage; resolves with the time it took to commit a new entry. */
  async function restartAndRejoin(id: NodeId, command: string): Promise<number> {
    await nodes.get(id)!.stop();
    const started = Date.now();
    await start(id);
    await proposeOnLeader(command, REJOIN_BOUND_MS);
    await committedAt(id, command, REJOIN_BOUND_MS - (Date.now() - started));
    return Date.now() - started;
  }

  test('70 idle connections per port, reopened when closed, do not keep the follower out', async () => {
    await proposeOnLeader('before', REJOIN_BOUND_MS);
    const lead = await leader();
    const follower = IDS.find((id) => id !== lead.id)!;
    await committedAt(follower, 'before', 5000);

    const quiet = await restartAndRejoin(follower, 'quiet');

    // 70 idle connections to each Raft port, from 10 loopback addresses that are not peers'.
    for (const id of IDS) {
      const flood = new IdleFlood(network.ports.get(id)!, loopbackSources(2, 10), 70);
      floods.push(flood);
      flood.start();
    }
    await new Promise((r) => setTimeout(r, 300)); // the flood fills every handshake slot
    const rejectedBefore = IDS.map((id) => network.open$.get(id)!.stats().rejected);

    const flooded = await restartAndRejoin(follower, 'flooded');
    // The attack was real: the nodes kept turning the flood's connections away meanwhile.
    expect(floods.every((f) => f.opened > 70)).toBe(true);
    const others = IDS.filter((id) => id !== follower);
    expect(others.every((id) => network.open$.get(id)!.stats().rejected > rejectedBefore[IDS.indexOf(id)])).toBe(true);
    expect(committed.get(follower)).toEqual(expect.arrayContaining(['before', 'quiet', 'flooded']));
    console.log(`rejoin after restart: ${quiet} ms without the flood, ${flooded} ms under 70 idle connections per port ` +
      `(${floods.map((f) => f.opened).join('/')} attacker connections opened)`);
  }, 20_000);
});
