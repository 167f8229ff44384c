/**
 * The `'membership'` fault class: a voter is removed, later added back as a learner and
 * promoted, or swapped at once for another (a joint change); and the checks and repairs
 * that keep such changes one at a time per group.
 */
import type { Membership, RaftNode } from '../../api';
import type { NodeId } from '../../messages/types';
import { FaultContext, membersOf } from './context';
import type { JointChangeCuts } from './jointChangeCuts';
import type { StorageFaults } from './storage';

/** A membership request: what it asks, when, of which leader, and in how many API calls made one after the other. */
interface Request {
  readonly what: string;
  readonly since: number;
  readonly leader: NodeId;
  readonly calls: number;
}

/** A membership request in flight, per group. */
interface MembershipState {
  /**
   * A membership request is in flight, asked of `leader`. Requests wait (a new leader
   * first commits an entry of its own term), so the configuration may not show one yet:
   * never two at once.
   */
  busy: Request | null;
  /** When `repair` may ask again. */
  nextRepair: number;
}

/**
 * A membership request unsettled after this long (virtual ms) is no longer waited for
 * (and reported); one whose leader was paused meanwhile is reported only then.
 */
const MEMBERSHIP_REQUEST_LIMIT = 8000;

/** How `MembershipFaults` reports a request that breaks its promise. */
export interface MembershipChecks {
  /** Called when a membership request settles later than `limit`, or not at all. */
  readonly onAnomaly?: (message: string) => void;
  /**
   * How long one API call of a request may take to settle (virtual ms) while its leader
   * runs (unset: `MEMBERSHIP_REQUEST_LIMIT`): the API settles every change within
   * `requestTimeout` x 5; adding a node back takes two (`addLearner`, then `promote`).
   */
  readonly limit?: number;
}

/**
 * Removes a voter (at most one out at a time) through the leader of the group in focus,
 * adds back the one removed, or, half the time when one is out of an odd number of
 * members, swaps a voter for it in one joint change (still one out at a time; with
 * `cuts`, the leader is sometimes cut off once it appends the final configuration);
 * tracks each request until it settles, per group.
 *
 * @example
 * const membership = new MembershipFaults(faults, storage, { onAnomaly: (m) => console.log(m), limit: 3600 });
 * membership.change();    // logs e.g. 'membership: remove n3'
 * membership.change();    // logs e.g. 'membership: swap n3 in, n1 (leader) out (joint)', or 'membership: add back n3'
 * membership.complete();  // false until every node is a voter again
 * membership.repair();    // after the faults: asks each leader to add the one out back
 */
export class MembershipFaults {
  /** Per group (the key in focus; '' with one group). */
  private readonly states = new Map<string, MembershipState>();

  constructor(
    private readonly faults: FaultContext,
    private readonly storage: StorageFaults,
    private readonly checks: MembershipChecks = {},
    /** Cuts a leader off in the middle of a joint change (unset: never). */
    private readonly cuts?: JointChangeCuts,
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

  /** Removes a voter of the group in focus, adds back the one removed, or swaps a voter for it. */
  change(): void {
    const leaderId = this.faults.cluster.leader();
    if (!leaderId) return this.faults.log(`membership: no leader${this.faults.inGroup()}`);
    const leader = this.faults.cluster.node(leaderId);
    const m = membersOf(leader);
    if (this.busy() || m.joint) return this.faults.log(`membership: a change is in progress${this.faults.inGroup()}`);
    const missing = this.faults.members().find((id) => !m.voters.includes(id));
    if (missing !== undefined && (this.storage.anyDamaged() || this.faults.members().length % 2 === 0 || this.faults.random() < 0.5)) return void this.readd(leader, m, true);
    if (this.storage.anyDamaged()) return this.faults.log('membership: a node is under repair, no voter is removed');
    // At most one voter is out at a time: a majority of N and of N - 1 voters are the same
    // size for odd N, which keeps the safety monitor's majority checks exact. A swap keeps
    // N - 1 voters, through a joint configuration whose halves both have N - 1 (for odd N
    // only: for even N two majorities of different N - 1 voters may not meet); it swaps
    // the leader out half the time (a removal, 30%).
    const others = m.voters.filter((id) => id !== leaderId);
    const target = this.faults.random() < (missing === undefined ? 0.3 : 0.5) || others.length === 0 ? leaderId : this.faults.pick(others);
    const out = `${target}${target === leaderId ? ' (leader)' : ''}`;
    if (missing === undefined) {
      this.track(`remove ${target} on ${leaderId}`, leaderId, leader.removeMember(target));
      return this.faults.log(`membership: remove ${out}${this.faults.inGroup()}`);
    }
    // The one swapped out stays a learner half the time.
    const learners = m.learners.filter((id) => id !== missing).concat(this.faults.random() < 0.5 ? [target] : []);
    const voters = m.voters.filter((id) => id !== target).concat(missing);
    this.track(`swap ${missing} in, ${target} out on ${leaderId}`, leaderId, leader.changeMembership({ voters, learners }));
    const cut = this.cuts?.armed(leaderId, voters) ?? '';
    this.faults.log(`membership: swap ${missing} in, ${out} out (joint${learners.includes(target) ? `, ${target} a learner` : ''})${this.faults.inGroup()}${cut}`);
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
    const learner = m.learners.includes(missing);
    const added = learner ? Promise.resolve() : leader.addLearner(missing);
    this.track(`add back ${missing} on ${leader.id}`, leader.id, added.then(() => leader.promote(missing)), learner ? 1 : 2);
    if (log) this.faults.log(`membership: add back ${missing}${this.faults.inGroup()}`);
    return true;
  }

  /**
   * Marks a membership request asked of `leader` (`calls` API calls one after the other)
   * in flight until it settles, whatever its outcome; reports it if it settles past the limit.
   */
  private track(what: string, leader: NodeId, request: Promise<unknown>, calls = 1): void {
    const busy: Request = { what, since: this.faults.cluster.clock.now(), leader, calls };
    const state = this.state;
    state.busy = busy;
    const group = this.faults.inGroup();
    const done = () => {
      if (state.busy !== busy) return; // reported and forgotten, or replaced
      state.busy = null;
      const age = this.faults.cluster.clock.now() - busy.since;
      if (this.late(busy, age)) this.checks.onAnomaly?.(`a membership request${group} (${busy.what}, made at ${busy.since.toFixed(1)} ms) settled ${age.toFixed(0)} ms later, past ${this.limitOf(busy)} ms`);
    };
    request.then(done, done);
  }

  /** Whether a membership request is in flight; one unsettled past the limit is reported and forgotten. */
  private busy(): boolean {
    const state = this.state;
    const busy = state.busy;
    if (!busy) return false;
    const age = this.faults.cluster.clock.now() - busy.since;
    if (!this.late(busy, age) && age < MEMBERSHIP_REQUEST_LIMIT) return true;
    this.checks.onAnomaly?.(`a membership request${this.faults.inGroup()} (${busy.what}, made at ${busy.since.toFixed(1)} ms) had not settled ${age.toFixed(0)} ms later`);
    state.busy = null;
    return false;
  }

  /** How long `request` may take while its leader runs. */
  private limitOf(request: Request): number {
    return this.checks.limit === undefined ? MEMBERSHIP_REQUEST_LIMIT : this.checks.limit * request.calls;
  }

  /** Whether `request`, `age` ms old, is past its limit, its leader not paused since it was asked (a pause stops the leader's deadlines). */
  private late(request: Request, age: number): boolean {
    return age > this.limitOf(request) && !this.faults.pausedSince(request.leader, request.since);
  }
}
