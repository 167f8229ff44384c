/**
 * Servers that share work and rebalance the moment the cluster changes: each node
 * processes its share of 12 jobs, chosen by consistent hashing over the voters that
 * `members$` reports. A fourth node joins, then one leaves; watch the shares move.
 *
 *   npm run example:work-sharing
 */
import { asyncScheduler, distinctUntilChanged, filter, firstValueFrom, map } from 'rxjs';
import { createRaftNode, MemoryHub, MemoryStorage, RaftNode } from '../src';
import { sharesOf } from './workSharing';

const jobs = Array.from({ length: 12 }, (_, i) => `job-${String(i + 1).padStart(2, '0')}`);

/** Runs the scenario: three voters, a fourth joins, one leaves; each prints its share as it changes. */
export async function runWorkSharing(): Promise<void> {
  const hub = new MemoryHub({ scheduler: asyncScheduler, faults: { delay: { min: 1, max: 2 } } });
  const nodes = new Map<string, RaftNode>();
  const start = (id: string, join = false) => startServer(hub, nodes, id, join);
  const leader = () => leaderOf(nodes);
  console.log('three voters share the jobs:');
  for (const id of ['n1', 'n2', 'n3']) start(id);
  const l = await leader();
  await new Promise((r) => setTimeout(r, 300));

  console.log('\nn4 joins (learner, then voter): it takes over some jobs');
  start('n4', true);
  await l.addLearner('n4');
  await l.promote('n4');
  await new Promise((r) => setTimeout(r, 300));

  const leaving = ['n1', 'n2', 'n3'].find((id) => id !== l.id)!;
  console.log(`\n${leaving} leaves: only its jobs move`);
  await l.removeMember(leaving);
  await nodes.get(leaving)!.stop();
  nodes.delete(leaving);
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all([...nodes.values()].map((n) => n.stop()));
}

function startServer(hub: MemoryHub, nodes: Map<string, RaftNode>, id: string, join: boolean): RaftNode {
  const node = createRaftNode({ id, peers: ['n1', 'n2', 'n3'], join, transport: hub.connect(id), storage: new MemoryStorage() });
  nodes.set(id, node);
  node.members$
    .pipe(
      filter((m) => m.committed && m.voters.includes(id)),
      map((m) => sharesOf(jobs, m.voters).get(id)!),
      distinctUntilChanged((a, b) => a.join() === b.join()),
    )
    .subscribe((mine) => console.log(`  ${id} now processes ${mine.length.toString().padStart(2)} jobs: ${mine.join(' ')}`));
  return node;
}

async function leaderOf(nodes: Map<string, RaftNode>): Promise<RaftNode> {
  const all = [...nodes.values()];
  const l = await Promise.race(all.map((n) => firstValueFrom(n.leader$.pipe(filter((x) => x?.self === true)))));
  return nodes.get(l!.id)!;
}

if (require.main === module) {
  const watchdog = setTimeout(() => {
    console.error('example did not finish within 30 s');
    process.exit(1);
  }, 30_000);
  runWorkSharing().then(
    () => clearTimeout(watchdog),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
