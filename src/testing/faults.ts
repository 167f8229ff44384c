import type { NodeId } from '../messages/types';
import type { RaftNode, StopOptions } from '../api';
import type { Membership } from '../api';
import type { MemoryHub, NetworkFaults } from '../transports/memoryHub';
import type { InterceptRule } from '../transports/memoryHubIntercept';
import type { SimulatorClock } from './simulatorClock';
import { leaderLinkCut } from './faultsLinks';
import { LateMessageRule, LateMessages, MessageKind } from './faultsMessages';
import type { SendTriggers } from './faultsTriggers';

/** The kinds of fault the simulator injects. */
export type FaultClass =
  /** Message loss, duplication, reordering, delay and congested links (the network's "weather"). */
  | 'network'
  /** For a while, individual messages of some kinds (vote grants, acknowledgements), to or from some node, arrive 5–40 ms late. */
  | 'late-messages'
  /** The nodes split in two groups that cannot talk. */
  | 'partition'
  /** Some links work in one direction only: random ones, or chosen around the leader (it cannot hear, or cannot reach, some or all). */
  | 'one-way'
  /** Two halves that cannot talk, and one node that talks to both. */
  | 'bridge'
  /** One node cut off from every other. */
  | 'isolate'
  /** A node loses power (unsynced writes are lost) and restarts later, or at once; or the leader is stopped cleanly, handing over first. */
  | 'crash'
  /** A node freezes for a while, then goes on as if nothing happened. */
  | 'pause'
  /**
   * The leader hands leadership to another voter (TimeoutNow). Often the old leader hears
   * of its successor late: messages to it are held back, or, in a hand-over planned on a
   * quiet network, nothing reaches it for a while from the moment its TimeoutNow leaves.
   */
  | 'transfer'
  /** A voter (the leader, sometimes) is removed from the cluster, and later added back as a learner and promoted. */
  | 'membership'
  /**
   * A node's disk loses the last 1–3 log entries it had acknowledged (a damaged tail, cut
   * and reported at the next start), or its hard state (term and vote) beside the kept
   * log; the node crashes and restarts. One node at a time: Raft tolerates a minority
   * that loses data only if the rest keeps it.
   */
  | 'storage'
  /**
   * For 0.3–3 s every snapshot chunk sent to one node (all of them, or all after chunk 0)
   * is lost, each loss reported to its sender, as by a transport that refuses the chunk:
   * a transfer to that node is given up after its resends and started over later. Not in
   * `ALL_FAULT_CLASSES`, so that the seeds of the default runs keep their schedules: ask
   * for it by name (`OPT_IN_FAULT_CLASSES`).
   */
  | 'chunk-loss';

/** The fault classes a simulation injects unless told otherwise. */
export const ALL_FAULT_CLASSES: readonly FaultClass[] = ['network', 'late-messages', 'partition', 'one-way', 'bridge', 'isolate', 'crash', 'pause', 'transfer', 'membership', 'storage'];

/** Fault classes injected only when named: added after the default set, they would change what every seed does. */
export const OPT_IN_FAULT_CLASSES: readonly FaultClass[] = ['chunk-loss'];

/** One fault the injector applied, as the simulator reports it. */
export interface FaultEvent {
  /** Virtual time (ms). */
  readonly at: number;
  /** What was done, e.g. `crash n3 (leader)`, `partition n1,n2 | n3,n4,n5`. */
  readonly action: string;
}

/** Options of `FaultInjector`. */
export interface FaultInjectorOptions {
  /** Decides every fault: kind, target, duration. */
  readonly random: () => number;
  /** Which kinds to inject (default all). */
  readonly classes?: readonly FaultClass[];
  /** The network's delay when no weather is in effect (default 1–3 ms). */
  readonly baseDelay?: { readonly min: number; readonly max: number };
  /** Called when a node's API breaks its promise (a membership request that never settles). */
  readonly onAnomaly?: (message: string) => void;
  /**
   * The message-level weather wrapped around every node's transport; the
   * `'late-messages'` class sets its rules (without it, that class injects nothing).
   */
  readonly lateMessages?: LateMessages;
  /**
   * Triggers on what nodes send, wrapped around every node's transport: with them, a
   * transfer sometimes cuts the old leader's inbound links the moment its TimeoutNow
   * leaves.
   */
  readonly triggers?: SendTriggers;
}

/** What a storage fault strikes: one node's storage, or every group's storage on one host. */
export interface FaultStorage {
  /** Lost data at a crash and not yet repaired. */
  readonly damaged: boolean;
  /** Loses the last `count` acknowledged log entries (reported at the next start). */
  damageTail(count: number): void;
  /** Loses the hard state (term and vote), keeping the log. */
  loseHardState(): void;
}

