import type { Observable, SchedulerLike } from 'rxjs';
import type { RoleName } from './core/state';
import type { ElectionReport } from './core/electionReports';
import type { CommittedEntry } from './messages/entry';
import type { NodeId } from './messages/types';
import type { Storage } from './storage/storage';
import type { Transport } from './transports/transport';

export type { ElectionReport } from './core/electionReports';

/*
 * The public API of a node: what `createRaftNode` takes and what it returns.
 */

/**
 * An election timeout range in the scheduler's time unit (ms in production).
 *
 * @example
 * createRaftNode({ ...options, electionTimeout: { min: 500, max: 1000 }, heartbeatInterval: 100 }); // a busy, shared machine
 */
export interface TimeoutRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Options of `createRaftNode`. Times are in the scheduler's unit: milliseconds in production.
 * Checked at once: an unusable value throws `InvalidOptionsError` (see `src/options.ts`).
 *
 * @example
 * const options: RaftNodeOptions = {
 *   id: 'n1',
 *   peers: ['n1', 'n2', 'n3'],
 *   transport: tcpTransport({ id: 'n1', listen: { host: '0.0.0.0', port: 7001 }, peers: { n2: '10.0.0.2:7001', n3: '10.0.0.3:7001' }, clusterId: 'orders', secret }),
 *   storage: await FileStorage.open('/var/lib/orders/n1'),
 *   stateMachine: { apply: (e) => store.apply(e.data) },
 * };
 */
