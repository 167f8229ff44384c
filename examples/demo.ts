/**
 * A 3-node rxraft cluster in one process: watch leader$, members$ and committed$ as the
 * cluster elects a leader, commits commands, loses its leader, and elects another.
 *
 *   npm start
 */
import { asyncScheduler, filter, firstValueFrom } from 'rxjs';
import { createRaftNode, MemoryHub, MemoryStorage, NotLeaderError, RaftNode } from '../src';

const ids = ['n1', 'n2', 'n3'];
const hub = new MemoryHub({ scheduler: asyncScheduler, faults: { delay: { min: 1, max: 3 } } });
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const started = Date.now();
const log = (id: string, what: string) => console.log(`${String(Date.now() - started).padStart(5)} ms  ${id}  ${what}`);

function startNode(id: string): RaftNode {
  const node = createRaftNode({ id, peers: ids, transport: hub.connect(id), storage: new MemoryStorage() });
  node.leader$.subscribe((l) => log(id, `leader$    ${l ? `${l.id} (term ${l.term})${l.self ? ' ← me' : ''}` : 'none'}`));
  node.members$.subscribe((m) => log(id, `members$   voters ${m.voters.join(', ')}`));
  node.committed$.subscribe((e) => log(id, `committed$ #${e.index} ${decoder.decode(e.data)}`));
  return node;
}

async function leaderOf(nodes: RaftNode[]): Promise<RaftNode> {
  const leaderId = await Promise.race(nodes.map((n) => firstValueFrom(n.leader$.pipe(filter((l) => l?.self === true)))));
  return nodes.find((n) => n.id === leaderId!.id)!;
}

async function proposeAll(nodes: RaftNode[], commands: string[]): Promise<void> {
  for (const command of commands) {
    const leader = await leaderOf(nodes);
    try {
      const { index } = await leader.propose(encoder.encode(command));
      log(leader.id, `propose    "${command}" committed at #${index}`);
    } catch (e) {
      if (!(e instanceof NotLeaderError)) throw e;
    }
  }
}

async function main(): Promise<void> {
  let nodes = ids.map(startNode);
  await proposeAll(nodes, ['set x = 1', 'set y = 2', 'append x 3']);

  const doomed = await leaderOf(nodes);
  console.log(`\n--- crashing the leader ${doomed.id} ---\n`);
  await doomed.stop();
  nodes = nodes.filter((n) => n !== doomed);
  await proposeAll(nodes, ['set z = 4', 'delete y']);

  await Promise.all(nodes.map((n) => n.stop()));
  console.log('\ndone: the survivors elected a new leader and kept committing.');
}

const watchdog = setTimeout(() => {
  console.error('demo did not finish within 30 s');
  process.exit(1);
}, 30_000);
main().then(
  () => clearTimeout(watchdog),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