/**
 * What `FaultInjector` acts on: a `TestCluster` (its ids are nodes), or a `HostCluster`
 * (its ids are hosts: a crash, a pause, a partition or a storage fault strikes every
 * group on a host at once). Faults aimed at one group — a leadership transfer, a
 * membership change, "target the leader" — go to the group `leader()` and `node()` speak
 * for; a target with several groups lists them in `groupKeys` and lets the injector
 * look at each in turn with `focusOn` (a membership change in flight is tracked per group).
 */
export interface FaultTarget {
  readonly ids: readonly NodeId[];
  readonly clock: SimulatorClock;
  readonly hub: MemoryHub;
  isRunning(id: NodeId): boolean;
  isPaused(id: NodeId): boolean;
  pause(id: NodeId): void;
  resume(id: NodeId): void;
  /** Starts (restarts from storage) a node or host that is down. */
  start(id: NodeId): unknown;
  /** Power loss: down at once, unsynced writes lost. */
  crash(id: NodeId): void;
  /** A clean stop (a leader hands over first with `transferLeadership`); down once it resolves. */
  stopNode(id: NodeId, options?: StopOptions): Promise<void>;
  storage(id: NodeId): FaultStorage;
  /** The leader (of the highest term) of the group in focus, if any. */
  leader(): NodeId | undefined;
  /** The running node of the group in focus on `id`. */
  node(id: NodeId): RaftNode;
  /** Whether the group in focus runs a node on `id` (default: `isRunning`); a host in a clean stop may have stopped some groups already. */
  groupRunning?(id: NodeId): boolean;
  /** The members of the group in focus (default: `ids`); a group may live on some of the hosts only. */
  groupMembers?(): readonly NodeId[];
  waitFor(predicate: () => boolean, timeout?: number, stepMs?: number): Promise<void>;
  /** With several groups: their keys, the one in focus, and how to change it. */
  readonly groupKeys?: readonly string[];
  readonly focused?: string;
  focusOn?(key: string): void;
}

/** A membership request in flight, per group. */
interface MembershipState {
  /**
   * A membership request is in flight. Requests wait (a new leader first commits an
   * entry of its own term), so the configuration may not show one yet: never two at once.
   */
  busy: { readonly what: string; readonly since: number } | null;
  /** When `repairMembership` may ask again. */
  nextRepair: number;
}

/** How long a transfer's trigger stays armed (virtual ms): longer than any transfer takes to send TimeoutNow or give up. */
const TRIGGER_LIFETIME = 1000;

/** The messages a late-messages fault may hold back: votes, and what a leader's lease and commits rest on. */
const LATE_KINDS: readonly MessageKind[] = ['PreVote', 'PreVoteResponse', 'RequestVote', 'RequestVoteResponse', 'AppendEntriesResponse', 'TimeoutNow', 'AppendEntries'];

/** A membership request unsettled after this long (virtual ms) is reported, and no longer waited for. */
const MEMBERSHIP_REQUEST_LIMIT = 8000;

/**
 * Injects faults into a `TestCluster` (or a `HostCluster`: see `FaultTarget`), one per
 * `step()`, every choice drawn from one random source (so one seed decides the whole
 * schedule). Faults compose: a partition
 * stays until a `heal` (which the injector also draws, and which `calm()` forces), a
 * crashed node stays down until it is restarted, a paused node resumes by itself.
 *
 * Targets are often the current leader, since that is where bugs hide.
 *
 * @example
 * const injector = new FaultInjector(cluster, { random: seededRandom(1) });
 * for (let i = 0; i < 20; i++) {
 *   injector.step();
 *   await cluster.clock.advance(100 + 300 * random());
 * }
 * await injector.calm();          // heal, resume, restart: the liveness phase may start
 * injector.events;                // [{ at: 0, action: 'network drop=0.12 ...' }, ...]
 */