export interface RaftNodeOptions {
  /** This node's id; unique in the cluster. */
  readonly id: NodeId;
  /** The voting members of the initial configuration, this node among them, each once (ignored with `join`). */
  readonly peers: readonly NodeId[];
  readonly transport: Transport;
  readonly storage: Storage;
  /** Where every timer runs (default: `asyncScheduler`). Tests pass a virtual-time scheduler. */
  readonly scheduler?: SchedulerLike;
  /** Where proposals of one turn are gathered into one batch (default: `immediateScheduler`, one event-loop I/O phase). */
  readonly turnScheduler?: SchedulerLike;
  /** The source of randomness for election timeouts (default: `Math.random`); seed it in tests. */
  readonly random?: () => number;
  /** Election timeout range (default 150–300). */
  readonly electionTimeout?: TimeoutRange;
  /** Heartbeat interval (default 50); at most `electionTimeout.min / 2`, leaving room for a round trip. */
  readonly heartbeatInterval?: number;
  /**
   * The clock a leader heartbeats on, instead of its own timer every `heartbeatInterval`:
   * each emission is a heartbeat tick. It must tick about every `heartbeatInterval` (the
   * rules count ticks for CheckQuorum). `createRaftHost` gives all its groups one such
   * clock, so their heartbeats leave together, one frame per host.
   */
  readonly heartbeatTicks?: Observable<unknown>;
  /**
   * Quiescence (default false): a leader whose group is idle — everything committed and
   * held by every member, who all answered its latest heartbeat; no read, transfer or
   * joint configuration under way — sends one last heartbeat flagged `quiesce` and stops
   * heartbeating; its caught-up followers stop their election timers. A proposal, a read, a
   * membership change, a transfer, any message of the group, or an emission of `wakeups`
   * wakes it. A lease read on a quiet leader wakes it and waits for a fresh round.
   * Off for `createRaftNode`: with the timers stopped only `wakeups` tells a quiet follower
   * that its leader's process died, and a lone node has no one to supply them.
   * `createRaftHost` turns it on for its groups, waking them from host liveness pings.
   */
  readonly quiesce?: boolean;
  /**
   * With `quiesce`: heartbeat ticks since the last proposal, read, membership change or
   * transfer before an idle leader goes quiet (default 2: a whole heartbeat interval
   * without any). A busy group pauses between its rounds; quiet at every pause, it would
   * send a `quiesce` heartbeat and a wake-up round, both answered, per write. 0: quiet at
   * the first idle moment (the simulator uses it to put quiet leaders in the faults' way).
   */
  readonly quiesceAfterTicks?: number;
  /** Each emission wakes the node if it is quiet (a suspected failure; see `quiesce`). `createRaftHost` supplies it. */
  readonly wakeups?: Observable<unknown>;
  /** Largest accepted command, in bytes (default 1 MiB). */
  readonly maxCommandBytes?: number;
  /**
   * A leader refuses proposals (`LeaderOverloadedError`, nothing appended) that would
   * take the commands in its log not yet committed, or not yet durable on its own disk,
   * past this many bytes (default 64 MiB): a client proposing faster than followers
   * persist, or than a leader's own disk that hangs, cannot grow the leader's memory
   * without end. Of the proposals of one turn it takes the first ones that fit, in order,
   * and refuses the rest; with nothing uncommitted it takes at least the first.
   */
  readonly maxUncommittedBytes?: number;
  /**
   * Committed entries handed to the application (`committed$`, `stateMachine.apply`)
   * and not yet applied hold at most this many payload bytes (default 16 MiB; one entry
   * always fits) and number at most `maxApplyingEntries` (default 8192): an application
   * that applies slowly holds back delivery from the log instead of growing a buffer.
   */
  readonly maxApplyingBytes?: number;
  /** See `maxApplyingBytes`. */
  readonly maxApplyingEntries?: number;
  /** Most entries in one AppendEntries (default 512). */
  readonly maxEntriesPerMessage?: number;
  /** Most payload bytes in one AppendEntries, beyond its first entry (default 1 MiB). */
  readonly maxBytesPerMessage?: number;
  /** Most unacknowledged AppendEntries per follower (default 16). */
  readonly maxInflight?: number;
  /**
   * Most payload bytes in unacknowledged AppendEntries per follower (default 8 MiB, or
   * `maxBytesPerMessage` when that is larger; at least `maxBytesPerMessage`). With
   * `maxInflight` it bounds what a leader queues for a slow follower, so bulk entries
   * cannot fill the links that carry heartbeats. One entry larger than this still goes,
   * alone. Heartbeats are never held back by it.
   */
  readonly maxInflightBytes?: number;
  /** Ask PreVote before raising the term, so a returning node cannot depose a healthy leader (default true). */
  readonly preVote?: boolean;
  /**
   * A leader that has not heard from a majority for `electionTimeout.min`, and for as many
   * heartbeat ticks, steps down (default true). Counting ticks too means a stall of the
   * leader's own event loop (a long turn, a starved machine) does not depose it.
   */
  readonly checkQuorum?: boolean;
  /** Forward `propose()` and `read()` from followers to the leader (default true); false rejects with `NotLeaderError`. */
  readonly forward?: boolean;
  /**
   * A leader tells every idle follower a new commit index at once, in an empty
   * AppendEntries (default true). With false, only a follower that waits for it is told
   * at once — it forwarded the command, had a read answered, or is removed by the entry —
   * and the others hear it with the next AppendEntries or heartbeat, up to
   * `heartbeatInterval` later. That saves an AppendEntries and its answer per follower per
   * write when writes come one at a time a little apart (one HTTP client), at the cost of
   * followers applying later: their stale reads are staler, and a node that becomes
   * leader applies what it had not heard committed only once its own first entry commits.
   *
   * @example
   * createRaftNode({ id: 'n1', peers, transport, storage, eagerCommitNotices: false }); // the KV example's choice
   */
  readonly eagerCommitNotices?: boolean;
  /** Time by which lease reads end before `electionTimeout.min`, for clock drift (default `electionTimeout.min / 5`; at least 0, less than `electionTimeout.min`). */
  readonly leaseDriftMargin?: number;
  /**
   * How long a forwarded proposal or a read may wait for the leader, and then for this
   * node's apply, each (default `2 × electionTimeout.max`). × 5: how long a leader's own
   * proposal may wait to be applied (checked every quarter of that) and a membership
   * change to complete.
   */
  readonly requestTimeout?: number;
  /**
   * How long `stop()` waits for the transport and storage to close (default 5,000 ms),
   * counted from when the node stopped (after a `transferLeadership` hand-over). Past it
   * `stop()` rejects with `StopTimeoutError` and the closes go on in the background.
   *
   * @example
   * createRaftNode({ id: 'n1', peers, transport, storage, stopTimeout: 10_000 }); // a slow network disk
   */
  readonly stopTimeout?: number;
  /** How long client sessions are remembered (see `ProposeOptions.session`). */
  readonly sessions?: Partial<SessionPolicy>;
  /**
   * Start as a node that is not yet a member: it never campaigns and waits for a leader
   * to add it (`addLearner` on the leader). `peers` is then ignored.
   */
  readonly join?: boolean;
  /** Transport addresses of the initial members, carried into configuration entries. */
  readonly addresses?: Readonly<Record<NodeId, string>>;
  /**
   * A learner is promoted only once it is at most this many entries behind (default 64),
   * or once it keeps up with the log: its last catch-up round (replicating everything the
   * leader's log held when the round began) took less than the minimum election timeout,
   * and the current one has not yet run that long (Raft dissertation §4.2.1). Under steady
   * load a healthy learner always trails by what is in flight to it, so the rounds are
   * what lets `promote` succeed while a busy cluster keeps writing.
   */
  readonly maxPromotionLag?: number;
  /**
   * The application's state machine. `apply` applies each committed command, in log
   * order, one at a time (it may return a promise or an observable): `propose()` and
   * `read()` resolve only after it has finished with their index. With `snapshot` and
   * `restore` the log is compacted by `snapshot` policy, lagging followers catch up
   * through InstallSnapshot, and a restart restores from the latest snapshot, then
   * replays the rest of the log.
   */
  readonly stateMachine?: StateMachine;
  /** When to snapshot, how much log to keep behind it, chunk size (see `SnapshotPolicy`). */
  readonly snapshot?: Partial<SnapshotPolicy>;
  /** How much of the log is held in memory (see `LogPolicy`). */
  readonly log?: Partial<LogPolicy>;
}

