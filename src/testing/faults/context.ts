/**
 * What every fault class of `FaultInjector` shares: the target, the one random source
 * (the order of its draws is the schedule a seed stands for), the fault log, and how a
 * fault picks the node it strikes.
 */
import type { NodeId } from '../../messages/types';
import type { Membership, RaftNode } from '../../api';
import type { FaultTarget } from './target';

/** One fault the injector applied, as the simulator reports it. */
export interface FaultEvent {
  /** Virtual time (ms). */
  readonly at: number;
  /** What was done, e.g. `crash n3 (leader)`, `partition n1,n2 | n3,n4,n5`. */
  readonly action: string;
}

/** How long a trigger on what a node sends stays armed (virtual ms): longer than any transfer takes to send TimeoutNow or give up. */
export const TRIGGER_LIFETIME = 1000;

/**
 * The state and helpers the fault classes share. Each class draws from `random` only
 * when it injects, in the order the injector's single class did, so a seed keeps its
 * schedule.
 *
 * @example
 * const faults = new FaultContext(cluster, seededRandom(1));
 * const target = faults.target(true); // { id: 'n2', label: 'n2 (leader)' }
 * faults.log(`pause ${target.label}`);
 * faults.events;                      // [{ at: 0, action: 'pause n2 (leader)' }]
 */
export class FaultContext {
  readonly events: FaultEvent[] = [];
  /** The node bridging two halves, while a bridge is in place: a favourite target (set and cleared by the link faults). */
  bridgeNode: NodeId | null = null;
  /** When each node's (or host's) latest pause ends (or ended), as planned: a paused node runs no timer meanwhile. */
  private readonly pausedUntil = new Map<NodeId, number>();

  constructor(
    readonly cluster: FaultTarget,
    /** Decides every fault: kind, target, duration. */
    readonly random: () => number,
  ) {}

  /** Records that `id` is paused until `until` (virtual ms). */
  notePause(id: NodeId, until: number): void {
    this.pausedUntil.set(id, Math.max(until, this.pausedUntil.get(id) ?? 0));
  }

  /** Whether a pause of `id` overlapped the time since `since`. */
  pausedSince(id: NodeId, since: number): boolean {
    return (this.pausedUntil.get(id) ?? -Infinity) > since;
  }

  log(action: string): void {
    this.events.push({ at: this.cluster.clock.now(), action });
  }

  /**
   * The current leader half the time (if there is one), the node bridging a partition a
   * third of the rest (a voter both sides need), otherwise any (running) node.
   */
  target(runningOnly = false): { id: NodeId; label: string } {
    const leader = this.cluster.leader();
    if (leader && this.random() < 0.5) return { id: leader, label: `${leader} (leader${this.ofGroup()})` };
    const bridge = this.bridgeNode;
    if (bridge && (!runningOnly || this.cluster.isRunning(bridge)) && this.random() < 1 / 3) return { id: bridge, label: `${bridge} (bridge)` };
    const pool = runningOnly ? this.cluster.ids.filter((id) => this.cluster.isRunning(id)) : this.cluster.ids;
    const id = this.pick(pool);
    return { id, label: id };
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** Whether `check` holds for every group, each in focus in turn (the focus is restored). */
  everyGroup(check: () => boolean): boolean {
    const { groupKeys, focused } = this.cluster;
    if (!groupKeys || focused === undefined) return check();
    try {
      return groupKeys.every((key) => {
        this.cluster.focusOn!(key);
        return check();
      });
    } finally {
      this.cluster.focusOn!(focused);
    }
  }

  /** The members of the group in focus (every node with one group). */
  members(): readonly NodeId[] {
    return this.cluster.groupMembers?.() ?? this.cluster.ids;
  }

  /** ' in g3' when the target has several groups (g3 in focus); '' otherwise. */
  inGroup(): string {
    return this.cluster.focused === undefined ? '' : ` in ${this.cluster.focused}`;
  }

  /** ' of g3' when the target has several groups (g3 in focus); '' otherwise. */
  ofGroup(): string {
    return this.cluster.focused === undefined ? '' : ` of ${this.cluster.focused}`;
  }
}

/** A node's current configuration (`members$` replays it). */
export function membersOf(node: RaftNode): Membership {
  let members: Membership | undefined;
  node.members$.subscribe((m) => (members = m)).unsubscribe();
  return members!;
}