export class FaultInjector {
  readonly events: FaultEvent[] = [];
  private readonly random: () => number;
  private readonly onAnomaly: ((message: string) => void) | undefined;
  private readonly classes: readonly FaultClass[];
  private readonly baseDelay: { readonly min: number; readonly max: number };
  private readonly late: LateMessages | undefined;
  private readonly triggers: SendTriggers | undefined;
  /** The late-messages rule in force, as the fault log named it; it lifts itself after a while. */
  private lateRule: LateMessageRule | null = null;
  /** One-way links cut since the last heal ([from, to]; by `oneWay`, `leaderLinks`, `deafen`), so that one can be restored alone. */
  private readonly cutLinks: [NodeId, NodeId][] = [];
  /** How many times every link was restored (heal, partition, calm): a link cut again later checks it did not change. */
  private heals = 0;
  private readonly crashed: NodeId[] = [];
  /** Leaders stopping cleanly (handing over first): down once stopped. */
  private readonly stopping = new Set<NodeId>();
  /** The node bridging two halves, while a bridge is in place: a favourite target. */
  private bridgeNode: NodeId | null = null;
  /** Per group (the key in focus; '' with one group). */
  private readonly membershipStates = new Map<string, MembershipState>();
  /** The chunk-loss rules in force (`chunkLoss`); each lifts itself after a while, `calm` lifts them all. */
  private readonly chunkLosses = new Set<InterceptRule>();

  constructor(
    private readonly cluster: FaultTarget,
    options: FaultInjectorOptions,
  ) {
    this.onAnomaly = options.onAnomaly;
    this.random = options.random;
    this.classes = options.classes ?? ALL_FAULT_CLASSES;
    this.baseDelay = options.baseDelay ?? { min: 1, max: 3 };
    this.late = options.lateMessages;
    this.triggers = options.triggers;
    cluster.hub.setFaults({ delay: this.baseDelay });
  }

  /** How many faults were injected. */
  get count(): number {
    return this.events.length;
  }

  /** Records something the caller did to the run (e.g. the workload went quiet) among the faults. */
  note(action: string): void {
    this.log(action);
  }

  /** Injects one fault (or a heal, or a restart), chosen at random. */
  step(): void {
    const options: [number, () => void][] = [];
    const has = (c: FaultClass) => this.classes.includes(c);
    const running = this.cluster.ids.filter((id) => this.cluster.isRunning(id));
    if (has('network')) options.push([2, () => this.weather()]);
    if (has('late-messages') && this.late) options.push([2, () => this.lateMessages()]);
    if (has('partition')) options.push([1, () => this.partition()]);
    if (has('one-way')) options.push([1, () => this.oneWay()], [1.5, () => this.leaderLinks()]);
    if (has('one-way') && this.cutLinks.length > 0) options.push([1, () => this.restoreLink()]);
    if (has('bridge') && this.cluster.ids.length >= 3) options.push([1, () => this.bridge()]);
    if (has('isolate')) options.push([1, () => this.isolate()]);
    if (has('partition') || has('one-way') || has('bridge') || has('isolate')) options.push([1.5, () => this.heal()]);
    if (has('crash')) {
      if (running.length > 0) options.push([1, () => this.crash(false)], [1, () => this.crash(true)], [0.5, () => this.cleanStop()]);
      if (this.crashed.length > 0) options.push([1 + this.crashed.length, () => this.restart()]);
    }
    if (has('pause') && running.length > 0) options.push([1, () => this.pause()]);
    if (has('transfer')) options.push([1, () => this.transfer()]);
    if (has('membership')) options.push([0.7, () => this.membership()]);
    if (has('chunk-loss')) options.push([1, () => this.chunkLoss()]);
    if (has('storage') && running.length > 0 && !this.anyDamaged() && (!has('membership') || (this.membershipComplete() && this.everyGroup(() => this.allVotersEverywhere())))) {
      options.push([0.7, () => this.damageTail()], [0.7, () => this.loseHardState()]);
    }
    if (options.length === 0) return;
    let r = this.random() * options.reduce((sum, [w]) => sum + w, 0);
    for (const [w, inject] of options) {
      if ((r -= w) < 0) {
        inject();
        return;
      }
    }
    options[options.length - 1][1]();
  }

  /**
   * Ends every fault: heals the network, clears the weather, resumes paused nodes and
   * restarts crashed ones.
   */
  async calm(): Promise<void> {
    await this.cluster.waitFor(() => this.stopping.size === 0, 30_000, 1);
    this.healLinks();
    this.cluster.hub.setFaults({ delay: this.baseDelay });
    this.late?.clear();
    this.lateRule = null;
    this.triggers?.clear();
    for (const rule of this.chunkLosses) rule.remove();
    this.chunkLosses.clear();
    for (const id of this.cluster.ids) if (this.cluster.isRunning(id) && this.cluster.isPaused(id)) this.cluster.resume(id);
    const down = this.crashed.splice(0);
    for (const id of down) this.cluster.start(id);
    this.log(`calm: heal, resume all${down.length ? `, restart ${down.join(',')}` : ''}`);
    await this.cluster.clock.advance(0);
  }