/**
 * Options of `RaftNode.propose()`.
 *
 * @example
 * await node.propose(cmd, { session: { clientId: 'client-7', seq: 42 } }); // a retry with the same seq applies once
 */
export interface ProposeOptions {
  /**
   * Exactly-once: the command is applied at most once per (clientId, seq), even when the
   * client retries through another node or a new leader; a retry resolves with the
   * original entry's position and is not emitted on `committed$` again. Use one
   * increasing `seq` per command of a client.
   */
  readonly session?: SessionInfo;
}

/**
 * A leader's view of one follower (`RaftNode.followers()`).
 *
 * @example
 * leader.followers();
 * // [{ id: 'n1', matchIndex: 2, lag: 0, sinceContact: 1.9, state: 'replicating', storageReads: 0, storageReadBytes: 0,
 * //    snapshot: null, snapshotTransfers: 0, snapshotChunksResent: 0, snapshotTransfersAbandoned: 0 }, ...]
 */
export interface FollowerProgress {
  readonly id: NodeId;
  /** The highest index known durable in the follower's log. */
  readonly matchIndex: number;
  /** Entries of the leader's log the follower is not known to hold. */
  readonly lag: number;
  /**
   * Time since the follower last answered, in ms (scheduler time); 0 while the group is
   * quiet (quiescence: the host's liveness pings vouch for the follower's host, and would
   * have woken the group had it gone silent).
   */
  readonly sinceContact: number;
  /** Finding where its log matches, streaming entries to it, or sending it a snapshot (see `snapshot`). */
  readonly state: 'probing' | 'replicating' | 'snapshot';
  /**
   * The snapshot transfer to it while `state` is 'snapshot', null otherwise: the index of
   * the snapshot sent, the chunk awaited (sent, not yet acknowledged: the chunks before
   * it are stored on the follower), and whether the transfer is parked — the follower
   * answered nothing for a while (it may be down), so nothing is read or sent until it
   * answers, which starts the transfer over from chunk 0 — or parked because it was
   * given up (`abandoned`, see `snapshotTransfersAbandoned`).
   *
   * @example
   * node.followers()?.find((f) => f.id === 'n3')?.snapshot; // { index: 48_210, chunk: 17, parked: false, abandoned: false }
   */
  readonly snapshot: FollowerSnapshotTransfer | null;
  /**
   * Snapshot transfers started for this follower since this node leads, each start over
   * included (a restarted follower, a replaced snapshot, a parked transfer resumed): more
   * than one per snapshot it needed means transfers broke off.
   */
  readonly snapshotTransfers: number;
  /**
   * Snapshot chunks sent to it again since this node leads, because the chunk or its
   * acknowledgement may have been lost (a silence, a loss the transport reported, or no
   * acknowledgement for ten heartbeat intervals while it answered heartbeats). Sent again
   * from memory, nothing is read: a count that grows means a lossy link.
   */
  readonly snapshotChunksResent: number;
  /**
   * Snapshot transfers to it given up since this node leads: it answered heartbeats, but
   * the chunk awaited went unacknowledged through five resends in a row (at least 60
   * heartbeat intervals; fewer when the transport reported each one lost) — it cannot
   * take that chunk now (a transport that refuses it, say). The transfer is parked, its
   * reader released, and it starts over at the follower's answer only after ten heartbeat
   * intervals, twice that after another give-up, up to 320. A follower merely slow
   * acknowledges chunks, or says it is installing the snapshot, and is never given up.
   * Any count above 0 needs a look.
   */
  readonly snapshotTransfersAbandoned: number;
  /**
   * How often entries for this follower were read back from storage since this node
   * leads, because they were no longer held in memory (`log.cacheBytes`): a follower
   * that keeps up is served from memory, so a count that grows under load means the
   * follower is far behind or the cache is too small.
   */
  readonly storageReads: number;
  /** Payload bytes of the entries those reads brought back for this follower, since this node leads. */
  readonly storageReadBytes: number;
}

