import type { NodeId } from '../messages/types';
import type { ClusterConfig, ConfigAt } from '../messages/config';
import { drawElectionDeadline, ElectionRange } from './electionDeadline';
import { RaftLog } from './log';
import { Progress } from './progress';

/** The bugs a test can plant on purpose (see `RaftState.plantedBug`). */
export type PlantedBug = 'stale-lease' | 'lost-vote' | 'no-proposal-deadline' | 'uncounted-leader-writes';

/**
 * A node's role, as `role$` emits it: `precandidate` while it asks for pre-votes (PreVote),
 * `candidate` while it asks for votes.
 *
 * @example
 * node.role$.subscribe((role: RoleName) => metrics.role.set(role === 'leader' ? 1 : 0));
 */
export type RoleName = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** A linearizable read waiting for the leader to confirm it still leads. */
export interface PendingRead {
  /** The commit index when the read arrived: the read is linearizable once it is applied. */
  readonly index: number;
  /** The heartbeat round that must reach a majority. */
  readonly seq: number;
  /** Who asked: this node (`from` null) or a follower that forwarded it. */
  readonly from: NodeId | null;
  readonly requestId: number;
}

/**
 * A running count of the payload bytes in the leader's log after its commit index:
 * `sizes` holds the size of each entry in (base, through], oldest first from `head`.
 * Every entry is added once and removed once, whatever appended it.
 */
export interface UncommittedBytes {
  base: number;
  through: number;
  bytes: number;
  readonly sizes: number[];
  head: number;
}

/**
 * Heartbeat ticks a leader counts since its last client work before it may go quiet
 * (`LeaderState.idleTicks`), by default (`RaftNodeOptions.quiesceAfterTicks`): two, so
 * that a whole tick interval passed without any. A busy group pauses between its rounds
 * (a closed-loop client proposes again only once its last write committed); quiet after
 * every round, it sent a `quiesce` heartbeat and then a wake-up round per write, both
 * answered: 8 messages per write more than 4 (with 64 groups of one writer each, 1.9
 * empty AppendEntries and as many answers per write).
 */
export const QUIESCE_AFTER_IDLE_TICKS = 2;

/** The leader's own state, created when it takes office and dropped when it leaves. */
export interface LeaderState {
  readonly name: 'leader';
  readonly progress: Map<NodeId, Progress>;
  /** When this node took office. */
  readonly since: number;
  /** The current heartbeat round; every AppendEntries carries it. */
  seq: number;
  /** Start time of recent rounds (seq → time), for the lease. Pruned below the quorum's round. */
  readonly roundStarts: Map<number, number>;
  /** Reads waiting for a majority to answer their round. */
  readonly reads: PendingRead[];
  /** Reads that arrived before an entry of this term committed (dissertation §6.4 step 1). */
  readonly readsBeforeCommit: Omit<PendingRead, 'index' | 'seq'>[];
  /**
   * Forwarded requests already appended, per follower: request id → first index. A
   * duplicate delivered by the network gets the same answer instead of a second append.
   * Bounded per follower (oldest forgotten first).
   */
  readonly forwarded: Map<NodeId, Map<number, number>>;
  /** Payload bytes of the entries after the commit index (see `uncommittedBytes`). */
  readonly uncommitted: UncommittedBytes;
  /**
   * Set once this leader has sent TimeoutNow: the target may campaign, and be granted
   * votes, whenever the message arrives, even after the transfer is abandoned. No lease
   * read is served for the rest of this term (see `leaseHolds`).
   */
  leaseRevoked: boolean;
  /**
   * The oldest round a lease may be dated from: the round started when this leader last
   * woke from quiescence (0 if it never went quiet). A quiet leader's followers hear
   * nothing from it, so no lease rests on a round from before it went quiet.
   */
  leaseFloor: number;
  /**
   * Heartbeat ticks since client work last reached this leader (a proposal, a read, a
   * membership change, a transfer, one forwarded by a follower); it goes quiet only once a
   * whole tick interval passed without any (`ProtocolOptions.quiesceAfterTicks`). Starts
   * there: a new leader that nobody asked anything goes quiet once its no-op is everywhere.
   */
  idleTicks: number;
  /** A leadership transfer in progress (§3.10): proposals are refused until it ends. */
  transfer: { readonly to: NodeId; readonly requestId: number; readonly deadline: number; timeoutNowSent: boolean } | null;
}

