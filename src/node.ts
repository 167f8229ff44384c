import { EMPTY, Observable, Subscription } from 'rxjs';
import type { ElectionReport, FollowerProgress, LeaderInfo, Membership, NodeStatus, ProposeOptions, RaftNode, RaftNodeOptions, ReadOptions, StopOptions } from './api';
import type { RaftEvent } from './core/events';
import type { RaftState, RoleName } from './core/state';
import type { Effect } from './core/effects';
import { ApplyFailedError, NodeStoppedError, NotLeaderError, ProposalDroppedError, RaftError, StorageFailedError } from './errors';
import { CommittedEntry, EMPTY_DATA, EntryKind } from './messages/entry';
import type { NodeId } from './messages/types';
import { Broadcast } from './operators/broadcast';
import { mergeTurns } from './operators/serializeTurns';
import { bootstrapConfig, ResolvedOptions, resolveOptions } from './options';
import { RoleSwitch } from './states/roleSwitch';
import { Applier } from './streams/applier';
import { AppliedAcks, leavesNothingToApply } from './streams/appliedAcks';
import { ApplyBarrier } from './streams/applyBarrier';
import { loadState } from './streams/boot';
import { ClientIntake, ClientRequest } from './streams/clientIntake';
import { closeWithin } from './streams/closeWithin';
import { commandKind, toCommand } from './streams/commands';
import { CommitNotices } from './streams/commitNotices';
import { DurableCompletions, DurableStep, durableWrites } from './streams/durableWrites';
import { EffectDriver } from './streams/effectDriver';
import { Inlet } from './operators/inlet';
import { followerProgress } from './streams/followerProgress';
import { MembershipRequests } from './streams/membershipRequests';
import { nodeTestHooks, StartSettings } from './streams/nodeTestHooks';
import { OpenRequests } from './streams/openRequests';
import { ProposalTracker } from './streams/proposals';
import { PROPOSAL_TIMEOUT_REQUESTS, ProposalDeadlines } from './streams/proposalDeadlines';
import { needsMarkerRepair, repairEvents, termRecoveryHandler } from './streams/repair';
import { SessionTable } from './streams/sessions';
import { SnapshotDriver } from './streams/snapshots';
import { stepAt, stepEach } from './streams/stepEach';
import { StatePublisher } from './streams/statePublisher';
import { transportEvents } from './streams/transportEvents';
import { HasTestHooks, NodeTestHooks, TEST_HOOKS } from './testHooks';
export type { FollowerProgress, FollowerSnapshotTransfer, ProposeOptions, RaftNode, RaftNodeOptions, ReadOptions, StopOptions } from './api';

/**
 * Creates and starts a Raft node. Throws `InvalidOptionsError` at once when an option is
 * unusable (see `resolveOptions`).
 *
 * @example
 * const node = createRaftNode({ id: 'n1', peers: ['n1', 'n2', 'n3'], transport, storage });
 * node.leader$.subscribe(l => console.log('leader', l?.id));
 * node.committed$.subscribe(e => apply(e.data));
 * await node.propose(new TextEncoder().encode('set x 1'));
 */
export function createRaftNode(options: RaftNodeOptions): RaftNode {
  return new Node(options);
}

/**
 * The facade: public streams and calls; behind them the runtime composed in `start()` —
 * inbound RPCs, role timers, client calls and storage completions merged into one
 * serialized stream of events, each turned by `step` into effects the `EffectDriver` carries out.
 */