/**
 * A snapshot transfer to one follower, as `FollowerProgress.snapshot` shows it.
 *
 * @example
 * const stuck = (node.followers() ?? []).filter((f) => f.snapshot?.parked); // followers whose transfer waits for them
 */
export interface FollowerSnapshotTransfer {
  /** The index of the snapshot sent (the leader's current one when the transfer started). */
  readonly index: number;
  /** The chunk awaited: sent, not yet acknowledged; the chunks before it are stored on the follower. */
  readonly chunk: number;
  /** Nothing is read or sent until the follower answers, which starts the transfer over from chunk 0. */
  readonly parked: boolean;
  /** Parked because the transfer was given up (see `FollowerProgress.snapshotTransfersAbandoned`): it starts over at an answer once its wait is over. */
  readonly abandoned: boolean;
}

/**
 * Options of `RaftNode.stop()`.
 *
 * @example
 * await node.stop({ transferLeadership: true }); // on a leader: hand over, then stop
 */
export interface StopOptions {
  /**
   * A leader first hands leadership to the most up-to-date voter (`transferLeadership`),
   * so that the cluster has a leader again within a round trip or two instead of after
   * an election timeout: for planned restarts. If the transfer fails, it stops anyway; a
   * leader cut off from its followers stops once CheckQuorum deposes it. The hand-over
   * takes at most `requestTimeout` × 5 (a transfer ends within `electionTimeout.max`
   * unless the leader is deposed meanwhile), then the stop takes at most `stopTimeout`.
   */
  readonly transferLeadership?: boolean;
}

/**
 * Options of `RaftNode.read()`.
 *
 * @example
 * await node.read({ lease: true }); // { index: 2 }: on the leader within its lease, no heartbeat round
 */
export interface ReadOptions {
  /**
   * Serve from the leader's lease instead of confirming leadership with a heartbeat round:
   * faster, and safe as long as clocks drift less than `leaseDriftMargin` within an
   * election timeout. Needs `checkQuorum` (which makes voters disregard other candidates
   * while they hear from this leader); falls back to ReadIndex otherwise, and for the rest
   * of a term in which this leader has sent TimeoutNow.
   */
  readonly lease?: boolean;
}

