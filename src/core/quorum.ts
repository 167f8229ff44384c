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

function majorityValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const values = voters.map(valueOf).sort((a, b) => b - a);
  return values[Math.floor(voters.length / 2)];
}

/** Whether a single election round can be won by this node alone. */
export function isSingleVoter(config: ClusterConfig, id: NodeId): boolean {
  return quorumReached(config, (v) => v === id);
}
