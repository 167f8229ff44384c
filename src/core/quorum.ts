import type { ClusterConfig } from '../messages/config';
import type { NodeId } from '../messages/types';

/*
 * Raft's majority rules over a configuration (Figure 2, dissertation §4.3): who wins an
 * election, how far the commit index may advance. The configuration itself, its codec
 * and the plain questions about it (members, voters) are in messages/config.ts.
 */

/** Whether the ids for which `granted` holds form a majority of the configuration (of both halves when joint). */
export function quorumReached(config: ClusterConfig, granted: (id: NodeId) => boolean): boolean {
  return majority(config.voters, granted) && (!config.oldVoters || majority(config.oldVoters, granted));
}

function majority(voters: readonly NodeId[], granted: (id: NodeId) => boolean): boolean {
  if (voters.length === 0) return false;
  let n = 0;
  for (const v of voters) if (granted(v)) n++;
  return n > voters.length / 2;
}

/**
 * The largest value that a majority of the configuration (of both halves when joint)
 * has reached: for match indexes, the highest index stored on a majority.
 */
export function quorumValue(config: ClusterConfig, valueOf: (id: NodeId) => number): number {
  const value = majorityValue(config.voters, valueOf);
  return config.oldVoters ? Math.min(value, majorityValue(config.oldVoters, valueOf)) : value;
}

/**
 * The value reached by a majority: the largest `v` that more than half of the voters have
 * reached. Stepped on every AppendEntries answer and every durable write, so it allocates
 * little: a selection by counting (voters are few) replaces a copy and a sort.
 */
function majorityValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  const n = voters.length;
  if (n === 0) return 0;
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = valueOf(voters[i]);
  const needed = Math.floor(n / 2) + 1;
  let best = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v <= best) continue;
    let atLeast = 0;
    for (let j = 0; j < n; j++) if (values[j] >= v) atLeast++;
    if (atLeast >= needed) best = v;
  }
  return best;
}

/** Whether a single election round can be won by this node alone. */
export function isSingleVoter(config: ClusterConfig, id: NodeId): boolean {
  return quorumReached(config, (v) => v === id);
}