/**
 * A node that lost its hard state, asking every member for its term (`core/termRecovery.ts`).
 * Invariant: `maxTerm` is the largest term reported so far; `saving` is set once `owed`
 * is empty.
 */
export interface TermRecovery {
  /** Members (of every configuration in the log) that have not reported their term yet. */
  readonly owed: Set<NodeId>;
  maxTerm: number;
  /** Rounds of queries sent so far. */
  rounds: number;
  /** Whether the members that never answered have been reported (once). */
  stallReported: boolean;
  /** The term whose hard state (term, self) is being saved; null while answers are owed. */
  saving: number | null;
  /** The repair that follows this one (a damaged log tail), or null. */
  readonly then: { readonly reason: string } | null;
}

/** State that exists only while the node holds a role; created by becomeX, dropped on leaving. */
export type RoleState =
  | { readonly name: 'follower' }
  | { readonly name: 'precandidate'; readonly votes: Set<NodeId> }
  | { readonly name: 'candidate'; readonly votes: Set<NodeId> }
  | LeaderState;

/** Tunables the rules read. */
export interface ProtocolOptions {
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  readonly maxInflight: number;
  /** Most payload bytes in unacknowledged AppendEntries per follower; one entry larger than this still goes, alone. */
  readonly maxInflightBytes: number;
  /** Heartbeat ticks without progress before a follower is probed afresh. */
  readonly stallTicks: number;
  /** Let the group go quiet when idle (`core/quiescence.ts`): no heartbeats, no election timers until something wakes it. */
  readonly quiesce: boolean;
  /** Heartbeat ticks since the last client work before an idle leader may go quiet (`RaftNodeOptions.quiesceAfterTicks`; default `QUIESCE_AFTER_IDLE_TICKS`). */
  readonly quiesceAfterTicks: number;
  /** Ask PreVote before raising the term (§9.6). */
  readonly preVote: boolean;
  /**
   * A leader that has not heard from a majority within `electionTimeoutMin` steps down.
   * Also turns on leader stickiness: a voter that heard from a leader within
   * `electionTimeoutMin` ignores RequestVote of a newer term (§4.2.3).
   */
  readonly checkQuorum: boolean;
  /**
   * CheckQuorum counts a follower silent only after this many heartbeat ticks without an
   * answer, as well as `electionTimeoutMin` of time (`ceil(electionTimeout.max /
   * heartbeatInterval)`): a stall of this node's own event loop moves the clock but
   * delays the ticks, and the answers that arrived meanwhile are still unread. The ticks
   * span the maximum election timeout, not the minimum: after a stall of the whole
   * machine, followers may get the CPU back well after their leader (in the memory
   * benchmark with 300 ms stalls, three ticks deposed a leader whose followers resumed
   * 100 ms after it). Stepping down a little later costs little: a
   * leader without a majority commits nothing meanwhile, and leases keep their own
   * window (`leaseHolds`).
   */
  readonly checkQuorumTicks: number;
  /** The shortest election timeout: the leader lease and the pre-vote veto window. */
  readonly electionTimeoutMin: number;
  /** Subtracted from the lease for clock drift between nodes. */
  readonly leaseDriftMargin: number;
  /** Forward proposals and reads from followers to the leader. */
  readonly forward: boolean;
  /** Tell every idle follower a new commit index at once (`RaftNodeOptions.eagerCommitNotices`); else only those that wait for it. */
  readonly eagerCommitNotices: boolean;
  /** The longest election timeout: how long a leadership transfer may take. */
  readonly electionTimeoutMax: number;
  /** A learner is promoted only once it lags the leader's log by at most this many entries. */
  readonly maxPromotionLag: number;
  /** A leader refuses proposals while its uncommitted entries hold this many payload bytes. */
  readonly maxUncommittedBytes: number;
  /** The source of chance for election deadlines, returning numbers in [0, 1). */
  readonly random: () => number;
  /** Entries handed to the application and not yet acknowledged hold at most this many payload bytes (one entry always fits). */
  readonly maxApplyingBytes: number;
  /** ... and number at most this many. */
  readonly maxApplyingEntries: number;
  /**
   * The in-memory log's cache of durable, applied entries holds at most this much (payload
   * plus 64 bytes per entry); older ones are read back from storage (`LogPolicy`). A
   * leader keeps what its replicating followers have not acknowledged beyond it, up to
   * `logCacheBytes + maxInflightBytes` of committed entries (`maybeEvict`).
   */
  readonly logCacheBytes: number;
}

