/**
 * rxraft/testing: run real rxraft nodes on virtual time, an in-memory network and
 * in-memory storage, from one seed — for rxraft's own tests and for yours.
 *
 * @example
 * import { runSimulation, reproduceCommand } from 'rxraft/testing';
 * const result = await runSimulation({ seed: 42, nodes: 5, steps: 30 });
 * if (result.violations.length > 0) console.log(reproduceCommand(result), result.violations);
 *
 * // A scripted scenario: given logs, elections by hand, one vote held back in the network
 * const cluster = TestCluster.fromLogs({ n1: { term: 2, log: [1, 2] }, n2: { term: 2, log: [1] }, n3: { term: 2 } },
 *   { manualElections: true });
 * const vote = cluster.hub.intercept(matching({ type: 'RequestVoteResponse', from: 'n2' }), 'hold');
 * cluster.campaign('n1');
 *
 * @module rxraft/testing
 */
export { TestCluster } from './cluster';
export type { TestClusterOptions, NodeStart, ClusterHost } from './cluster';
export { HostCluster } from './hostCluster';
export type { HostClusterOptions, HostGroupOptions } from './hostCluster';
export { ScriptedPeer } from './scriptedPeer';
export { seedEntries, encodeConfigSpec } from './seeds';
export type { NodeSeed, LogEntrySpec, ConfigSpec } from './seeds';
export { encodeConfig, decodeConfig } from '../messages/config';
export type { ClusterConfig } from '../messages/config';
export { InterceptRule, matching } from '../transports/memoryHub';
export type { InterceptAction, InterceptOptions, MessageFilter } from '../transports/memoryHub';
export type { ReplicationView, PeerReplication } from '../testHooks';
export type { PlantedBug } from '../core/state';
export { VirtualClock, settle } from './virtualClock';
export { SimulatorClock, NodeScheduler } from './simulatorClock';
export { nodeTurns, TURN_MS } from './nodeTurns';
export { pausableTransport } from './faultsPause';
export { entryRunDelivery, receivedOverWire } from './entryRunDelivery';
export { FaultInjector } from './faults';
export type { FaultInjectorOptions } from './faults';
export { ALL_FAULT_CLASSES, OPT_IN_FAULT_CLASSES } from './faults/classes';
export type { FaultClass } from './faults/classes';
export type { FaultEvent } from './faults/context';
export type { FaultTarget, FaultStorage } from './faults/target';
export { LateMessages, MAX_LATE_MESSAGES } from './faultsMessages';
export type { LateMessageRule, MessageKind } from './faultsMessages';
export { SendTriggers } from './faultsTriggers';
export { leaderLinkCut } from './faultsLinks';
export type { LinkCut } from './faultsLinks';
export { KvWorkload } from './workload';
export type { KvWorkloadOptions, KvWorkloadStats, KvOperationMix } from './workload';
export { KvStateMachine, encodeKvCommand, decodeKvCommand } from './workloadKv';
export type { KvCommand, KvResult } from './workloadKv';
export { SafetyMonitor } from './invariants';
export type { Violation, ViolationKind } from './invariants';
export { durabilityTap } from './invariantsWire';
export { durableLog, DurableLog } from './invariantsDurable';
export { runSimulation, reproduceCommand } from './simulator';
export type { SimulationOptions, SimulationResult, GroupOutcome } from './simulator';
export { checkLinearizability, DEFAULT_LINEARIZABILITY_BUDGET } from './linearizability';
export type { LinearizabilityOptions, LinearizabilityResult } from './linearizability';
export { parseHistory, formatHistory, toOperation, HistoryFormatError } from './history';
export type { KvOperation, KvGet, KvPut, KvAppend, KvCas } from './history';
