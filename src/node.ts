import { BehaviorSubject, concatWith, defer, from, merge, Observable, Subject, Subscription, switchMap } from 'rxjs';
import type { ClusterConfig } from './core/config';
import type { RaftEvent } from './core/events';
import type { PlantedBug, RaftState, RoleName } from './core/state';
import { step } from './core/step';
import { HardStateRecoveryStalledError, NodeStoppedError, NotLeaderError, ProposalDroppedError, RaftError, StorageFailedError, UnknownPeerError } from './errors';
import { CommittedEntry, EntryKind } from './messages/entry';
import type { NodeId } from './messages/types';
import { serializeTurns } from './operators/serializeTurns';
import type { FollowerProgress, ProposeOptions, RaftNode, RaftNodeOptions, ReadOptions, StopOptions } from './api';
import { ResolvedOptions, resolveOptions } from './options';
import { ResumedTimer, RoleContext, rolePipelines } from './states';
import { ApplyBarrier } from './streams/applyBarrier';
import { ClientIntake, ClientRequest } from './streams/clientIntake';
import { CommitNotices } from './streams/commitNotices';
import { DurableStep, durableWrites } from './streams/durableWrites';
import { EffectDriver } from './streams/effectDriver';
import { followerProgress } from './streams/followerProgress';
import { inspectState } from './streams/inspect';
import { MembershipRequests } from './streams/membershipRequests';
import { OpenRequests } from './streams/openRequests';
import { PeerFilter } from './streams/peerFilter';
import { ProposalTracker } from './streams/proposals';
import { repairFromCluster } from './streams/repair';
import { SessionTable } from './streams/sessions';
import { toCommand } from './streams/commands';
import { loadState } from './streams/boot';
import { SnapshotDriver } from './streams/snapshots';
import { StatePublisher } from './streams/statePublisher';
import type { LeaderInfo, Membership, NodeStatus } from './streams/status';
import { HasTestHooks, NEVER_TIMEOUT, NodeTestHooks, TEST_HOOKS } from './testHooks';
import type { TimeoutRange } from './operators/electionTimer';
import { Applier } from './streams/applier';

export type { FollowerProgress, ProposeOptions, RaftNode, RaftNodeOptions, ReadOptions, StopOptions } from './api';

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
 * The facade: public streams and calls on one side; on the other, the runtime composed
 * in `start()` — inbound RPCs, role timers, client calls and storage completions merged
 * into one serialized stream of events, each turned by `step` into effects that the
 * `EffectDriver` hands to the part of the runtime that carries them out.
 */
class Node implements RaftNode, HasTestHooks {
  readonly id: NodeId;
  readonly leader$: Observable<LeaderInfo | null>;
  readonly role$: Observable<RoleName>;
  readonly term$: Observable<number>;
  readonly members$: Observable<Membership>;
  readonly status$: Observable<NodeStatus>;
  readonly committed$: Observable<CommittedEntry>;
  readonly errors$: Observable<Error>;
  readonly ready: Promise<void>;

  /** Every option, defaulted and checked once; the only place the node reads them. */
  private readonly options: ResolvedOptions;
  private readonly published: StatePublisher;
  private readonly bootstrap: ClusterConfig;
  private readonly errors = new Subject<Error>();
  /** Events raised outside the turn (completions, requests, test hooks), fed to the loop. */
  private readonly feedback = new Subject<RaftEvent>();
  private readonly tracker = new ProposalTracker();
  private readonly requests: OpenRequests<ClientRequest>;
  private readonly intake: ClientIntake;
  private readonly barrier: ApplyBarrier;
  private readonly sessions: SessionTable;
  private readonly membership: MembershipRequests;
  private readonly snapshots: SnapshotDriver;
  private readonly notices: CommitNotices;
  private readonly applier: Applier;
  private readonly peers: PeerFilter;
  private readonly durableSteps = new Subject<DurableStep>();
  private readonly roleEpoch = new BehaviorSubject<{ role: RoleName; epoch: number; resume?: ResumedTimer } | null>(null);
  private readonly electionResets = new Subject<void>();
  /** When the current (or last) candidate's election timer fires. */
  private candidateTimerAt = 0;
  /** The election timer was reset in this step (heard from a leader, or granted a vote). */
  private electionTimerReset = false;
  /** The range the election timer draws from; tests may replace it (see `testHooks.ts`). */
  private electionRange: TimeoutRange;
  private driver!: EffectDriver;
  private readonly subscriptions = new Subscription();
  private state: RaftState | null = null;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** A `stop({ transferLeadership })` under way: the hand-over, then `stopping`. */
  private handOver: Promise<void> | null = null;
  /** See `NodeTestHooks.plantBug`. */
  private plantedBug: PlantedBug | null = null;
  /** Request ids start at a random point so a restarted node does not reuse its previous run's ids (the leader deduplicates by id). */
  private nextRequestId: number;

