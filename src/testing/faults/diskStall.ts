/**
 * The `'disk-stall'` fault class: a node's disk hangs — no write completes and none
 * fails — while its network works, so it still answers heartbeats; for a while, or until
 * the faults end.
 */
import type { NodeId } from '../../messages/types';
import { FaultContext, membersOf } from './context';

/**
 * Hangs disks (`FaultStorage.stallWrites`) and ends the hangs, the writes that waited
 * then completing in order. A third of the time every follower of the leader stalls at
 * once (the leader keeps its quorum, since heartbeats are answered, but nothing it
 * appends can commit); otherwise one node, the leader half the time. A stall lasts
 * 0.1–2 s, or, one time in three, until the faults end. A crash meanwhile loses the
 * writes that waited, as any unsynced write; the disk stays hung across the restart.
 *
 * @example
 * const stalls = new DiskStallFaults(faults);
 * stalls.stall();  // logs e.g. 'disk stall n2 (leader) for 812ms' or 'disk stall n1,n3 (every follower of n2) until the faults end'
 * stalls.calm();   // every disk works again
 */
export class DiskStallFaults {
  /** The stall in force on each node (or host) whose disk hangs: a later stall of a node replaces an earlier one's end. */
  private readonly stalls = new Map<NodeId, object>();

  constructor(private readonly faults: FaultContext) {}

  /** How many disks hang now. */
  get stalled(): number {
    return this.stalls.size;
  }

  /** Hangs one disk, or every follower's of the leader of the group in focus. */
  stall(): void {
    const leader = this.faults.cluster.leader();
    const everyFollower = leader !== undefined && this.faults.random() < 1 / 3;
    const targets = everyFollower ? this.followersOf(leader) : [this.faults.target()];
    const forever = this.faults.random() < 1 / 3;
    const duration = forever ? Infinity : 100 + 1900 * this.faults.random();
    const stall = {};
    for (const { id } of targets) {
      this.stalls.set(id, stall);
      this.faults.cluster.storage(id).stallWrites();
    }
    if (!forever) this.faults.cluster.clock.scheduler.schedule(() => this.end(targets.map((t) => t.id), stall), duration);
    const what = everyFollower ? `${targets.map((t) => t.id).join(',')} (every follower of ${leader}${this.faults.ofGroup()})` : targets[0].label;
    this.faults.log(`disk stall ${what} ${forever ? 'until the faults end' : `for ${duration.toFixed(0)}ms`}`);
  }

  /** Ends every stall: the writes that waited complete, in order. */
  calm(): void {
    for (const id of this.stalls.keys()) this.faults.cluster.storage(id).resumeWrites();
    this.stalls.clear();
  }

  /** The other members of the leader's configuration (voters and learners), as fault targets. */
  private followersOf(leader: NodeId): { id: NodeId; label: string }[] {
    const m = membersOf(this.faults.cluster.node(leader));
    const ids = [...m.voters, ...m.learners].filter((id) => id !== leader && this.faults.cluster.ids.includes(id));
    return ids.map((id) => ({ id, label: id }));
  }

  /** Ends `stall` on `ids`, where a later stall has not replaced it. */
  private end(ids: readonly NodeId[], stall: object): void {
    for (const id of ids) {
      if (this.stalls.get(id) !== stall) continue;
      this.stalls.delete(id);
      this.faults.cluster.storage(id).resumeWrites();
    }
  }
}