/**
 * A member of a Raft cluster, seen as streams. Subscribe to what you need; call
 * `propose` to replicate a command and `stop` to leave.
 *
 * State streams (`leader$`, `role$`, `term$`, `members$`, `status$`) replay their
 * current value to a late subscriber and emit only on change. `committed$` is hot:
 * subscribe right after `createRaftNode`, before awaiting anything, to see every entry.
 *
 * @example
 * const node = createRaftNode({ id: 'n1', peers: ['n1', 'n2', 'n3'], transport, storage });
 * node.committed$.subscribe((e) => kv.apply(e.data));
 * node.leader$.subscribe((l) => console.log(l?.self ? 'leading' : `led by ${l?.id ?? 'nobody'}`));
 * await node.propose(new TextEncoder().encode('x=1')); // { index: 2, term: 1 }
 */
export interface RaftNode {
  readonly id: NodeId;
  /** Who leads, or null while no leader is known. */
  readonly leader$: Observable<LeaderInfo | null>;
  readonly role$: Observable<RoleName>;
  readonly term$: Observable<number>;
  readonly members$: Observable<Membership>;
  readonly status$: Observable<NodeStatus>;
  /**
   * Committed user commands, each index once, in log order. With `stateMachine.apply`,
   * each entry is emitted after `apply` has finished with it (a notification: the
   * application is already up to date). Without it, emitting an entry here counts as
   * applying it: `propose()` and `read()` may resolve as soon as their entry was
   * emitted, before an asynchronous subscriber is done with it — so an application that
   * applies asynchronously passes `stateMachine.apply` rather than subscribing here.
   */
  readonly committed$: Observable<CommittedEntry>;
  /** Problems that did not stop the node (bad input, unknown peers) and the one that did. */
  readonly errors$: Observable<Error>;
  /**
   * Why this node campaigned, granted a vote or stopped leading, with the numbers that
   * decided it (hot; see `ElectionReport`): how long since it heard from its leader, how
   * late its timer ran, which followers a leader counted silent. For logs: a leader that
   * changes under load says here whether its followers stopped hearing it or it stopped
   * hearing them.
   *
   * @example
   * node.elections$.subscribe((r) => r.kind === 'stepDown' ? log.warn(r, 'stepped down') : log.info(r, r.kind));
   */
  readonly elections$: Observable<ElectionReport>;
  /**
   * Resolves once the node has loaded its storage and started. Rejects if it cannot
   * start (a storage failure, reported on `errors$` too) or stops first: a `stop()` while
   * it loads rejects it with `NodeStoppedError` at once, even if `storage.load()` never returns.
   *
   * @example
   * await node.ready; // storage loaded: the node campaigns, follows or leads from here
   */
  readonly ready: Promise<void>;
  /**
   * On the leader, how far each follower's log is replicated, as of now; `null` on any
   * other node. Read it when asked (a status page, a metrics scrape): it is not a stream
   * because it changes with every acknowledgement.
   *
   * @example
   * for (const f of node.followers() ?? []) if (f.lag > 10_000) console.warn(`${f.id} is ${f.lag} entries behind`);
   */
  followers(): readonly FollowerProgress[] | null;
  /**
   * Replicates `data`; resolves with its log position once it is committed and applied
   * here. A follower forwards it to the leader (unless `forward: false`). Rejects with
   * `NotLeaderError` (with the leader hint) when no leader can take it, and with
   * `ProposalDroppedError` or `RequestTimeoutError` when the outcome is unknown (the
   * command may still commit): a leader that steps down drops what it appended, a
   * leader's own proposal not applied within `requestTimeout` × 5 of its append times
   * out, and a forwarded one not answered within `requestTimeout`, or not applied here
   * within another `requestTimeout` after the answer.
   */
  propose(data: Uint8Array, options?: ProposeOptions): Promise<{ index: number; term: number }>;
  /**
   * A linearizable read barrier (ReadIndex): resolves once this node has applied every
   * entry committed before the call, so reading the local state machine afterwards
   * returns up-to-date data. Works on followers too (the leader supplies the index).
   *
   * @example
   * await node.read();
   * return kv.get(key); // linearizable
   */
  read(options?: ReadOptions): Promise<{ index: number }>;
  /**
   * Adds a non-voting member that receives the log (on the leader). Resolves with the new
   * configuration once it commits. `address` is how transports reach it. This and the
   * other membership changes reject with `NotLeaderError` on a node that does not lead,
   * and with `MembershipChangeError` when refused or not committed here within
   * `requestTimeout` × 5 (a leader cut off or deposed meanwhile: the change may still commit).
   *
   * @example
   * await leader.addLearner('n4', '127.0.0.1:7004');
   * await leader.promote('n4'); // once it has caught up
   */
  addLearner(id: NodeId, address?: string): Promise<Membership>;
  /** Makes a learner a voter once it has caught up (waits for that, up to `requestTimeout` × 5). */
  promote(id: NodeId): Promise<Membership>;
  /** Removes a voter or learner. Removing the leader makes it step down once the change commits. */
  removeMember(id: NodeId): Promise<Membership>;
  /**
   * Replaces the configuration; several voters at once go through joint consensus.
   * Resolves once the final configuration commits.
   */
  changeMembership(target: { voters: readonly NodeId[]; learners?: readonly NodeId[]; addresses?: Readonly<Record<NodeId, string>> }): Promise<Membership>;
  /**
   * Hands leadership to `to` (or the most up-to-date voter): the leader brings it up to
   * date and tells it to campaign at once. Proposals made here meanwhile wait and then go
   * to the new leader. Rejects with `LeadershipTransferError` when the target has not
   * taken over within an election timeout, at once when this leader steps down in its own
   * term (CheckQuorum, or its removal), and when it stepped down for a newer term but no
   * leader follows within an election timeout.
   *
   * @example
   * const { leaderId } = await leader.transferLeadership('n2'); // 'n2'
   */
  transferLeadership(to?: NodeId): Promise<{ leaderId: NodeId }>;
  /**
   * Stops timers, rejects every pending call with `NodeStoppedError` and completes the
   * streams at once, then closes the transport and storage and resolves once both have
   * closed (a close that fails counts as closed). A close that takes longer than
   * `stopTimeout` (a hung fsync, a stuck network disk) makes it reject with
   * `StopTimeoutError` naming what is still closing, rather than hold a shutdown forever
   * or resolve as if every file and socket were released: nothing acknowledged is lost,
   * but the process should exit rather than reopen that storage. With
   * `transferLeadership`, the hand-over comes first (at most `requestTimeout` × 5).
   *
   * @example
   * process.once('SIGTERM', () => node.stop({ transferLeadership: true }).then(() => process.exit(0), () => process.exit(1))); // a planned restart
   */
  stop(options?: StopOptions): Promise<void>;
}

