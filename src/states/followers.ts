import type { RaftState } from '../core/state';
import type { NodeId } from '../messages/types';

/**
 * The peers the leader replicates to — the keys of its progress map, in order — or none
 * while not leading. Returns `previous` itself when the list is unchanged, without
 * allocating (called after every turn), so a caller publishes only real changes.
 *
 * @example
 * const next = followersOf(state, followers$.value);
 * if (next !== followers$.value) followers$.next(next);
 */
export function followersOf(s: RaftState, previous: readonly NodeId[]): readonly NodeId[] {
  if (s.role.name !== 'leader') return previous.length === 0 ? previous : [];
  const progress = s.role.progress;
  if (progress.size === previous.length) {
    let i = 0;
    let same = true;
    for (const peer of progress.keys()) if (peer !== previous[i++]) same = false;
    if (same) return previous;
  }
  return [...progress.keys()];
}
