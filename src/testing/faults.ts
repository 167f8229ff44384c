/**
 * `FaultInjector`: draws one fault per step from the fault classes a run asks for, each
 * class in its own file under `faults/`, and ends them all at `calm`.
 */
import type { NodeId } from '../messages/types';
import type { LateMessages } from './faultsMessages';
import type { SendTriggers } from './faultsTriggers';
import { ALL_FAULT_CLASSES, FaultClass } from './faults/classes';
import { FaultContext, FaultEvent } from './faults/context';
import { ChunkLossFaults } from './faults/chunkLoss';
import { CutLinks } from './faults/cutLinks';
import { DiskStallFaults } from './faults/diskStall';
import { JointChangeCuts } from './faults/jointChangeCuts';
import { LateMessageFaults } from './faults/lateMessages';
import { LostEntriesFaults } from './faults/lostEntries';
import { MembershipFaults } from './faults/membership';
import { NetworkWeather } from './faults/network';
import { OneWayFaults } from './faults/oneWay';
import { PartitionFaults } from './faults/partitions';
import { ProcessFaults } from './faults/processes';
import { StorageFaults } from './faults/storage';
import type { FaultTarget } from './faults/target';
import { TransferFaults } from './faults/transfer';

/** Options of `FaultInjector`. */
export interface FaultInjectorOptions {
  /** Decides every fault: kind, target, duration. */
  readonly random: () => number;
  /** Which kinds to inject (default all). */
  readonly classes?: readonly FaultClass[];
  /** The network's delay when no weather is in effect (default 1–3 ms). */
  readonly baseDelay?: { readonly min: number; readonly max: number };
  /** Called when a node's API breaks its promise (a membership request that never settles, a transfer that settles late). */
  readonly onAnomaly?: (message: string) => void;
  /**
   * How long a membership request may take to settle (virtual ms, a pause of its leader
   * not counted); later is reported to `onAnomaly`. Unset: 8 s, in any case.
   */
  readonly membershipLimit?: number;
  /**
   * How long a leadership transfer may take to settle (virtual ms, a pause of the old
   * leader not counted); later is reported to `onAnomaly`. Unset: not checked.
   */
  readonly transferLimit?: number;
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
  /** The faults applied so far, in order. */
  readonly events: FaultEvent[];
  private readonly classes: readonly FaultClass[];
  private readonly faults: FaultContext;
  private readonly triggers: SendTriggers | undefined;
  private readonly weather: NetworkWeather;
  private readonly late: LateMessageFaults;
  private readonly links: CutLinks;
  private readonly partitions: PartitionFaults;
  private readonly oneWay: OneWayFaults;
  private readonly processes: ProcessFaults;
  private readonly storage: StorageFaults;
  private readonly transfers: TransferFaults;
  private readonly membership: MembershipFaults;
  private readonly chunks: ChunkLossFaults;
  private readonly stalls: DiskStallFaults;
  private readonly lostEntries: LostEntriesFaults;

  constructor(
    private readonly cluster: FaultTarget,
    options: FaultInjectorOptions,
  ) {
    this.classes = options.classes ?? ALL_FAULT_CLASSES;
    this.triggers = options.triggers;
    this.faults = new FaultContext(cluster, options.random);
    this.events = this.faults.events;
    this.weather = new NetworkWeather(this.faults, options.baseDelay ?? { min: 1, max: 3 });
    this.late = new LateMessageFaults(this.faults, options.lateMessages);
    this.links = new CutLinks(this.faults);
    this.partitions = new PartitionFaults(this.faults, this.links);
    this.oneWay = new OneWayFaults(this.faults, this.links, options.lateMessages, options.triggers);
    this.processes = new ProcessFaults(this.faults);
    this.storage = new StorageFaults(this.faults, this.processes);
    this.transfers = new TransferFaults(this.faults, this.links, this.weather, this.late, options.triggers, { limit: options.transferLimit, onAnomaly: options.onAnomaly });
    const cuts = options.triggers && new JointChangeCuts(this.faults, this.links, options.triggers);
    this.membership = new MembershipFaults(this.faults, this.storage, { onAnomaly: options.onAnomaly, limit: options.membershipLimit }, cuts);
    this.chunks = new ChunkLossFaults(this.faults);
    this.stalls = new DiskStallFaults(this.faults);
    this.lostEntries = new LostEntriesFaults(this.faults, this.links);
    this.weather.calm();
  }