  /**
   * Whether every node is a voter in the leader's configuration, committed, with no
   * membership request still in flight (it may land later: requests wait for the leader
   * to commit an entry of its term), in every group. Always true when membership faults are off.
   */
  membershipComplete(): boolean {
    return this.everyGroup(() => this.groupMembershipComplete());
  }

  /** After the faults: asks each group's leader to add back a removed voter (at most every 200 ms). */
  repairMembership(): void {
    this.everyGroup(() => {
      this.repairGroupMembership();
      return true;
    });
  }

  /** Whether `check` holds for every group, each in focus in turn (the focus is restored). */
  private everyGroup(check: () => boolean): boolean {
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
  private members(): readonly NodeId[] {
    return this.cluster.groupMembers?.() ?? this.cluster.ids;
  }

  /** ' in g3' when the target has several groups (g3 in focus); '' otherwise. */
  private inGroup(): string {
    return this.cluster.focused === undefined ? '' : ` in ${this.cluster.focused}`;
  }

  /** ' of g3' when the target has several groups (g3 in focus); '' otherwise. */
  private ofGroup(): string {
    return this.cluster.focused === undefined ? '' : ` of ${this.cluster.focused}`;
  }

  /** The membership state of the group in focus. */
  private get membershipState(): MembershipState {
    const key = this.cluster.focused ?? '';
    let state = this.membershipStates.get(key);
    if (!state) this.membershipStates.set(key, (state = { busy: null, nextRepair: 0 }));
    return state;
  }

  private groupMembershipComplete(): boolean {
    const leader = this.cluster.leader();
    if (!leader || this.busyWithMembership()) return false;
    const m = membersOf(this.cluster.node(leader));
    return m.committed && !m.joint && this.members().every((id) => m.voters.includes(id));
  }

  private repairGroupMembership(): void {
    const now = this.cluster.clock.now();
    const state = this.membershipState;
    if (now < state.nextRepair || this.busyWithMembership() || this.groupMembershipComplete()) return;
    state.nextRepair = now + 200;
    const leaderId = this.cluster.leader();
    if (leaderId) this.readd(this.cluster.node(leaderId), membersOf(this.cluster.node(leaderId)), false);
  }

  private transfer(): void {
    const leaderId = this.cluster.leader();
    if (!leaderId) return this.log(`transfer: no leader${this.inGroup()}`);
    const leader = this.cluster.node(leaderId);
    const voters = membersOf(leader).voters.filter((id) => id !== leaderId);
    const to = voters.length > 0 && this.random() < 0.5 ? this.pick(voters) : undefined;
    // Often the old leader is slow to hear of the new term (the target's RequestVote, the
    // new leader's AppendEntries, higher-term answers to its heartbeats) while it hands
    // over: it hears late, or, in a hand-over planned while the network is quiet, hears
    // nothing for a while once its TimeoutNow is out.
    const r = this.random();
    const planned = this.triggers !== undefined && r >= 1 / 3 && r < 2 / 3;
    if (planned) {
      this.healLinks();
      this.cluster.hub.setFaults({ delay: this.baseDelay });
      this.late?.clear();
      this.lateRule = null;
    }
    leader.transferLeadership(to).catch(() => undefined);
    const what = `transfer leadership${this.inGroup()} from ${leaderId} to ${to ?? 'the most up-to-date voter'}`;
    if (this.late && r < 1 / 3) {
      this.log(`${what}; ${this.holdBack({ kinds: LATE_KINDS, to: leaderId, probability: 0.5 + 0.5 * this.random(), delay: { min: 5, max: 40 } }, 20 + 180 * this.random())}`);
    } else if (this.triggers && planned) {
      const duration = 50 + 250 * this.random();
      this.log(`network calm, links healed; ${what}; once its TimeoutNow is out, it goes deaf for ${duration.toFixed(0)}ms`);
      const armed = this.triggers.once(leaderId, 'TimeoutNow', () => this.deafen(leaderId, duration));
      this.cluster.clock.scheduler.schedule(() => armed.unsubscribe(), TRIGGER_LIFETIME);
    } else {
      this.log(what);
    }
  }

  /** Cuts every link into `id` (it still reaches everyone), and restores those links `duration` ms later. */
  private deafen(id: NodeId, duration: number): void {
    const links = this.cluster.ids.filter((x) => x !== id).map((x) => [x, id] as const);
    for (const [from, to] of links) this.cut(from, to);
    this.restoreLater(links, duration);
    this.log(`deaf ${id}: nothing reaches it for ${duration.toFixed(0)}ms`);
  }

  /** Restores `links` after `after` ms, those still cut by a one-way fault (a heal or a partition since owns the others). */
  private restoreLater(links: readonly (readonly [NodeId, NodeId])[], after: number): void {
    this.cluster.clock.scheduler.schedule(() => {
      for (const [from, to] of links) {
        const i = this.cutLinks.findIndex(([f, t]) => f === from && t === to);
        if (i < 0) continue;
        this.cutLinks.splice(i, 1);
        this.cluster.hub.unblock(from, to);
      }
    }, after);
  }

  private membership(): void {
    const leaderId = this.cluster.leader();
    if (!leaderId) return this.log(`membership: no leader${this.inGroup()}`);
    const leader = this.cluster.node(leaderId);
    const m = membersOf(leader);
    if (this.busyWithMembership() || m.joint) return this.log(`membership: a change is in progress${this.inGroup()}`);
    if (this.readd(leader, m, true)) return;
    if (this.anyDamaged()) return this.log('membership: a node is under repair, no voter is removed');
    // At most one voter is out at a time: a majority of N and of N - 1 voters are the same
    // size for odd N, which keeps the safety monitor's majority checks exact.
    const others = m.voters.filter((id) => id !== leaderId);
    const target = this.random() < 0.3 || others.length === 0 ? leaderId : this.pick(others);
    this.track(`remove ${target} on ${leaderId}`, leader.removeMember(target));
    this.log(`membership: remove ${target}${target === leaderId ? ' (leader)' : ''}${this.inGroup()}`);
  }

  /** Adds back the first node that is not a voter: as a learner, then promoted. Returns whether there was one. */
  private readd(leader: RaftNode, m: Membership, log: boolean): boolean {
    const missing = this.members().find((id) => !m.voters.includes(id));
    if (missing === undefined) return false;
    const added = m.learners.includes(missing) ? Promise.resolve() : leader.addLearner(missing);
    this.track(`add back ${missing} on ${leader.id}`, added.then(() => leader.promote(missing)));
    if (log) this.log(`membership: add back ${missing}${this.inGroup()}`);
    return true;
  }

  /** Marks a membership request in flight until it settles, whatever its outcome. */
  private track(what: string, request: Promise<unknown>): void {
    const busy = { what, since: this.cluster.clock.now() };
    const state = this.membershipState;
    state.busy = busy;
    const done = () => {
      if (state.busy === busy) state.busy = null;
    };
    request.then(done, done);
  }

  /** Whether a membership request is in flight; one that hung too long is reported and forgotten. */
  private busyWithMembership(): boolean {
    const state = this.membershipState;
    const busy = state.busy;
    if (!busy) return false;
    const age = this.cluster.clock.now() - busy.since;
    if (age < MEMBERSHIP_REQUEST_LIMIT) return true;
    this.onAnomaly?.(`a membership request${this.inGroup()} (${busy.what}, made at ${busy.since.toFixed(1)} ms) had not settled ${age.toFixed(0)} ms later`);
    state.busy = null;
    return false;
  }

  private weather(): void {
    const r = this.random;
    const calm = r() < 0.25;
    const faults: NetworkFaults = calm
      ? { delay: this.baseDelay }
      : {
          drop: r() < 0.7 ? r() * 0.3 : 0,
          duplicate: r() < 0.5 ? r() * 0.2 : 0,
          reorder: r() < 0.6 ? r() * 0.4 : 0,
          reorderDelay: 5 + r() * 60,
          delay: { min: this.baseDelay.min, max: this.baseDelay.max + (r() < 0.3 ? r() * 60 : r() * 10) },
          // Congested links: entries queue on each link's bulk lane while heartbeats, votes
          // and answers pass them on the control lane (as over TCP's two connections).
          ...(r() < 0.3 ? { bandwidth: 50 + r() * 450 } : {}),
        };
    this.cluster.hub.setFaults(faults);
    const f = (x: number | undefined) => (x ?? 0).toFixed(2);
    this.log(
      calm
        ? 'network calm'
        : `network drop=${f(faults.drop)} dup=${f(faults.duplicate)} reorder=${f(faults.reorder)}/${f(faults.reorderDelay)}ms delay=${f(faults.delay!.min)}-${f(faults.delay!.max)}ms${faults.bandwidth ? ` bandwidth=${faults.bandwidth.toFixed(0)}B/ms` : ''}`,
    );
  }

  private partition(): void {
    const ids = this.shuffled(this.cluster.ids);
    const cut = 1 + Math.floor(this.random() * (ids.length - 1));
    const a = ids.slice(0, cut).sort();
    const b = ids.slice(cut).sort();
    this.healLinks();
    this.cluster.hub.partition(a, b);
    this.log(`partition ${a.join(',')} | ${b.join(',')}`);
  }

  private oneWay(): void {
    const ids = this.cluster.ids;
    const leader = this.cluster.leader();
    const links: string[] = [];
    const count = 1 + Math.floor(this.random() * ids.length);
    for (let i = 0; i < count; i++) {
      // Half the time, cut what the leader says (it keeps hearing the others) or what it hears.
      const from = leader && this.random() < 0.5 ? leader : this.pick(ids);
      const to = this.pick(ids.filter((id) => id !== from));
      const [src, dst] = leader && to !== leader && this.random() < 0.3 ? [to, from] : [from, to];
      this.cut(src, dst);
      links.push(`${src}->${dst}`);
    }
    this.log(`one-way block ${links.join(' ')}`);
  }

  private bridge(): void {
    const ids = this.shuffled(this.cluster.ids);
    const leader = this.cluster.leader();
    const bridge = leader && this.random() < 0.5 ? leader : ids[0];
    const rest = ids.filter((id) => id !== bridge);
    const cut = 1 + Math.floor(this.random() * (rest.length - 1));
    const a = rest.slice(0, cut).sort();
    const b = rest.slice(cut).sort();
    this.healLinks();
    this.cluster.hub.partition(a, b);
    this.bridgeNode = bridge;
    this.log(`bridge ${bridge} between ${a.join(',')} | ${b.join(',')}`);
  }

  private isolate(): void {
    const target = this.target();
    // The isolation owns the target's links now: no one-way fault restores them.
    for (let i = this.cutLinks.length - 1; i >= 0; i--) if (this.cutLinks[i].includes(target.id)) this.cutLinks.splice(i, 1);
    this.cluster.hub.partition([target.id], this.cluster.ids.filter((id) => id !== target.id));
    this.log(`isolate ${target.label}`);
  }

  private heal(): void {
    this.healLinks();
    this.log('heal');
  }

  /** Restores every link (partitions, bridges, one-way cuts). */
  private healLinks(): void {
    this.heals++;
    this.cluster.hub.heal();
    this.cutLinks.length = 0;
    this.bridgeNode = null;
  }

  /**
   * Cuts one-way links around the leader (see `leaderLinkCut`); random ones when there is
   * none. A third of the time the cut stays (until a heal), a third it flaps (it heals by
   * itself after 100–400 ms, about when the followers it cut off start granting
   * pre-votes), and a third each follower the leader can no longer reach hears it again
   * for 10–60 ms from the moment it grants a pre-vote, while that grant reaches the
   * candidate 5–40 ms late: a grant given before the leader's next round, used after it.
   */
  private leaderLinks(): void {
    const leader = this.cluster.leader();
    if (!leader) return this.oneWay();
    const cut = leaderLinkCut(this.cluster.ids, leader, this.random);
    for (const [from, to] of cut.links) this.cut(from, to);
    const r = this.random();
    if (r < 1 / 3) {
      this.log(`one-way ${cut.label}`);
    } else if (r < 2 / 3 || !this.triggers || !this.late) {
      const after = 100 + 300 * this.random();
      this.log(`one-way ${cut.label}, for ${after.toFixed(0)}ms`);
      this.restoreLater(cut.links, after);
    } else {
      const unreached = cut.links.filter(([from]) => from === leader).map(([, to]) => to);
      this.log(`one-way ${cut.label}${unreached.length ? `; ${unreached.join(',')} hear the leader briefly once they grant a pre-vote (held 5-40ms)` : ''}`);
      for (const x of unreached) this.restoreOnPreVoteGrant(leader, x);
    }
  }

  /** Once `x` grants a pre-vote: that grant arrives 5–40 ms late, and `leader` reaches `x` for 10–60 ms. */
  private restoreOnPreVoteGrant(leader: NodeId, x: NodeId): void {
    const delay = 5 + 35 * this.random();
    const blip = 10 + 50 * this.random();
    const armed = this.triggers!.once(
      x,
      'PreVoteResponse',
      () => {
        this.late!.holdNext(x, 'PreVoteResponse', delay);
        const i = this.cutLinks.findIndex(([f, t]) => f === leader && t === x);
        if (i < 0) return; // healed meanwhile
        this.cutLinks.splice(i, 1);
        this.cluster.hub.unblock(leader, x);
        const heals = this.heals;
        this.cluster.clock.scheduler.schedule(() => {
          if (this.heals === heals) this.cut(leader, x);
        }, blip);
        this.log(`${x} granted a pre-vote (held ${delay.toFixed(1)}ms); ${leader} reaches ${x} for ${blip.toFixed(0)}ms`);
      },
      (m) => m.type === 'PreVoteResponse' && m.voteGranted,
    );
    this.cluster.clock.scheduler.schedule(() => armed.unsubscribe(), TRIGGER_LIFETIME);
  }

  /** Restores one link a one-way fault cut, leaving the others cut. */
  private restoreLink(): void {
    const [from, to] = this.cutLinks.splice(Math.floor(this.random() * this.cutLinks.length), 1)[0];
    this.cluster.hub.unblock(from, to);
    this.log(`restore link ${from}->${to}`);
  }

  private cut(from: NodeId, to: NodeId): void {
    this.cluster.hub.block(from, to);
    if (!this.cutLinks.some(([f, t]) => f === from && t === to)) this.cutLinks.push([from, to]);
  }

  /**
   * For a window of 20–500 ms, some kinds of message (at least one of the vote messages
   * and acknowledgements) are held back 5–40 ms, each with some probability: all of them,
   * or only those to the leader, or only those from one node. Held-back vote grants
   * arrive after the leader's next round; a leader hears of a newer term late.
   */
  private lateMessages(): void {
    const r = this.random;
    if (r() < 0.15) {
      this.late!.set(null);
      this.lateRule = null;
      return this.log('late messages: none');
    }
    const kinds = LATE_KINDS.filter(() => r() < 0.4);
    if (kinds.length === 0) kinds.push(this.pick(LATE_KINDS));
    const leader = this.cluster.leader();
    const where = r();
    const scope = leader && where < 0.35 ? { to: leader } : where < 0.55 ? { from: this.pick(this.cluster.ids) } : {};
    const rule = { kinds, ...scope, probability: 0.2 + 0.8 * r(), delay: { min: 5, max: 5 + 35 * r() } };
    this.log(this.holdBack(rule, 20 + 480 * r()));
  }

  /** Puts `rule` in force for `window` ms (unless replaced meanwhile); returns its description. */
  private holdBack(rule: LateMessageRule, window: number): string {
    const late = this.late!;
    late.set(rule);
    this.lateRule = rule;
    this.cluster.clock.scheduler.schedule(() => {
      if (this.lateRule !== rule) return;
      late.set(null);
      this.lateRule = null;
    }, window);
    const target = rule.to !== undefined ? ` to ${rule.to}` : rule.from !== undefined ? ` from ${rule.from}` : '';
    const kinds = rule.kinds === LATE_KINDS ? 'all kinds' : rule.kinds.join(',');
    return `late messages for ${window.toFixed(0)}ms: ${(rule.probability * 100).toFixed(0)}% of ${kinds}${target} held ${rule.delay.min}-${rule.delay.max.toFixed(1)}ms`;
  }

  /**
   * For 300–3,000 ms every snapshot chunk to one node is lost (half the time only those
   * after chunk 0), each loss reported (the hub reports what a rule drops), as by a
   * transport that refuses the chunk while the node still answers heartbeats.
   */
  private chunkLoss(): void {
    const to = this.pick(this.cluster.ids);
    const first = this.random() < 0.5 ? 0 : 1;
    const window = 300 + 2700 * this.random();
    const rule = this.cluster.hub.intercept((e) => e.to === to && e.message.type === 'InstallSnapshot' && e.message.chunk >= first, 'drop');
    this.chunkLosses.add(rule);
    this.cluster.clock.scheduler.schedule(() => {
      rule.remove();
      this.chunkLosses.delete(rule);
    }, window);
    this.log(`chunk loss for ${window.toFixed(0)}ms: snapshot chunks${first > 0 ? ' after chunk 0' : ''} to ${to} lost, reported`);
  }

  private crash(reboot: boolean): void {
    const target = this.target(true);
    this.cluster.crash(target.id);
    if (reboot) {
      const after = this.random() * 30;
      this.cluster.clock.scheduler.schedule(() => {
        if (!this.cluster.isRunning(target.id) && !this.crashed.includes(target.id)) this.cluster.start(target.id);
      }, after);
      this.log(`reboot ${target.label} (down ${after.toFixed(1)}ms)`);
    } else {
      this.crashed.push(target.id);
      this.log(`crash ${target.label}`);
    }
  }

  /**
   * Whether a node's storage lost data and is not yet repaired. Storage faults stay
   * within the model Raft needs — the voters that kept their data form a majority — so
   * one strikes only while every node is a voter and none is under repair, and no voter
   * is removed meanwhile: in a configuration of two voters, one that lost committed
   * entries could never be repaired (the other alone is no majority).
   */
  private anyDamaged(): boolean {
    return this.cluster.ids.some((id) => this.cluster.storage(id).damaged);
  }

  /**
   * Whether every node runs and each one's latest configuration, committed or not, has
   * every node as a voter (and is not joint): no removal is in flight anywhere. The
   * leader's view alone is not enough: a paused leader's is frozen while the others may
   * already hold a removal it has not seen (seed 717 at 3 nodes: a damaged tail struck
   * the paused leader after the others had taken a removal, leaving a two-voter
   * configuration whose other voter alone could never repair it).
   */
  private allVotersEverywhere(): boolean {
    const ids = this.members();
    return ids.every((id) => {
      if (!this.cluster.isRunning(id) || this.cluster.groupRunning?.(id) === false) return false;
      const m = membersOf(this.cluster.node(id));
      return !m.joint && ids.every((v) => m.voters.includes(v));
    });
  }

  /** A node loses the tail of its log at a crash: it restarts at once, or stays down until restarted. */
  private damageTail(): void {
    const target = this.target(true);
    const lost = 1 + Math.floor(this.random() * 3);
    this.cluster.crash(target.id);
    this.cluster.storage(target.id).damageTail(lost);
    const reboot = this.random() < 0.7;
    if (reboot) this.cluster.start(target.id);
    else this.crashed.push(target.id);
    this.log(`storage fault ${target.label}: the last ${lost} log entries lost, ${reboot ? 'restarted' : 'down'}`);
  }

  /**
   * A node loses its hard state (term and vote) at a crash, its log kept: it restarts at
   * once, or stays down until restarted. Its vote in its last term is what it forgets.
   */
  private loseHardState(): void {
    const target = this.target(true);
    this.cluster.crash(target.id);
    this.cluster.storage(target.id).loseHardState();
    const reboot = this.random() < 0.7;
    if (reboot) this.cluster.start(target.id);
    else this.crashed.push(target.id);
    this.log(`storage fault ${target.label}: hard state lost, ${reboot ? 'restarted' : 'down'}`);
  }

  /** The leader stops as for a planned restart: it hands leadership over, then stops; it stays down until restarted. */
  private cleanStop(): void {
    const leader = this.cluster.leader();
    if (!leader || this.stopping.has(leader)) return this.log('clean stop: no leader');
    this.stopping.add(leader);
    this.log(`clean stop ${leader} (leader${this.ofGroup()}, hands over first)`);
    const down = () => {
      this.stopping.delete(leader);
      if (!this.cluster.isRunning(leader) && !this.crashed.includes(leader)) this.crashed.push(leader);
    };
    this.cluster.stopNode(leader, { transferLeadership: true }).then(down, down);
  }

  private restart(): void {
    const id = this.crashed.splice(Math.floor(this.random() * this.crashed.length), 1)[0];
    if (!this.cluster.isRunning(id)) this.cluster.start(id);
    this.log(`restart ${id}`);
  }

  private pause(): void {
    const target = this.target(true);
    const duration = this.random() < 0.5 ? this.random() * 200 : 200 + this.random() * 1000;
    this.cluster.pause(target.id);
    this.cluster.clock.scheduler.schedule(() => {
      if (this.cluster.isRunning(target.id)) this.cluster.resume(target.id);
    }, duration);
    this.log(`pause ${target.label} for ${duration.toFixed(1)}ms`);
  }

  /**
   * The current leader half the time (if there is one), the node bridging a partition a
   * third of the rest (a voter both sides need), otherwise any (running) node.
   */
  private target(runningOnly = false): { id: NodeId; label: string } {
    const leader = this.cluster.leader();
    if (leader && this.random() < 0.5) return { id: leader, label: `${leader} (leader${this.ofGroup()})` };
    const bridge = this.bridgeNode;
    if (bridge && (!runningOnly || this.cluster.isRunning(bridge)) && this.random() < 1 / 3) return { id: bridge, label: `${bridge} (bridge)` };
    const pool = runningOnly ? this.cluster.ids.filter((id) => this.cluster.isRunning(id)) : this.cluster.ids;
    const id = this.pick(pool);
    return { id, label: id };
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  private log(action: string): void {
    this.events.push({ at: this.cluster.clock.now(), action });
  }
}

/** A node's current configuration (`members$` replays it). */
function membersOf(node: RaftNode): Membership {
  let members: Membership | undefined;
  node.members$.subscribe((m) => (members = m)).unsubscribe();
  return members!;
}