  constructor(given: RaftNodeOptions) {
    const o = (this.options = resolveOptions(given));
    this.id = o.id;
    this.bootstrap = { voters: o.peers, learners: [], addresses: o.addresses };
    this.published = new StatePublisher(this.id, this.bootstrap);
    ({ leader$: this.leader$, role$: this.role$, term$: this.term$, members$: this.members$, status$: this.status$ } = this.published);
    this.errors$ = this.errors.asObservable();
    this.electionRange = o.electionTimeout;
    this.nextRequestId = Math.floor(o.random() * 2 ** 40);
    const dispatch = (e: RaftEvent) => this.feedback.next(e);
    this.requests = new OpenRequests(o.scheduler, o.requestTimeout);
    this.intake = new ClientIntake(o.turnScheduler, this.requests, () => ++this.nextRequestId);
    this.barrier = new ApplyBarrier(o.scheduler, o.requestTimeout);
    this.notices = new CommitNotices(o.turnScheduler, (to, m) => o.transport.send(to, m), (term) => this.leadsIn(term));
    this.sessions = new SessionTable(o.sessions);
    this.peers = new PeerFilter(this.id);
    this.membership = new MembershipRequests({
      id: this.id,
      scheduler: o.scheduler,
      dispatch,
      nextRequestId: () => ++this.nextRequestId,
      tracker: this.tracker,
      retryInterval: o.heartbeatInterval,
      timeout: o.requestTimeout * 5,
      holdProposals: (hold) => this.intake.holdProposals(hold),
    });
    this.snapshots = new SnapshotDriver({
      ...{ id: this.id, storage: o.storage, transport: o.transport, stateMachine: o.stateMachine, policy: o.snapshot, sessions: this.sessions },
      ...{ dispatch, failStop: (e) => this.failStop(e), report: (e) => this.errors.next(e), isStopped: () => this.stopped },
    });
    this.applier = new Applier({ sessions: this.sessions, tracker: this.tracker, barrier: this.barrier, snapshots: this.snapshots, isStopped: () => this.stopped });
    this.committed$ = this.applier.committed$;
    this.ready = this.start().catch((e) => {
      this.failStop(e instanceof Error ? e : new RaftError(String(e)));
      throw e;
    });
    this.ready.catch(() => undefined); // reported on errors$; awaiting `ready` still sees it
  }

