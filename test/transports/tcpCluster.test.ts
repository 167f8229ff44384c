import { filter, firstValueFrom, timeout } from 'rxjs';
import type { CommittedEntry } from '../../src/messages/entry';
import type { NodeId } from '../../src/messages/types';
import { createRaftNode, RaftNode } from '../../src/node';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { TcpNetwork } from './tcpHarness';

const IDS = ['n1', 'n2', 'n3'];
const text = (e: CommittedEntry) => Buffer.from(e.data).toString();

describe('a 3-node cluster over TCP', () => {
  let network: TcpNetwork;
  const nodes = new Map<NodeId, RaftNode>();
  const committed = new Map<NodeId, string[]>();

  beforeEach(async () => {
    network = new TcpNetwork();
    const transports = [];
    for (const id of IDS) transports.push(await network.open(id));
    for (const [i, id] of IDS.entries()) {
      const node = createRaftNode({
        id, peers: IDS, transport: transports[i], storage: new MemoryStorage(),
        electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30,
      });
      committed.set(id, []);
      node.committed$.subscribe((e) => committed.get(id)?.push(text(e)));
      nodes.set(id, node);
    }
  });

  afterEach(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    nodes.clear();
    await network.dispose();
  });

  async function leaderAmong(ids: NodeId[]): Promise<RaftNode> {
    const winners = await Promise.race(
      ids.map((id) =>
        firstValueFrom(nodes.get(id)!.leader$.pipe(filter((l) => l?.self === true), timeout(10_000))).then(() => id),
      ),
    );
    return nodes.get(winners)!;
  }

  async function allCommitted(ids: NodeId[], expected: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!ids.every((id) => committed.get(id)!.length >= expected.length)) {
      if (Date.now() > deadline) throw new Error(`not committed everywhere: ${JSON.stringify([...committed])}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of ids) expect(committed.get(id)).toEqual(expected);
  }

  it('elects a leader, commits, and survives losing the leader', async () => {
    await Promise.all([...nodes.values()].map((n) => n.ready));
    const leader = await leaderAmong(IDS);
    const first = Array.from({ length: 20 }, (_, i) => `cmd-${i}`);
    await Promise.all(first.map((c) => leader.propose(Buffer.from(c))));
    await allCommitted(IDS, first);

    // The leader goes away (its transport closes with it); the other two carry on.
    await leader.stop();
    nodes.delete(leader.id);
    const rest = IDS.filter((id) => id !== leader.id);
    const next = await leaderAmong(rest);
    expect(next.id).not.toBe(leader.id);
    await next.propose(Buffer.from('after failover'));
    await allCommitted(rest, [...first, 'after failover']);
  });
});
