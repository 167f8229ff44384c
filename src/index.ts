/**
 * rxraft: Raft consensus for Node.js clusters, as RxJS streams.
 *
 * @example
 * import { createRaftNode, FileStorage, tcpTransport } from 'rxraft';
 *
 * @module rxraft
 */
export { createRaftNode } from './node';
export type { FollowerProgress, FollowerSnapshotTransfer, RaftNode, RaftNodeOptions, ProposeOptions, ReadOptions, StopOptions } from './node';
export type { LeaderInfo, Membership, NodeStatus } from './api';
export type { StateMachine, SnapshotPolicy, LogPolicy } from './api';
export type { SessionInfo, SessionPolicy } from './api';
export type { ClusterConfig } from './messages/config';
export type { RoleName } from './core/state';
export type { ElectionReport } from './core/electionReports';
export { EntryKind } from './messages/entry';
export type { CommittedEntry, Entry } from './messages/entry';
export type { RaftMessage, Envelope, NodeId, WakeUp } from './messages/types';
export { validateMessage } from './messages/validate';
export { encodeEntries, decodeEntries } from './messages/entryCodec';
export type { HardState, SnapshotMeta } from './messages/persisted';
export type { Storage, PersistedState, SnapshotWriter, StorageDamage } from './storage/storage';
export type { EntryRun } from './messages/entryRun';
export { MemoryStorage } from './storage/memoryStorage';
export type { MemoryStorageOptions } from './storage/memoryStorage';
export {
  FileStorage,
  CorruptLogError,
  DirectoryLockedError,
  NonContiguousAppendError,
  OutOfDescriptorsError,
  SnapshotInProgressError,
  SnapshotReplacedError,
} from './storage/fileStorage';
export type { FileStorageOptions, RecoveryReport } from './storage/fileStorage';
export { eventLoopWrites } from './storage/eventLoopWrites';
export type { Transport } from './transports/transport';
export { MemoryHub } from './transports/memoryHub';
export type { MemoryHubOptions, NetworkFaults } from './transports/memoryHub';
export { tcpTransport, TcpTransport } from './transports/tcpTransport';
export type { WireEnvelope } from './transports/tcpWire';
export type { TcpTransportOptions, TcpTlsOptions } from './transports/tcpOptions';
export type { TcpTransportStats } from './transports/tcpStats';
export type { PeerAddress, TcpLaneStats, TcpPeerStats } from './transports/tcpPeerLink';
export type { Lane as TcpLane } from './transports/tcpHandshake';
export {
  AuthenticationError,
  FrameBudgetExceededError,
  FrameStalledError,
  FrameTooLargeError,
  HandshakeBudgetError,
  HandshakeError,
  InvalidFrameError,
  PeerConnectionError,
  TransportConfigError,
} from './transports/tcpErrors';
export { createRaftHost } from './host/raftHost';
export type { GroupOptions, RaftHost, RaftHostOptions } from './host/raftHost';
export { groupStorage } from './host/groupStorage';
export type { GroupStorage, GroupStorageFactory } from './host/groupStorage';
export type { SharedLogOptions } from './storage/sharedLog';
export { GroupExistsError, HostStoppedError, TooManyGroupsError, TooManyPeerHostsError, UnknownGroupError } from './host/hostErrors';
export { balanceLeaders } from './host/balanceLeaders';
export type { BalancedHost, BalanceLeadersOptions, LeaderBalanceEvent } from './host/balanceLeaders';
export { planLeaderTransfers } from './host/leaderBalancePlan';
export type { GroupLeadership, PlannedTransfer } from './host/leaderBalancePlan';
export type { GroupId } from './messages/groupId';
export type { GroupEnvelope, HostTransport } from './transports/hostTransport';
export type { HostAlive, HostAliveEnvelope, HostWakeup } from './messages/liveness';
export { tcpHostTransport, TcpHostTransport } from './transports/tcpHostTransport';
export type { TcpHostTransportOptions } from './transports/tcpHostTransport';
export { seededRandom } from './random';
export { immediateScheduler } from './defaults';
export { batchPerTurn } from './operators/batchPerTurn';
export type { BatchLimit } from './operators/batchPerTurn';
export { deadlineTimer } from './operators/deadlineTimer';
export type { DeadlineTimerOptions } from './operators/deadlineTimer';
export type { TimeoutRange } from './api';
export * from './errors';
