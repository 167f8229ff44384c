import type { NodeId } from '../messages/types';

/** A set of one-way links to cut, and how the fault log names it. */
export interface LinkCut {
  /** [from, to] pairs: messages from `from` no longer reach `to`. */
  readonly links: readonly (readonly [NodeId, NodeId])[];
  readonly label: string;
}

/**
 * One-directional failures chosen around the leader, where a deposed leader can keep
 * believing it leads (and serve lease reads) while others elect a new one. One of:
 * - `leader->X`: one follower stops hearing the leader (it may grant pre-votes soon);
 * - `X->leader`: the leader stops hearing one follower (it still reaches it);
 * - `deaf`: nothing reaches the leader, while it still reaches everyone (it hears of a
 *   newer term only once the cut heals);
 * - `mute but one`: the leader reaches one follower only, and hears everyone;
 * - `mute, one deaf`: the leader reaches no one, and no longer hears one follower.
 *
 * @example
 * leaderLinkCut(['n1', 'n2', 'n3'], 'n1', seededRandom(6));
 * // { links: [['n2', 'n1'], ['n3', 'n1']], label: 'deaf leader n1: n2,n3 -/-> n1' }
 */
export function leaderLinkCut(ids: readonly NodeId[], leader: NodeId, random: () => number): LinkCut {
  const others = ids.filter((id) => id !== leader);
  if (others.length === 0) return { links: [], label: `${leader} alone: no link to cut` };
  const pick = () => others[Math.floor(random() * others.length)];
  const shape = Math.floor(random() * 5);
  switch (shape) {
    case 0: {
      const x = pick();
      return { links: [[leader, x]], label: `leader ${leader} -/-> ${x}` };
    }
    case 1: {
      const x = pick();
      return { links: [[x, leader]], label: `${x} -/-> leader ${leader}` };
    }
    case 2:
      return { links: others.map((x) => [x, leader] as const), label: `deaf leader ${leader}: ${others.join(',')} -/-> ${leader}` };
    case 3: {
      const kept = pick();
      const cut = others.filter((x) => x !== kept);
      return { links: cut.map((x) => [leader, x] as const), label: `mute leader ${leader}: ${leader} -/-> ${cut.join(',')}, reaches ${kept} only` };
    }
    default: {
      const deaf = pick();
      return {
        links: [...others.map((x) => [leader, x] as const), [deaf, leader] as const],
        label: `mute leader ${leader}: ${leader} -/-> ${others.join(',')}, and ${deaf} -/-> ${leader}`,
      };
    }
  }
}