/**
 * Everything the Raft rules read and write. Changed only inside the node's serialized
 * event loop (DESIGN.md invariant 1).
 */
export interface RaftState {
  readonly id: NodeId;
  /**
   * The configurations in the log, latest last, from the bootstrap one (index 0).
   * Invariant: the latest is in effect, committed or not (§4.1); entries truncated from
   * the log take their configurations with them.
   */
  configs: ConfigAt[];
  // Persistent (Figure 2): saved before anything depending on them is sent.
  term: number;
  votedFor: NodeId | null;
  readonly log: RaftLog;
  // Volatile.
  /** Invariant: commitIndex only grows (within one run of the node). */
  commitIndex: number;
  /** Highest index whose entry is durable here with the term the log holds now. */
  durableIndex: number;
  /**
   * The term of the newest hard state storage has reported durable (`hardStateSaved`). A
   * follower answers a heartbeat at once only when `term` is durable: what it
   * acknowledges in a term must survive a crash together with that term.
   */
  durableTerm: number;
  /**
   * The highest index the application has acknowledged as applied (the runtime reports
   * it with an `applied` event). Invariant: appliedIndex <= applyingIndex.
   */
  appliedIndex: number;
  /**
   * The highest index handed to the application (`apply` effects).
   * Invariant: appliedIndex <= applyingIndex <= min(commitIndex, durableIndex), and
   * applyingIndex - appliedIndex <= maxApplyingEntries.
   */
  applyingIndex: number;
  /** Payload bytes of the entries after appliedIndex up to applyingIndex (at most maxApplyingBytes, or one entry). */
  applyingBytes: number;
  leaderId: NodeId | null;
  role: RoleState;
  /**
   * Quiescence (`core/quiescence.ts`): a quiet leader sends no heartbeats (its ticks stop);
   * a quiet follower has no election deadline (`Infinity`). Only a leader or a follower is
   * ever quiet; anything of the group wakes it (`maybeWake`).
   */
  quiet: boolean;
  /** A quiet follower: the round (`seq`) of its leader's `quiesce` heartbeat; older heartbeats of that term, delivered late, do not wake it. */
  quietRound: number;
  /**
   * The peers whose hosts were silent at the host's latest wake-up (`wake` events, quiet
   * or not): a leader may go quiet without their answers while the others make a quorum
   * (`canQuiesce`). Empty without a host; shared with the event (a few hosts at most).
   */
  silentPeers: readonly NodeId[];
  /** Bumped at every role or term change; timer events of an older epoch are stale. */
  epoch: number;
  /** The scheduler's clock when the current event arrived (set by the driver). */
  now: number;
  /** When this follower last heard from its leader (for the vote and pre-vote vetoes). */
  lastLeaderContact: number;
  /**
   * When this node's election timer runs out (scheduler time); the runtime only schedules
   * it. Invariant: `Infinity` while leader or while `electionRange` is `'never'`;
   * otherwise drawn from `electionRange` at the last of: start, hearing from the current
   * leader, granting a vote, becoming (pre)candidate, a pre-candidate or a leader stepping
   * down. A candidate that steps down on a newer term alone keeps it (§5.2, see
   * `becomeFollower`).
   */
  electionDeadline: number;
  /** When `electionDeadline` was last drawn (what an election report measures its timeout from). */
  electionDeadlineFrom: number;
  /**
   * Whether `electionDeadline` is this voter's place in the failover order after the host
   * said the leader's host went silent (`failoverDeadline`): a check of it that runs late
   * gets no stall grace, as no heartbeat of that leader can be waiting to be read (the
   * host's own ticks ran while that host answered nothing). False for every other deadline.
   */
  electionDeadlineOnNews: boolean;
  /**
   * The range election deadlines are drawn from: `electionTimeoutMin`..`electionTimeoutMax`
   * unless a test hook replaced it (the protocol windows keep the options).
   */
  electionRange: ElectionRange | 'never';
  /**
   * When this node started. For `electionTimeoutMin` after start it refuses votes and
   * pre-votes as if it had just heard from a leader: it may have been inside a leader's
   * lease before a crash, and a lease relies on its voters' vetoes.
   */
  startedAt: number;
  /**
   * Set while this node's storage lost writes it may have acknowledged (a damaged log
   * tail, see `StorageDamage`): it neither votes nor campaigns until the cluster has
   * repaired it (the runtime reports `repaired`). Its acknowledgements still count: each
   * says what it holds durably now. With `terms`, its hard state was lost: it first
   * recovers a safe term from every member (see `core/termRecovery.ts`), and takes no
   * entries meanwhile.
   */
  repair: { readonly reason: string; readonly terms?: TermRecovery } | null;
  /**
   * A bug planted on purpose, for the simulator's test that it catches it; never set in
   * production (only `rxraft/testing` can, through the node's test hooks).
   * `'stale-lease'` switches off what keeps lease reads safe: leader stickiness and the
   * end of lease reads once this node has sent TimeoutNow. `'lost-vote'` (applied by the
   * runtime at start) switches off the recovery of a lost hard state: the node restarts
   * at term 0 with no vote and votes at once. `'no-proposal-deadline'` (applied by the
   * runtime) gives a leader's own proposals no deadline, as before 7a29dc1: one whose
   * entry cannot commit while the leader keeps its quorum waits forever.
   * `'uncounted-leader-writes'`: `maxUncommittedBytes` counts only what is not committed,
   * as before the leader's own durable index counted: a leader whose disk hangs holds
   * what its followers commit without limit.
   */
  plantedBug: PlantedBug | null;
  /** A snapshot being received from the leader: the next chunk expected. */
  incomingSnapshot: { from: NodeId; index: number; term: number; next: number } | null;
  /**
   * The index of a received snapshot whose last chunk storage is committing (with the
   * `discardLog` decided when that chunk arrived), until `snapshotChunkStored` says it is
   * installed. Meanwhile AppendEntries are checked but their entries are not taken: an
   * entry appended now would reach storage behind the snapshot's commit.
   */
  installingSnapshot: number | null;
  readonly options: ProtocolOptions;
}

