/**
 * The `'membership'` fault class: a voter is removed, later added back as a learner and
 * promoted; and the checks and repairs that keep such changes one at a time per group.
 */
import type { Membership, RaftNode } from '../../api';
import { FaultContext, membersOf } from './context';
import type { StorageFaults } from './storage';

/** A membership request in flight, per group. */
interface MembershipState {
  /**
   * A membership request is in flight. Requests wait (a new leader first commits an
   * entry of its own term), so the configuration may not show one yet: never two at once.
   */
  busy: { readonly what: string; readonly since: number } | null;
  /** When `repair` may ask again. */
  nextRepair: number;
}

/** A membership request unsettled after this long (virtual ms) is reported, and no longer waited for. */
const MEMBERSHIP_REQUEST_LIMIT = 8000;

/**
 * Removes a voter (at most one out at a time) through the leader of the group in focus,
 * or adds back one removed; tracks each request until it settles, per group.
 *
 * @example
 * const membership = new MembershipFaults(faults, storage, (m) => console.log(m));
 * membership.change();    // logs e.g. 'membership: remove n3'
 * membership.complete();  // false until n3 is a voter again
 * membership.repair();    // after the faults: asks each leader to add n3 back
 */
export class MembershipFaults {
  /** Per group (the key in focus; '' with one group). */
  private readonly states = new Map<string, MembershipState>();

  constructor(
    private readonly faults: FaultContext,
    private readonly storage: StorageFaults,
    /** Called when a node's API breaks its promise (a membership request that never settles). */
    private readonly onAnomaly: ((message: string) => void) | undefined,
  ) {}

  /**
   * Whether every node is a voter in the leader's configuration, committed, with no
   * membership request still in flight (it may land later: requests wait for the leader
   * to commit an entry of its term), in every group. Always true when membership faults are off.
   */
  complete(): boolean {
    return this.faults.everyGroup(() => this.groupComplete());
  }

  /** After the faults: asks each group's leader to add back a removed voter (at most every 200 ms). */
  repair(): void {
    this.faults.everyGroup(() => {
      this.repairGroup();
      return true;
    });
  }

  /**
   * Whether every node runs and each one's latest configuration, committed or not, has
   * every node as a voter (and is not joint): no removal is in flight anywhere. The
   * leader's view alone is not enough: a paused leader's is frozen while the others may
   * already hold a removal it has not seen (seed 717 at 3 nodes: a damaged tail struck
   * the paused leader after the others had taken a removal, leaving a two-voter
   * configuration whose other voter alone could never repair it).
   */
  allVotersEverywhere(): boolean {
    const ids = this.faults.members();
    const cluster = this.faults.cluster;
    return ids.every((id) => {
      if (!cluster.isRunning(id) || cluster.groupRunning?.(id) === false) return false;
      const m = membersOf(cluster.node(id));
      return !m.joint && ids.every((v) => m.voters.includes(v));
    });
  }

  /** Removes a voter of the group in focus, or adds back the one removed. */
  change(): void {
    const leaderId = this.faults.cluster.leader();
    if (!leaderId) return this.faults.log(`membership: no leader${this.faults.inGroup()}`);
    const leader = this.faults.cluster.node(leaderId);
    const m = membersOf(leader);
    if (this.busy() || m.joint) return this.faults.log(`membership: a change is in progress${this.faults.inGroup()}`);
    if (this.readd(leader, m, true)) return;
    if (this.storage.anyDamaged()) return this.faults.log('membership: a node is under repair, no voter is removed');
    // At most one voter is out at a time: a majority of N and of N - 1 voters are the same
    // size for odd N, which keeps the safety monitor's majority checks exact.
    const others = m.voters.filter((id) => id !== leaderId);
    const target = this.faults.random() < 0.3 || others.length === 0 ? leaderId : this.faults.pick(others);
    this.track(`remove ${target} on ${leaderId}`, leader.removeMember(target));
    this.faults.log(`membership: remove ${target}${target === leaderId ? ' (leader)' : ''}${this.faults.inGroup()}`);
  }

  /** The membership state of the group in focus. */
  private get state(): MembershipState {
    const key = this.faults.cluster.focused ?? '';
    let state = this.states.get(key);
    if (!state) this.states.set(key, (state = { busy: null, nextRepair: 0 }));
    return state;
  }

  private groupComplete(): boolean {
    const leader = this.faults.cluster.leader();
    if (!leader || this.busy()) return false;
    const m = membersOf(this.faults.cluster.node(leader));
    return m.committed && !m.joint && this.faults.members().every((id) => m.voters.includes(id));
  }

  private repairGroup(): void {
    const now = this.faults.cluster.clock.now();
    const state = this.state;
    if (now < state.nextRepair || this.busy() || this.groupComplete()) return;
    state.nextRepair = now + 200;
    const leaderId = this.faults.cluster.leader();
    if (leaderId) this.readd(this.faults.cluster.node(leaderId), membersOf(this.faults.cluster.node(leaderId)), false);
  }

  /** Adds back the first node that is not a voter: as a learner, then promoted. Returns whether there was one. */
  private readd(leader: RaftNode, m: Membership, log: boolean): boolean {
    const missing = this.faults.members().find((id) => !m.voters.includes(id));
    if (missing === undefined) return false;
    const added = m.learners.includes(missing) ? Promise.resolve() : leader.addLearner(missing);
    this.track(`add back ${missing} on ${leader.id}`, added.then(() => leader.promote(missing)));
    if (log) this.faults.log(`membership: add back ${missing}${this.faults.inGroup()}`);
    return true;
  }

  /** Marks a membership request in flight until it settles, whatever its outcome. */
  private track(what: string, request: Promise<unknown>): void {
    const busy = { what, since: this.faults.cluster.clock.now() };
    const state = this.state;
    state.busy = busy;
    const done = () => {
      if (state.busy === busy) state.busy = null;
    };
    request.then(done, done);
  }

  /** Whether a membership request is in flight; one that hung too long is reported and forgotten. */
  private busy(): boolean {
    const state = this.state;
    const busy = state.busy;
    if (!busy) return false;
    const age = this.faults.cluster.clock.now() - busy.since;
    if (age < MEMBERSHIP_REQUEST_LIMIT) return true;
    this.onAnomaly?.(`a membership request${this.faults.inGroup()} (${busy.what}, made at ${busy.since.toFixed(1)} ms) had not settled ${age.toFixed(0)} ms later`);
    state.busy = null;
    return false;
  }
}