/**
 * Client sessions for exactly-once commands (Raft dissertation §6.3). A command proposed
 * with `{ clientId, seq }` is applied at most once per (clientId, seq): a retry — through
 * the same leader or a new one — resolves with the original entry's position and is not
 * emitted on `committed$` again.
 *
 * The table is updated in log order on every node as entries are applied, so every node
 * decides duplicates identically, and a restart rebuilds it by replaying the log. Expiry
 * is decided by the log too (never by clocks): a client silent for `idleEntries` applied
 * entries, or the least recently active beyond `maxClients`, is forgotten — after that,
 * a retry of one of its old commands would apply again.
 *
 * @example
 * createRaftNode({ ...options, sessions: { maxClients: 100_000 } }); // the other fields keep their defaults
 */
export interface SessionPolicy {
  /** Most clients remembered (default 10,000). */
  readonly maxClients: number;
  /** A client with no command in this many applied entries is forgotten (default 1,000,000). */
  readonly idleEntries: number;
  /** Results remembered per client, for pipelined commands (default 64). */
  readonly window: number;
}

/**
 * Identifies a command within a client session.
 *
 * @example
 * await node.propose(cmd, { session: { clientId: 'c1', seq: 1 } }); // { index: 3, term: 1 }
 * await node.propose(cmd, { session: { clientId: 'c1', seq: 1 } }); // { index: 3, term: 1 } again: not applied twice
 */