/**
 * The state of a node that starts at `start.now` (scheduler time) as a follower, its first
 * election deadline drawn from `start.electionRange` (default: the options' range).
 */
export function createState(
  id: NodeId,
  configs: ConfigAt[],
  persisted: { term: number; votedFor: NodeId | null; log: RaftLog },
  options: ProtocolOptions,
  start: { readonly now: number; readonly electionRange?: ElectionRange | 'never' } = { now: 0 },
): RaftState {
  const electionRange = start.electionRange ?? { min: options.electionTimeoutMin, max: options.electionTimeoutMax };
  return {
    id,
    configs,
    term: persisted.term,
    votedFor: persisted.votedFor,
    log: persisted.log,
    commitIndex: persisted.log.snapshotIndex,
    durableIndex: persisted.log.lastIndex,
    durableTerm: persisted.term,
    appliedIndex: persisted.log.snapshotIndex,
    applyingIndex: persisted.log.snapshotIndex,
    applyingBytes: 0,
    leaderId: null,
    role: { name: 'follower' },
    quiet: false,
    quietRound: 0,
    silentPeers: [],
    epoch: 0,
    now: start.now,
    lastLeaderContact: -Infinity,
    electionDeadline: drawElectionDeadline(start.now, electionRange, options.random),
    electionDeadlineFrom: start.now,
    electionDeadlineOnNews: false,
    electionRange,
    startedAt: start.now,
    repair: null,
    plantedBug: null,
    incomingSnapshot: null,
    installingSnapshot: null,
    options,
  };
}

/** The configuration in effect: the latest in the log. */
export function currentConfig(s: RaftState): ClusterConfig {
  return s.configs[s.configs.length - 1].config;
}
