/**
 * What the fault injector acts on (`FaultTarget`): a cluster of nodes or of hosts, seen
 * through the few operations a fault needs.
 */
import type { NodeId } from '../../messages/types';
import type { RaftNode, StopOptions } from '../../api';
import type { MemoryHub } from '../../transports/memoryHub';
import type { SimulatorClock } from '../simulatorClock';

/** What a storage fault or a disk stall strikes: one node's storage, or every group's storage on one host. */
export interface FaultStorage {
  /** Lost data at a crash and not yet repaired. */
  readonly damaged: boolean;
  /** Loses the last `count` acknowledged log entries (reported at the next start). */
  damageTail(count: number): void;
  /** Loses the hard state (term and vote), keeping the log. */
  loseHardState(): void;
  /** The disk hangs: no write completes (none fails) until `resumeWrites`; reads go on. */
  stallWrites(): void;
  /** The hang ends: the writes that waited complete, in order. */
  resumeWrites(): void;
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