export interface SessionInfo {
  readonly clientId: string;
  readonly seq: number;
}

/**
 * The application's state machine (the `stateMachine` option).
 *
 * `apply` applies one committed command. Entries are handed to it one at a time, in log
 * order; when it returns a promise (or an observable: its first value or completion),
 * the next waits until it settles. `propose()` and `read()` resolve, and `committed$`
 * emits, only after `apply` has finished with their index (DESIGN.md invariant 8). A
 * throw or a rejection stops the node with `ApplyFailedError`: the state can no longer
 * be trusted. Without `apply`, emitting on `committed$` counts as applying.
 *
 * `snapshot` must return the state as of entry `at.index`: rxraft calls it when every
 * entry up to `at.index` has been applied (with `apply`: when `apply` has finished with
 * it, and before the next entry is handed over; without `apply`: right after emitting
 * that entry on `committed$`, so a subscriber that applies asynchronously must wait
 * until it has applied `at.index`). `restore` runs only while no `apply` is running. Both
 * directions stream: the state never has to be in memory whole. `snapshot` and `restore`
 * go together; either or both of the pair and `apply` may be given.
 *
 * rxraft reads what `snapshot` returns to the end, or closes its iterator (`return()`)
 * when it gives the snapshot up — unread when a newer snapshot arrived meanwhile or the
 * node stopped. Resources held from the call on are released there: a generator that
 * never started runs no `finally` on `return()` (the KV example wraps its generator).
 *
 * rxraft is done with each chunk `snapshot` yields by the time it asks for the next one
 * (or ends the iteration): it has written or copied it. So `snapshot` may hand out one
 * buffer again and again, refilled between two chunks, instead of allocating a fresh one
 * per chunk.
 *
 * @example
 * const stateMachine: StateMachine = {
 *   async apply(e) { await kv.write(decode(e.data)); },
 *   *snapshot() { for (const [k, v] of kv) yield encodePair(k, v); },
 *   async restore(chunks) { kv.clear(); for await (const c of chunks) decodePairsInto(kv, c); },
 * };
 */