class Node implements RaftNode, HasTestHooks {
  readonly id: NodeId;
  readonly leader$: Observable<LeaderInfo | null>;
  readonly role$: Observable<RoleName>;
  readonly term$: Observable<number>;
  readonly members$: Observable<Membership>;
  readonly status$: Observable<NodeStatus>;
  readonly ready: Promise<void>;
  /** Every option, defaulted and checked once; the only place the node reads them. */
  private readonly options: ResolvedOptions;
  private readonly published: StatePublisher;
  private readonly errors = new Broadcast<Error>();
  private readonly committed = new Broadcast<CommittedEntry>();
  private readonly elections = new Broadcast<ElectionReport>();
  readonly elections$: Observable<ElectionReport> = this.elections.asObservable();
  readonly committed$: Observable<CommittedEntry> = this.committed.asObservable();
  readonly errors$: Observable<Error> = this.errors.asObservable();
  /** Events raised outside the turn (completions, requests, test hooks), fed to the loop. */
  private readonly feedback = new Inlet<RaftEvent>();
  private readonly dispatch = (e: RaftEvent) => this.feedback.next(e); // these four: callbacks the parts share, made once per node, not per part (a host runs a node per group)
  private readonly fail = (e: Error) => this.failStop(e);
  private readonly report = (e: Error) => this.errors.next(e);
  private readonly nextId = () => ++this.nextRequestId;
  private readonly tracker = new ProposalTracker();
  private readonly requests: OpenRequests<ClientRequest>;
  private readonly intake: ClientIntake;
  private readonly barrier: ApplyBarrier;
  private readonly membership: MembershipRequests;
  private readonly snapshots: SnapshotDriver;
  private readonly notices: CommitNotices;
  /** Hands committed entries to the application, in order, and reports them applied. */
  private readonly applier: Applier;
  private readonly acks = new AppliedAcks({ stepApplied: (i) => stepAt(this.state!, { kind: 'applied', index: i }, this.options.scheduler.now()), feedback: (i) => this.feedback.next({ kind: 'applied', index: i }), fail: this.fail, mayHold: (i) => this.completions.inFlight && this.barrier.size === 0 && leavesNothingToApply(this.state!, i) });
  private readonly durableSteps = new Inlet<DurableStep>();
  private readonly roles: RoleSwitch;
  /** What tests set before the node has started (see `testHooks.ts`). */
  private readonly atStart: StartSettings = { plantedBug: null };
  private readonly driver: EffectDriver;
  private readonly subscriptions = new Subscription();
  /** Writes in flight (`AppliedAcks.mayHold`), and a follower's completions held for its next turn (at most a heartbeat interval). */
  private readonly completions = new DurableCompletions({ later: (work) => this.options.scheduler.schedule(work, this.options.heartbeatInterval), owner: this.subscriptions, state: () => (this.stopped ? null : this.state), release: this.dispatch });
  private state: RaftState | null = null;
  private readonly carryOut = (effects: readonly Effect[]) => this.driver.carryOut(effects, this.state!); // made once, not per turn
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** A `stop({ transferLeadership })` under way: the hand-over, then `stopping`. */
  private handOver: Promise<void> | null = null;
  /** Starts at a random point: a restarted node must not reuse its last run's ids (the leader deduplicates by id). */
  private nextRequestId: number;