  propose(data: Uint8Array, options: ProposeOptions = {}): Promise<{ index: number; term: number }> {
    let command: { kind: EntryKind; data: Uint8Array };
    try {
      command = toCommand(data, options, this.options.maxCommandBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.whenStarted(() => this.intake.propose(command.kind, command.data));
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
    return {
      campaign: () => {
        if (!this.state || this.stopped) return false;
        this.feedback.next({ kind: 'electionTimeout', epoch: this.state.epoch });
        return true;
      },
      setElectionTimeout: (range) => {
        if (range !== 'never' && !(range.min > 0 && range.max >= range.min)) throw new RangeError('election timeout needs 0 < min <= max');
        this.electionRange = range === 'never' ? NEVER_TIMEOUT : range;
        const current = this.roleEpoch.value;
        // Resubscribing the role's pipeline restarts its timer with a draw from the new range.
        if (current && current.role !== 'leader' && !this.stopped) this.roleEpoch.next({ role: current.role, epoch: current.epoch });
      },
      inspect: () => (this.state ? inspectState(this.state, this.options.scheduler.now()) : null),
      plantBug: (bug) => {
        this.plantedBug = bug;
        if (this.state) this.state.plantedBug = bug;
      },
    };
  }

  private whenStarted<T>(request: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    if (!this.state) return Promise.reject(new NotLeaderError(null, 0));
    return request();
  }

  private leadsIn(term: number): boolean {
    return !this.stopped && this.state?.role.name === 'leader' && this.state.term === term;
  }

  /** Loads storage, builds the state, and composes the runtime's streams into one loop. */
  private async start(): Promise<void> {
    const o = this.options;
    const s = await loadState(this.id, o, this.bootstrap, this.snapshots, () => this.stopped);
    if (!s) return;
    this.state = s;
    s.plantedBug = this.plantedBug;
    this.driver = new EffectDriver({
      ...{ durableSteps: this.durableSteps, notices: this.notices, tracker: this.tracker, requests: this.requests, barrier: this.barrier },
      ...{ membership: this.membership, snapshots: this.snapshots, settleApplied: (from, to) => this.applier.settleApplied(s, from, to) },
      electionTimerReset: () => {
        this.electionTimerReset = true;
        this.electionResets.next();
      },
      termRecovery: (effect) => {
        if (effect.type === 'termRecoveryStalled') this.errors.next(new HardStateRecoveryStalledError(this.id, effect.missing));
        else if (effect.clearDamage) this.clearDamage();
      },
    });
    const events$ = merge(this.inbound$(), this.roleTimers$(), this.intake.events$, this.feedback, this.durableSteps.pipe(durableWrites(o.storage, this.id, (m) => o.transport.send(m.to, m.message))));
    this.subscriptions.add(events$.pipe(serializeTurns()).subscribe({ next: (e) => this.turn(e), error: (e: Error) => this.failStop(e) }));
    this.subscriptions.add(o.transport.errors$.subscribe((e) => this.errors.next(e)));
    if (this.plantedBug === 'lost-vote' && s.repair?.terms) {
      // The planted bug: forget that the hard state was lost (term 0, no vote) and vote at
      // once, without the restart's veto window either.
      s.repair = s.repair.terms.then;
      s.startedAt = -Infinity;
      if (!s.repair) this.clearDamage();
    }
    // A damaged tail is repaired by a marker entry; with a lost hard state too, that can
    // commit only once the term is recovered (no entries are taken before).
    if (s.repair && (!s.repair.terms || s.repair.terms.then)) this.subscriptions.add(this.repair(o.electionTimeout.max));
    this.afterTurn(s);
  }

  /** Messages from peers this node takes messages from (`PeerFilter`); the others are reported. */
  private inbound$(): Observable<RaftEvent> {
    return new Observable<RaftEvent>((subscriber) =>
      this.options.transport.inbound$.subscribe(({ from, message }) => {
        if (this.peers.accepts(from, message.type, this.state!.configs)) subscriber.next({ kind: 'message', from, message });
        else this.errors.next(new UnknownPeerError(from));
      }),
    );
  }

  /** The timers of the current role, switched with the role (one role alive at a time). */
  private roleTimers$(): Observable<RaftEvent> {
    const node = this;
    const ctx: RoleContext = {
      scheduler: this.options.scheduler,
      random: this.options.random,
      get electionTimeout() {
        return node.electionRange;
      },
      heartbeatInterval: this.options.heartbeatInterval,
      electionResets$: this.electionResets.asObservable(),
      electionTimerArmed: (at) => (this.candidateTimerAt = at),
    };
    return this.roleEpoch.pipe(switchMap((r) => (r ? rolePipelines[r.role](ctx, r.epoch, r.resume) : [])));
  }

  /**
   * A node whose log lost entries it may have acknowledged proposes a marker until the
   * marker is applied here (see `repairFromCluster`), then clears the damage on disk and
   * may vote again.
   */
  private repair(retryDelay: number): Subscription {
    const marker = () => this.intake.propose(EntryKind.Noop, new Uint8Array(0));
    return repairFromCluster(marker, this.options.scheduler, retryDelay)
      .pipe(concatWith(defer(() => from(this.options.storage.clearDamage?.() ?? Promise.resolve()))))
      .subscribe({
        complete: () => this.feedback.next({ kind: 'repaired' }),
        error: (e: unknown) => this.failStop(e instanceof Error ? e : new StorageFailedError(String(e), e)),
      });
  }

  /** Clears the damage record once the node is repaired (ordered after its writes); a failure stops the node. */
  private clearDamage(): void {
    const cleared = this.options.storage.clearDamage?.() ?? Promise.resolve();
    cleared.catch((e: unknown) => this.failStop(e instanceof Error ? e : new StorageFailedError(String(e), e)));
  }

  /** One turn: the rules decide, the driver carries out the effects, then apply and publish. */
  private turn(event: RaftEvent): void {
    const s = this.state;
    if (!s || this.stopped) return;
    let effects;
    try {
      s.now = this.options.scheduler.now();
      this.electionTimerReset = false;
      effects = step(s, event).list;
    } catch (e) {
      // A broken invariant: stop rather than risk acting on a corrupt state.
      this.failStop(e instanceof Error ? e : new RaftError(String(e)));
      return;
    }
    this.driver.carryOut(effects, s);
    this.afterTurn(s);
  }

  /** After each turn: apply what committed, switch role pipelines, publish the state. */
  private afterTurn(s: RaftState): void {
    if (this.stopped) return;
    this.applier.applyCommitted(s);
    const current = this.roleEpoch.value;
    if (!current || current.epoch !== s.epoch || current.role !== s.role.name) {
      if (current?.role === 'leader' && s.role.name !== 'leader') {
        this.tracker.rejectAll((index, term) => new ProposalDroppedError(index, term, `${this.id} lost leadership`));
      }
      this.roleEpoch.next({ role: s.role.name, epoch: s.epoch, resume: this.resumedTimer(current?.role, s) });
    }
    this.published.publish(s, (config) => this.options.transport.updatePeers?.(config.addresses));
    this.membership.afterStep(s);
  }

  /**
   * The election timer a new follower inherits from the candidate it was (see
   * `ResumedTimer`). Not from a pre-candidate: a newer term there means another node
   * passed its pre-vote and is being elected. Resuming would let this node pre-vote again
   * at once, and a follower that has not yet heard from the new leader would grant it,
   * deposing the leader just elected (found by the simulator: seed 40330 took 1.2 s to
   * settle instead of 0.3 s). It restarts its timer instead, as etcd does.
   */
  private resumedTimer(previous: RoleName | undefined, s: RaftState): ResumedTimer | undefined {
    if (previous !== 'candidate' || s.role.name !== 'follower' || s.leaderId !== null || this.electionTimerReset) return undefined;
    return { at: this.candidateTimerAt };
  }

  private failStop(error: Error): void {
    if (this.stopping) return;
    this.errors.next(error);
    this.stopping = this.shutdown(error instanceof StorageFailedError ? error : new NodeStoppedError(this.id));
  }

  private async shutdown(reason: Error): Promise<void> {
    this.stopped = true;
    this.subscriptions.unsubscribe();
    this.notices.clear();
    this.roleEpoch.complete();
    this.tracker.rejectAll(() => reason);
    this.membership.rejectAll(reason);
    this.snapshots.close();
    this.intake.rejectAll(reason);
    this.requests.rejectAll(reason);
    this.barrier.rejectAll(reason);
    this.published.stop();
    this.applier.stop();
    this.errors.complete();
    await Promise.allSettled([this.options.transport.close(), this.options.storage.close()]);
  }
}