export interface StateMachine {
  apply?(entry: CommittedEntry): void | PromiseLike<unknown> | Observable<unknown>;
  snapshot?(at: { index: number; term: number }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Replaces the state with the snapshot's (after a restart, or when the leader sent one). */
  restore?(chunks: AsyncIterable<Uint8Array>, at: { index: number; term: number }): Promise<void> | void;
}

/**
 * When to take a snapshot and how to cut it.
 *
 * @example
 * createRaftNode({ ...options, stateMachine, snapshot: { everyEntries: 50_000, keepEntries: 5_000 } }); // the rest default
 */
export interface SnapshotPolicy {
  /** Take one after this many applied entries (default 10,000) ... */
  readonly everyEntries: number;
  /** ... or after this many applied command bytes (default 64 MiB) ... */
  readonly everyBytes: number;
  /**
   * ... but not before the commands applied since the last snapshot weigh this percent of
   * its size (default 100: a snapshot never writes more than the log it replaces, so a
   * large state is not written out again every few thousand small writes; 0: the counts
   * alone decide).
   */
  readonly minLogPercent: number;
  /** Entries kept in the log behind a snapshot, for followers slightly behind (default 1,000). */
  readonly keepEntries: number;
  /**
   * A leader keeps more for a live follower still catching up (one being sent a snapshot,
   * or replaying entries after it), so that it can finish from the log: up to this many
   * entries behind the snapshot (default 100,000).
   */
  readonly catchUpEntries: number;
  /**
   * At most this many payload bytes are kept in memory behind a snapshot, whatever
   * `keepEntries` and `catchUpEntries` allow (default 32 MiB); entries already evicted
   * from memory (`LogPolicy`) are kept in storage by the counts alone. A follower needing
   * more is sent a snapshot.
   */
  readonly keepBytes: number;
  /** Size of stored chunks and of InstallSnapshot messages (default 1 MiB). */
  readonly chunkBytes: number;
}

/**
 * How much of the log a node holds in memory. Storage holds the whole log (after the
 * latest snapshot's compaction point); memory holds its terms (a few numbers per change
 * of leader) and the entries this node still needs at hand:
 *
 * - every entry not yet durable here or not yet applied by the application: these are
 *   never evicted, so applying never reads storage (their amount is bounded by flow
 *   control: `maxUncommittedBytes` on the leader, `maxApplyingBytes` and the leader's
 *   windows on a follower);
 * - a cache of the most recent entries besides, for followers slightly behind;
 * - on a leader, the committed entries a replicating follower has not acknowledged yet,
 *   beyond `cacheBytes` but never past `cacheBytes + maxInflightBytes` of them (the
 *   uncommitted entries, held anyway, do not count): a follower a window or so behind
 *   the majority (common with large entries) is sent its entries from memory, not read
 *   back from storage.
 *
 * A follower further behind is sent entries read back from storage
 * (`Storage.readEntries`), one read at a time per follower, each up to `maxInflightBytes`
 * and read ahead of its window (its acknowledgements are answered from what was read
 * while the next read runs); it holds none of the cap's committed entries until it is
 * back in memory. A snapshot goes only when the entries it needs are compacted away.
 *
 * @example
 * createRaftNode({ ...options, log: { cacheBytes: 16 << 20 } });
 */
export interface LogPolicy {
  /**
   * The most the cache of durable, applied entries holds, counting each entry's payload
   * plus 64 bytes (default 4 MiB; 0 evicts every entry as soon as it is durable and
   * applied). Eviction runs when the cache passes this by a quarter, back down to it.
   * While no follower can need the cache, at most 512 KiB of it is kept whatever this
   * allows: on a node that does not lead, and on a leader while every follower
   * replicates (each keeps what it has not acknowledged; the cache is for a follower that
   * stopped replicating). Kept longer, the blocks made V8 run mark-compacts under load.
   */
  readonly cacheBytes: number;
}

/**
 * A snapshot of a node's state, as `status$` emits it.
 *
 * @example
 * await firstValueFrom(node.status$);
 * // { id: 'n1', role: 'follower', term: 1, leaderId: 'n3', commitIndex: 2, appliedIndex: 2, lastIndex: 2, stopped: false }
 */
export interface NodeStatus {
  readonly id: NodeId;
  readonly role: RoleName;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** True once the node has stopped (by `stop()` or a storage failure). */
  readonly stopped: boolean;
}

/**
 * Who leads, as `leader$` emits it: `self` tells a node it is the leader.
 *
 * @example
 * node.leader$.subscribe((l) => console.log(l)); // null, then { id: 'n3', term: 1, self: false }
 */
export interface LeaderInfo {
  readonly id: NodeId;
  readonly term: number;
  readonly self: boolean;
}

/**
 * The cluster configuration, as `members$` emits it.
 *
 * @example
 * node.members$.subscribe((m) => console.log(m));
 * // { voters: ['n1', 'n2', 'n3'], learners: [], index: 0, term: 0, committed: true, addresses: { n1: '10.0.0.1:7001', ... } }
 */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Log index of the configuration entry (0: the initial configuration from options). */
  readonly index: number;
  readonly term: number;
  /** False while the entry is only appended; the configuration is in effect either way. */
  readonly committed: boolean;
  /** Set during a joint-consensus change: decisions need a majority of these too. */
  readonly joint?: { readonly oldVoters: readonly NodeId[] };
  /** Transport addresses of members added while running. */
  readonly addresses: Readonly<Record<NodeId, string>>;
}
