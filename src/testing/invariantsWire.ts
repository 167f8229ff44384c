import type { NodeId, RaftMessage } from '../messages/types';
import type { MemoryStorage } from '../storage/memoryStorage';
import type { Transport } from '../transports/transport';
import { durableLog } from './invariantsDurable';

/**
 * Checks "durable before visible" (DESIGN.md invariant 2) on the wire: wraps a node's
 * transport and, for each message the node sends that promises durability, compares
 * the promise with what its storage has actually made durable at that moment.
 *
 * - A granted `RequestVoteResponse` of term T to C: the durable hard state is
 *   (T, voted for C), or of a later term.
 * - An `AppendEntries` or `InstallSnapshot` of term T from its leader: the durable hard
 *   state is (T, voted for itself), or later. (A candidate asks for votes before its own
 *   vote is durable, but must not win on it.)
 * - A successful `AppendEntriesResponse` of term T with `matchIndex` M, while the durable
 *   term is still T: at least M entries are durable.
 *
 * Put it outermost (the node sends through it first), so it judges what the node itself
 * sent, not what test-planted network tampering below it makes of that.
 *
 * @example
 * const tap = durabilityTap((message) => violations.push(message), (id) => cluster.storage(id));
 * const cluster = new TestCluster({ nodes: 3, seed: 1, transport: (id, t) => tap(id, t) });
 */
export function durabilityTap(
  report: (message: string) => void,
  storageOf: (id: NodeId) => MemoryStorage,
): (id: NodeId, inner: Transport) => Transport {
  return (id, inner) => ({
    inbound$: inner.inbound$,
    errors$: inner.errors$,
    lost$: inner.lost$,
    close: () => inner.close(),
    send(to: NodeId, message: RaftMessage) {
      const problem = check(id, to, message, storageOf(id));
      if (problem) report(problem);
      inner.send(to, message);
    },
  });
}

function check(id: NodeId, to: NodeId, m: RaftMessage, storage: MemoryStorage): string | null {
  const hs = storage.durableHardState();
  switch (m.type) {
    case 'RequestVoteResponse':
      if (!m.voteGranted || hs.term > m.term || (hs.term === m.term && hs.votedFor === to)) return null;
      return `${id} granted its vote in term ${m.term} to ${to}, but its durable hard state is term ${hs.term}, voted for ${hs.votedFor ?? 'nobody'}`;
    case 'AppendEntries':
    case 'InstallSnapshot':
      if (hs.term > m.term || (hs.term === m.term && hs.votedFor === id)) return null;
      return `${id} leads in term ${m.term}, but its durable hard state is term ${hs.term}, voted for ${hs.votedFor ?? 'nobody'}`;
    case 'AppendEntriesResponse': {
      if (!m.success || hs.term !== m.term) return null;
      const durable = durableLog(storage).lastIndex;
      if (durable >= m.matchIndex) return null;
      return `${id} acknowledged entries up to ${m.matchIndex} (term ${m.term}) to ${to}, but only ${durable} are durable`;
    }
    default:
      return null;
  }
}