  constructor(given: RaftNodeOptions) {
    const o = (this.options = resolveOptions(given));
    this.id = o.id;
    this.published = new StatePublisher(this.id, bootstrapConfig(o), (config) => o.transport.updatePeers?.(config.addresses));
    ({ leader$: this.leader$, role$: this.role$, term$: this.term$, members$: this.members$, status$: this.status$ } = this.published);
    this.nextRequestId = Math.floor(o.random() * 2 ** 40);
    this.requests = new OpenRequests(o.scheduler, o.requestTimeout);
    this.intake = new ClientIntake(o.turnScheduler, this.requests, this.nextId);
    this.barrier = new ApplyBarrier(o.scheduler, o.requestTimeout);
    this.notices = new CommitNotices(o.turnScheduler, (to, message) => this.roles.replicate({ to, message }), (term) => !this.stopped && this.state?.role.name === 'leader' && this.state.term === term);
    const sessions = new SessionTable(o.sessions);
    this.roles = new RoleSwitch({ id: this.id, scheduler: o.scheduler, heartbeatInterval: o.heartbeatInterval, stallGrace: o.electionTimeout.min, heartbeats$: o.heartbeatTicks, wakeups$: o.wakeups, snapshotSource: o.storage, entrySource: o.storage, transport: o.transport });
    this.membership = new MembershipRequests({ id: this.id, scheduler: o.scheduler, dispatch: this.dispatch, nextRequestId: this.nextId, tracker: this.tracker, retryInterval: o.heartbeatInterval, timeout: o.requestTimeout * 5, electionTimeoutMax: o.electionTimeout.max, holdProposals: (hold) => this.intake.holdProposals(hold) });
    this.snapshots = new SnapshotDriver({
      id: this.id, storage: o.storage, stateMachine: o.stateMachine, policy: o.snapshot, sessions, dispatch: this.dispatch, failStop: this.fail, report: this.report,
      isStopped: () => this.stopped, exclusive: (work) => this.applier.exclusive(work), restored: (index) => this.applier.skipUpTo(index),
    });
    this.applier = new Applier({
      nodeId: this.id, apply: o.stateMachine?.apply?.bind(o.stateMachine), sessions, tracker: this.tracker, committed: this.committed,
      noteApplied: (bytes) => this.snapshots.noteApplied(bytes), acknowledge: (index) => this.acks.report(index), failStop: this.fail, slices: o.turnScheduler,
    });
    this.subscriptions.add(this.applier.start());
    this.driver = new EffectDriver({
      deadlines: new ProposalDeadlines({ scheduler: o.scheduler, timeout: o.requestTimeout * PROPOSAL_TIMEOUT_REQUESTS, tracker: this.tracker, appliedUpTo: () => this.applier.appliedUpTo, owner: this.subscriptions }), durableSteps: this.durableSteps, notices: this.notices, tracker: this.tracker, requests: this.requests, barrier: this.barrier,
      membership: this.membership, snapshots: this.snapshots, applier: this.applier, roles: this.roles, reportElection: (r) => this.elections.next(r), termRecovery: termRecoveryHandler(this.id, o.storage, this.report, this.fail),
    });
    this.ready = this.start().catch((e) => {
      this.failStop(e instanceof Error ? e : new RaftError(String(e)));
      throw e;
    });
    this.ready.catch(() => undefined); // reported on errors$; awaiting `ready` still sees it
  }

