import type { GroupId } from '../messages/groupId';
import type { NodeId } from '../messages/types';

/**
 * What one host knows of one of its groups, from the group's `leader$` and `members$`.
 *
 * @example
 * const g: GroupLeadership = { group: 'kv-7', leader: 'h1', voters: ['h1', 'h2', 'h3'], reachable: ['h2'] }; // h3 is down
 */
export interface GroupLeadership {
  readonly group: GroupId;
  /** The group's leader as this host's replica sees it, or null while none is known. */
  readonly leader: NodeId | null;
  /** The group's voters (host ids). */
  readonly voters: readonly NodeId[];
  /**
   * Of the voters, those a transfer may go to (on the leader: followers heard from
   * lately); default all voters. A host that is down leads nothing, so without this it
   * would look like the best target of every transfer.
   */
  readonly reachable?: readonly NodeId[];
}

/**
 * A leadership transfer to start: `group`, led by this host, goes to `to`.
 *
 * @example
 * for (const t of planned) host.group(t.group)?.transferLeadership(t.to);
 */
export interface PlannedTransfer {
  readonly group: GroupId;
  readonly to: NodeId;
}

/**
 * Which groups this host (`self`) should hand over so that leaders spread evenly over
 * the hosts: a pure function of what this host's groups say. The fair share is
 * `ceil(groups with a leader / hosts)`, where the hosts are every voter of any group.
 * While this host leads more than that (transfers already `pending` counted as done),
 * it plans a transfer of one more group it leads to the voter of that group (a reachable
 * one) that leads the fewest groups, if that voter is below the fair share (so two hosts at the fair
 * share never trade a group back and forth). At most `limit` transfers; groups in
 * `skip` (pending, or cooling down) are never chosen.
 *
 * @example
 * planLeaderTransfers('h1', [
 *   { group: 'a', leader: 'h1', voters: ['h1', 'h2'] },
 *   { group: 'b', leader: 'h1', voters: ['h1', 'h2'] },
 * ], { pending: [], skip: new Set(), limit: 4 });
 * // → [{ group: 'a', to: 'h2' }]   (fair share: ceil(2 / 2) = 1)
 */
export function planLeaderTransfers(
  self: NodeId,
  groups: readonly GroupLeadership[],
  options: { readonly pending: readonly PlannedTransfer[]; readonly skip: ReadonlySet<GroupId>; readonly limit: number },
): PlannedTransfer[] {
  // Indexed loops throughout: a host runs this once a second over every group, rarely
  // enough to stay in V8's unoptimized tiers, where `for...of` allocates a result per element.
  const led = new Map<NodeId, number>();
  const hosts = new Set<NodeId>([self]);
  let withLeader = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    for (let j = 0; j < g.voters.length; j++) hosts.add(g.voters[j]);
    if (g.leader === null) continue;
    withLeader++;
    led.set(g.leader, (led.get(g.leader) ?? 0) + 1);
  }
  const move = (to: NodeId) => {
    led.set(self, (led.get(self) ?? 0) - 1);
    led.set(to, (led.get(to) ?? 0) + 1);
  };
  for (let i = 0; i < options.pending.length; i++) move(options.pending[i].to);
  const fair = Math.ceil(withLeader / hosts.size);
  const plan: PlannedTransfer[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (plan.length >= options.limit || (led.get(self) ?? 0) <= fair) break;
    if (g.leader !== self || options.skip.has(g.group)) continue;
    const to = leastLoaded((g.reachable ?? g.voters).filter((v) => v !== self && g.voters.includes(v)), led);
    if (to === null || (led.get(to) ?? 0) >= fair) continue;
    plan.push({ group: g.group, to });
    move(to);
  }
  return plan;
}

/** The candidate leading the fewest groups (the first such in `candidates` order), or null if none. */
function leastLoaded(candidates: readonly NodeId[], led: ReadonlyMap<NodeId, number>): NodeId | null {
  let best: NodeId | null = null;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    if (best === null || (led.get(c) ?? 0) < (led.get(best) ?? 0)) best = c;
  }
  return best;
}
