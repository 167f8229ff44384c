/**
 * Work sharing by consistent hashing over the cluster's voters: each server owns the
 * jobs whose highest-scoring voter it is (rendezvous hashing), so when a voter joins or
 * leaves only the jobs it gains or loses move. Recompute on every `members$` emission.
 *
 * @example
 * node.members$.pipe(map((m) => sharesOf(jobs, m.voters))).subscribe((shares) => runMine(shares.get(node.id)));
 */
import { createHash } from 'node:crypto';

/** The voter that owns `job`: the one with the highest hash of (voter, job). */
export function ownerOf(job: string, voters: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const voter of voters) {
    const score = createHash('sha256').update(voter).update('\0').update(job).digest().readBigUInt64BE(0);
    if (score > bestScore) {
      bestScore = score;
      best = voter;
    }
  }
  return best;
}

/** Every voter's share of the jobs. */
export function sharesOf(jobs: readonly string[], voters: readonly string[]): Map<string, string[]> {
  const shares = new Map<string, string[]>(voters.map((v) => [v, []]));
  for (const job of jobs) {
    const owner = ownerOf(job, voters);
    if (owner) shares.get(owner)!.push(job);
  }
  return shares;
}