  /** How many faults were injected. */
  get count(): number {
    return this.events.length;
  }

  /** Records something the caller did to the run (e.g. the workload went quiet) among the faults. */
  note(action: string): void {
    this.faults.log(action);
  }

  /** Injects one fault (or a heal, or a restart), chosen at random. */
  step(): void {
    const options: [number, () => void][] = [];
    const has = (c: FaultClass) => this.classes.includes(c);
    const running = this.cluster.ids.filter((id) => this.cluster.isRunning(id));
    if (has('network')) options.push([2, () => this.weather.change()]);
    if (has('late-messages') && this.late.enabled) options.push([2, () => this.late.inject()]);
    if (has('partition')) options.push([1, () => this.partitions.partition()]);
    if (has('one-way')) options.push([1, () => this.oneWay.oneWay()], [1.5, () => this.oneWay.leaderLinks()]);
    if (has('one-way') && this.links.any) options.push([1, () => this.oneWay.restoreLink()]);
    if (has('bridge') && this.cluster.ids.length >= 3) options.push([1, () => this.partitions.bridge()]);
    if (has('isolate')) options.push([1, () => this.partitions.isolate()]);
    if (has('partition') || has('one-way') || has('bridge') || has('isolate')) options.push([1.5, () => this.partitions.heal()]);
    if (has('crash')) {
      if (running.length > 0) options.push([1, () => this.processes.crash(false)], [1, () => this.processes.crash(true)], [0.5, () => this.processes.cleanStop()]);
      if (this.processes.down > 0) options.push([1 + this.processes.down, () => this.processes.restart()]);
    }
    if (has('pause') && running.length > 0) options.push([1, () => this.processes.pause()]);
    if (has('transfer')) options.push([1, () => this.transfers.transfer()]);
    if (has('membership')) options.push([1, () => this.membership.change()]);
    if (has('chunk-loss')) options.push([1, () => this.chunks.inject()]);
    // One disk fault at a time: a disk that loses acknowledged entries while another's
    // writes hang (a leader's, whose followers committed without its copy) can leave a
    // committed entry on less than a majority, outside the model Raft needs (seed 810085).
    const disksWell = !this.storage.anyDamaged() && this.stalls.stalled === 0;
    if (has('storage') && running.length > 0 && disksWell && (!has('membership') || (this.membership.complete() && this.faults.everyGroup(() => this.membership.allVotersEverywhere())))) {
      options.push([0.7, () => this.storage.damageTail()], [0.7, () => this.storage.loseHardState()]);
    }
    if (has('disk-stall') && disksWell) options.push([0.8, () => this.stalls.stall()]);
    if (has('lost-entries')) options.push([1, () => this.lostEntries.strandTail()], [0.7, () => this.lostEntries.starveFollower()]);
    if (options.length === 0) return;
    let r = this.faults.random() * options.reduce((sum, [w]) => sum + w, 0);
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
    await this.processes.stopped();
    this.lostEntries.calm();
    this.links.heal();
    this.weather.calm();
    this.late.clear();
    this.triggers?.clear();
    this.chunks.clear();
    this.stalls.calm();
    this.processes.resumeAll();
    const down: readonly NodeId[] = this.processes.restartAll();
    this.faults.log(`calm: heal, resume all${down.length ? `, restart ${down.join(',')}` : ''}`);
    await this.cluster.clock.advance(0);
  }

  /**
   * Whether every node is a voter in the leader's configuration, committed, with no
   * membership request still in flight (it may land later: requests wait for the leader
   * to commit an entry of its term), in every group. Always true when membership faults are off.
   */
  membershipComplete(): boolean {
    return this.membership.complete();
  }

  /** After the faults: asks each group's leader to add back a removed voter (at most every 200 ms). */
  repairMembership(): void {
    this.membership.repair();
  }
}
