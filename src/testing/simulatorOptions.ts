import type { SnapshotPolicy } from '../api';
import type { PlantedBug } from '../testHooks';
import type { TestCluster, TestClusterOptions } from './cluster';
import type { FaultClass } from './faults/classes';
import type { HostCluster } from './hostCluster';
import type { SafetyMonitor } from './invariants';
import type { KvWorkload, KvWorkloadOptions } from './workload';

/** Options of `runSimulation`. Times are virtual milliseconds. */
export interface SimulationOptions {
  /** Decides everything: election timeouts, network, faults, clients. */
  readonly seed: number;
  /** Cluster size (default 5): nodes, or with `groups` above 1, hosts. */
  readonly nodes?: number;
  /**
   * Raft groups per simulated process (default 1: a cluster of plain nodes). Above 1,
   * each of the `nodes` processes is a host running every group over one shared
   * transport (see `HostCluster`): a crash, a pause, a partition or a storage fault
   * strikes a host, so every group on it at once. With 4 hosts or more, every other
   * group (g2, g4, ...) lives on 3 of them only. Each group has its own clients,
   * history, safety monitor and linearizability check, and a violation names its group.
   */
  readonly groups?: number;
  /**
   * With `groups` above 1: whether idle groups quiesce (each host watching the others with
   * liveness pings, as `createRaftHost`): `'on'`, `'off'`, or `'mixed'` (the default: the
   * seed decides, for about half the seeds). The clients then go quiet more often, so that
   * the faults strike quiet leaders and their hosts.
   */
  readonly quiesce?: 'on' | 'off' | 'mixed';
  /** Faults injected before the liveness phase (default 30); each lasts 20–400 ms. */
  readonly steps?: number;
  /** Concurrent key-value clients (default 4), per group (default 2 with `groups` above 1). */
  readonly clients?: number;
  /** Workload settings: keys, mix, timeouts, which clients use sessions (default: every other one). */
  readonly workload?: Omit<KvWorkloadOptions, 'random' | 'clients' | 'onAnomaly' | 'onRead'>;
  /** Fault classes to inject (default all). */
  readonly faults?: readonly FaultClass[];
  /**
   * Snapshots and log compaction: `'on'` (a small policy drawn from the seed, so that
   * snapshots, compaction and InstallSnapshot happen often), `'off'`, `'mixed'` (the
   * seed decides; the default), or an explicit policy.
   */
  readonly snapshots?: 'on' | 'off' | 'mixed' | Partial<SnapshotPolicy>;
  /** Longest the cluster may take, once faults stop, for each liveness stage (default 10000). */
  readonly livenessTimeout?: number;
  /** Search steps per key for the linearizability check (default the checker's). */
  readonly linearizabilityBudget?: number;
  /** Options passed to the cluster: faulty storage or transport for tests, node options. */
  readonly cluster?: Pick<TestClusterOptions, 'storage' | 'transport' | 'nodeOptions' | 'nodeOptionsFor' | 'syncDelay'>;
  /**
   * Check on the wire that votes and acknowledgements are durable when sent (default
   * true; see `durabilityTap`). Off, durability bugs must show through their effects.
   */
  readonly wireChecks?: boolean;
  /**
   * Whether nodes receive AppendEntries as the TCP transport delivers them, their entries
   * a run of a block (`entryRunDelivery`), rather than as the entry lists an in-memory
   * transport hands over: `'mixed'` (the default) chooses per node, from the seed.
   */
  readonly entryRuns?: 'on' | 'off' | 'mixed';
  /**
   * Check that every `read()` covers what was committed before it was called (default
   * true; see `SafetyMonitor.readStarted`). Off, a stale read must show as a
   * non-linearizable history.
   */
  readonly readChecks?: boolean;
  /**
   * Plants a known bug in every node at every start, to show that a sweep catches it
   * (`'stale-lease'`: the lease rules of issue 14 switched off; `'lost-vote'`: a node that
   * lost its hard state restarts at term 0 and votes at once; `'no-proposal-deadline'`: a
   * leader's own proposals have no deadline; `'uncounted-leader-writes'`: a leader's entries not
   * yet durable on it leave `maxUncommittedBytes` once committed; see `RaftState.plantedBug`).
   */
  readonly plantedBug?: PlantedBug;
  /**
   * With several groups: the groups (g1, g2, ...) `plantedBug` is planted in (default
   * every group), to show that a violation names the group that broke the rule. Test
   * code, like planted storage: `reproduceCommand` does not express it.
   */
  readonly plantedBugGroups?: readonly string[];
  /**
   * Called once everything is set up, before time starts: for tracing and debugging.
   * With several groups: the first group's cluster, monitor and clients, and the hosts.
   */
  readonly inspect?: (run: { readonly cluster: TestCluster; readonly monitor: SafetyMonitor; readonly workload: KvWorkload; readonly hosts?: HostCluster }) => void;
}
