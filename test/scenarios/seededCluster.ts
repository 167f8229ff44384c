import { createRaftNode, RaftNode } from '../../src/node';
import type { CommittedEntry } from '../../src/messages/entry';
import { seededRandom } from '../../src/random';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { MemoryHub } from '../../src/transports/memoryHub';
import { VirtualClock } from '../../src/testing/virtualClock';
import type { TimeoutRange } from '../../src/operators/electionTimer';
import { logOf } from '../core/helpers';

export interface NodeSpec {
  readonly id: string;
  /** Terms of the entries at indexes 1, 2, ... already durable at start. */
  readonly log: readonly number[];
  readonly term: number;
  readonly electionTimeout: TimeoutRange;
}

/** Nodes started on pre-written storage, each with its own election timeout: the paper's figures. */
export async function seededCluster(specs: readonly NodeSpec[], seed = 1) {
  const clock = new VirtualClock();
  const random = seededRandom(seed);
  const hub = new MemoryHub({ scheduler: clock.scheduler, random });
  const ids = specs.map((s) => s.id);
  const storages = new Map<string, MemoryStorage>();
  for (const spec of specs) {
    const storage = new MemoryStorage({ scheduler: clock.scheduler, syncDelay: 1 });
    void storage.saveHardState({ term: spec.term, votedFor: null });
    if (spec.log.length > 0) void storage.append(logOf(spec.log));
    storages.set(spec.id, storage);
  }
  await clock.advance(1);
  const nodes = new Map<string, RaftNode>();
  const committed = new Map<string, CommittedEntry[]>();
  for (const spec of specs) {
    const node = createRaftNode({
      id: spec.id,
      peers: ids,
      transport: hub.connect(spec.id),
      storage: storages.get(spec.id)!,
      scheduler: clock.scheduler,
      turnScheduler: clock.scheduler,
      random,
      electionTimeout: spec.electionTimeout,
      heartbeatInterval: 5,
      // The paper's figures are plain Raft: no PreVote, no CheckQuorum.
      preVote: false,
      checkQuorum: false,
    });
    const seen: CommittedEntry[] = [];
    node.committed$.subscribe((e) => seen.push(e));
    committed.set(spec.id, seen);
    nodes.set(spec.id, node);
  }
  const terms = (id: string) => storages.get(id)!.durableEntries().map((e) => e.term);
  return {
    clock,
    hub,
    nodes,
    committed,
    storages,
    terms,
    async stop() {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
      await clock.advance(1000);
    },
  };
}