  propose(data: Uint8Array, options?: ProposeOptions): Promise<{ index: number; term: number }> {
    let command: Uint8Array;
    try {
      command = toCommand(data, options, this.options.maxCommandBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.stopped || !this.state ? this.whenStarted(() => this.intake.propose(commandKind(options), command)) : this.intake.propose(commandKind(options), command);
  }

  read(options: ReadOptions = {}): Promise<{ index: number }> {
    return this.whenStarted(() => this.intake.read(options.lease === true));
  }

  addLearner(id: NodeId, address?: string): Promise<Membership> {
    return this.whenStarted(() => this.membership.change({ type: 'addLearner', id, address }));
  }

  promote(id: NodeId): Promise<Membership> {
    return this.whenStarted(() => this.membership.change({ type: 'promote', id }));
  }

  removeMember(id: NodeId): Promise<Membership> {
    return this.whenStarted(() => this.membership.change({ type: 'remove', id }));
  }

  changeMembership(target: { voters: readonly NodeId[]; learners?: readonly NodeId[]; addresses?: Readonly<Record<NodeId, string>> }): Promise<Membership> {
    const change = { type: 'replace' as const, voters: target.voters, learners: target.learners ?? [], addresses: target.addresses };
    return this.whenStarted(() => this.membership.change(change));
  }

  transferLeadership(to?: NodeId): Promise<{ leaderId: NodeId }> {
    return this.whenStarted(() => this.membership.transferLeadership(to ?? null));
  }

  followers(): readonly FollowerProgress[] | null {
    return this.state && !this.stopped ? followerProgress(this.state, this.options.scheduler.now()) : null;
  }

  stop(options: StopOptions = {}): Promise<void> {
    const shutdown = () => (this.stopping ??= this.shutdown(new NodeStoppedError(this.id)));
    // A leader alone in its cluster has no one to hand over to: the transfer refuses at once.
    // A stop without the option stops now, even during a hand-over (which then fails).
    if (!options.transferLeadership || this.stopping || this.stopped || this.state?.role.name !== 'leader') return shutdown();
    this.handOver ??= this.transferLeadership().then(shutdown, shutdown);
    return this.handOver;
  }

  [TEST_HOOKS](): NodeTestHooks {
    return nodeTestHooks({ state: () => (this.stopped ? null : this.state), dispatch: this.dispatch, now: () => this.options.scheduler.now(), atStart: this.atStart });
  }

  private whenStarted<T>(request: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    if (!this.state) return Promise.reject(new NotLeaderError(null, 0));
    return request();
  }

  /** Loads storage, builds the state, and composes the runtime's streams into one loop. */
  private async start(): Promise<void> {
    const o = this.options;
    const s = await loadState(this.id, o, bootstrapConfig(o), this.snapshots, () => this.stopped, this.atStart);
    if (!s) return;
    this.state = s;
    const events$ = mergeTurns(
      transportEvents(o.transport, this.id, () => s.configs, this.report, (e) => this.roles.take(e)),
      this.roles.events$,
      this.intake.events$,
      this.feedback,
      this.durableSteps.pipe(durableWrites(o.storage, (m) => o.transport.send(m.to, m.message), this.completions)),
      needsMarkerRepair(s) ? repairEvents(() => this.intake.propose(EntryKind.Noop, EMPTY_DATA), o.storage, o.scheduler, o.electionTimeout.max) : EMPTY,
    );
    this.subscriptions.add(events$.pipe(stepEach(s, () => o.scheduler.now(), this.completions)).subscribe({ next: (effects) => this.afterTurn(s, effects), error: this.fail }));
    this.subscriptions.add(o.transport.errors$.subscribe(this.report));
    this.afterTurn(s);
  }

  /** After each turn: carry out its effects (and the application's acknowledgements), wake what waited for the application, switch role pipelines, publish the state. */
  private afterTurn(s: RaftState, effects: readonly Effect[] = []): void {
    if (this.stopped) return;
    if (!this.acks.within(this.carryOut, effects)) return;
    this.barrier.advance(s.appliedIndex); // reads and forwarded proposals waiting for the application (invariant 8)
    this.snapshots.maybeTake(s);
    if (this.roles.follow(s) === 'leader' && s.role.name !== 'leader') {
      this.tracker.rejectAll((index, term) => new ProposalDroppedError(index, term, `${this.id} lost leadership`));
    }
    this.published.publish(s);
    this.membership.afterStep(s);
  }

  private failStop(error: Error): void {
    if (this.stopping) return;
    this.errors.next(error);
    const fatal = error instanceof StorageFailedError || error instanceof ApplyFailedError;
    (this.stopping = this.shutdown(fatal ? error : new NodeStoppedError(this.id))).catch(() => undefined); // a StopTimeoutError: stop() returns it
  }

  private async shutdown(reason: Error): Promise<void> {
    this.stopped = true;
    this.subscriptions.unsubscribe();
    this.notices.clear();
    this.roles.stop();
    this.tracker.rejectAll(() => reason);
    for (const waiting of [this.membership, this.intake, this.requests, this.barrier]) waiting.rejectAll(reason);
    this.published.stop();
    for (const stream of [this.committed, this.elections, this.errors]) stream.complete();
    await closeWithin(this.id, { transport: this.options.transport, storage: this.options.storage }, this.options.stopTimeout, this.options.scheduler);
  }
}
