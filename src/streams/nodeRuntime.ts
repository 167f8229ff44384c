import { EMPTY, Subscription } from 'rxjs';
import type { Effect } from '../core/effects';
import type { ElectionReport } from '../core/electionReports';
import type { RaftEvent } from '../core/events';
import type { RaftState } from '../core/state';
import { ProposalDroppedError } from '../errors';
import { CommittedEntry, EMPTY_DATA, EntryKind } from '../messages/entry';
import type { Broadcast } from '../operators/broadcast';
import { Inlet } from '../operators/inlet';
import { mergeTurns } from '../operators/serializeTurns';
import { bootstrapConfig, ResolvedOptions } from '../options';
import { RoleSwitch } from '../states/roleSwitch';
import { Applier } from './applier';
import { AppliedAcks, leavesNothingToApply } from './appliedAcks';
import { ApplyBarrier } from './applyBarrier';
import { ClientIntake, ClientRequest } from './clientIntake';
import { CommitNotices } from './commitNotices';
import { DurableCompletions, DurableStep, durableWrites } from './durableWrites';
import { EffectDriver } from './effectDriver';
import { MembershipRequests } from './membershipRequests';
import { OpenRequests } from './openRequests';
import { ProposalTracker } from './proposals';
import { PROPOSAL_TIMEOUT_REQUESTS, ProposalDeadlines } from './proposalDeadlines';
import { needsMarkerRepair, repairEvents, termRecoveryHandler } from './repair';
import { SessionTable } from './sessions';
import { SnapshotDriver } from './snapshots';
import { StatePublisher } from './statePublisher';
import { stepAt, stepEach } from './stepEach';
import { transportEvents } from './transportEvents';

/**
 * The runtime of one node, its parts built and connected: client calls (`intake`,
 * `requests`, `barrier`, `membership`), the role pipelines (`roles`), apply and
 * snapshots, and the effect driver that hands each effect of a turn to the part that
 * carries it out. The node `run`s the loop on its loaded state; its calls go to the
 * public parts, and a stop settles what they hold.
 *
 * @example
 * const runtime = new NodeRuntime(resolveOptions(options), node); // node: what it needs of its node (`NodeLinks`)
 * runtime.published.leader$.subscribe((l) => console.log(l?.id));
 * subscriptions.add(runtime.run(loaded));
 * runtime.afterTurn(loaded); // publish the loaded state before the first event
 * await runtime.intake.propose(EntryKind.Command, command); // { index, term }, once the node leads and the entry is applied
 */
export class NodeRuntime {
  /** `leader$`, `role$`, `term$`, `members$` and `status$`, published after each turn. */
  readonly published: StatePublisher;
  /** Feeds an event raised outside a turn (a completion, a request, a test hook) to the loop. */
  readonly dispatch: (event: RaftEvent) => void;
  readonly tracker = new ProposalTracker();
  readonly requests: OpenRequests<ClientRequest>;
  readonly intake: ClientIntake;
  /** Reads and forwarded proposals waiting for this node's apply (invariant 8). */
  readonly barrier: ApplyBarrier;
  readonly membership: MembershipRequests;
  readonly snapshots: SnapshotDriver;
  readonly notices: CommitNotices;
  readonly roles: RoleSwitch;
  /** Events raised outside the turn, fed to the loop. */
  private readonly feedback = new Inlet<RaftEvent>();
  /** Writes and sends, in order, for `durableWrites`. */
  private readonly durableSteps = new Inlet<DurableStep>();
  /** Writes in flight (`AppliedAcks.mayHold`), and a follower's completions held for its next turn (at most a heartbeat interval). */
  private readonly completions: DurableCompletions;
  /** Hands committed entries to the application, in order, and reports them applied. */
  private readonly applier: Applier;
  private readonly acks: AppliedAcks;
  private readonly driver: EffectDriver;
  /** The effect driver's `carryOut` on the node's state: made once, not per turn. */
  private readonly carryOut: (effects: readonly Effect[]) => void;
  /** Starts at a random point: a restarted node must not reuse its last run's ids (the leader deduplicates by id). */
  private lastRequestId: number;

  /** Builds the parts and connects them; starts the apply pipeline (owned by `node.subscriptions`). */
  constructor(
    private readonly o: ResolvedOptions,
    private readonly node: NodeLinks,
  ) {
    // Every callback here is made in this one constructor, so they share one context (a host runs thousands of nodes).
    this.dispatch = (e) => this.feedback.next(e);
    this.carryOut = (effects) => this.driver.carryOut(effects, node.state!);
    this.published = new StatePublisher(o.id, bootstrapConfig(o), (config) => o.transport.updatePeers?.(config.addresses));
    this.lastRequestId = Math.floor(o.random() * 2 ** 40);
    const nextId = () => ++this.lastRequestId;
    this.requests = new OpenRequests(o.scheduler, o.requestTimeout);
    this.intake = new ClientIntake(o.turnScheduler, this.requests, nextId);
    this.barrier = new ApplyBarrier(o.scheduler, o.requestTimeout);
    this.notices = new CommitNotices(o.turnScheduler, (to, message) => this.roles.replicate({ to, message }), (term) => this.leadsIn(term));
    this.roles = new RoleSwitch({
      id: o.id, scheduler: o.scheduler, heartbeatInterval: o.heartbeatInterval, stallGrace: o.electionTimeout.min, heartbeats$: o.heartbeatTicks,
      wakeups$: o.wakeups, snapshotSource: o.storage, entrySource: o.storage, transport: o.transport,
    });
    this.membership = new MembershipRequests({
      id: o.id, scheduler: o.scheduler, dispatch: this.dispatch, nextRequestId: nextId, tracker: this.tracker, retryInterval: o.heartbeatInterval,
      timeout: o.requestTimeout * 5, electionTimeoutMax: o.electionTimeout.max, holdProposals: (hold) => this.intake.holdProposals(hold),
    });
    const sessions = new SessionTable(o.sessions);
    this.snapshots = new SnapshotDriver({
      id: o.id, storage: o.storage, stateMachine: o.stateMachine, policy: o.snapshot, sessions, dispatch: this.dispatch, failStop: node.fail,
      report: node.report, isStopped: () => node.stopped, exclusive: (work) => this.applier.exclusive(work), restored: (index) => this.applier.skipUpTo(index),
    });
    this.applier = new Applier({
      nodeId: o.id, apply: o.stateMachine?.apply?.bind(o.stateMachine), sessions, tracker: this.tracker, committed: node.committed,
      noteApplied: (bytes) => this.snapshots.noteApplied(bytes), acknowledge: (index) => this.acks.report(index), failStop: node.fail, slices: o.turnScheduler,
    });
    node.subscriptions.add(this.applier.start());
    const later = (work: () => void) => o.scheduler.schedule(work, o.heartbeatInterval);
    this.completions = new DurableCompletions({ later, owner: node.subscriptions, state: () => (node.stopped ? null : node.state), release: this.dispatch });
    this.acks = new AppliedAcks({
      stepApplied: (i) => stepAt(node.state!, { kind: 'applied', index: i }, o.scheduler.now()),
      feedback: (i) => this.feedback.next({ kind: 'applied', index: i }),
      fail: node.fail,
      mayHold: (i) => this.completions.inFlight && this.barrier.size === 0 && leavesNothingToApply(node.state!, i),
    });
    const appliedUpTo = () => this.applier.appliedUpTo;
    const timeout = o.requestTimeout * PROPOSAL_TIMEOUT_REQUESTS;
    const deadlines = new ProposalDeadlines({ scheduler: o.scheduler, timeout, tracker: this.tracker, appliedUpTo, owner: node.subscriptions });
    this.driver = new EffectDriver({
      deadlines, durableSteps: this.durableSteps, notices: this.notices, tracker: this.tracker, requests: this.requests, barrier: this.barrier,
      membership: this.membership, snapshots: this.snapshots, applier: this.applier, roles: this.roles, reportElection: (r) => node.elections.next(r),
      termRecovery: termRecoveryHandler(o.id, o.storage, node.report, node.fail),
    });
  }

  /**
   * Runs the node's loop on its loaded state `s`: inbound RPCs, role timers, client
   * calls, feedback and storage completions merged into one serialized stream of events,
   * each stepped into the effects of its turn, then `afterTurn`. An error of the loop
   * stops the node (`fail`). Unsubscribe to stop the loop.
   */
  run(s: RaftState): Subscription {
    const { o, roles, intake } = this;
    const events$ = mergeTurns(
      transportEvents(o.transport, o.id, () => s.configs, this.node.report, (e) => roles.take(e)),
      roles.events$,
      intake.events$,
      this.feedback,
      this.durableSteps.pipe(durableWrites(o.storage, (m) => o.transport.send(m.to, m.message), this.completions)),
      needsMarkerRepair(s) ? repairEvents(() => intake.propose(EntryKind.Noop, EMPTY_DATA), o.storage, o.scheduler, o.electionTimeout.max) : EMPTY,
    );
    const turns$ = events$.pipe(stepEach(s, () => o.scheduler.now(), this.completions));
    return turns$.subscribe({ next: (effects) => this.afterTurn(s, effects), error: this.node.fail });
  }

  /**
   * After each turn (nothing once the node stopped): carry out its effects (and the
   * application's acknowledgements), wake what waited for the application, switch role
   * pipelines, publish the state.
   */
  afterTurn(s: RaftState, effects: readonly Effect[] = []): void {
    if (this.node.stopped) return;
    if (!this.acks.within(this.carryOut, effects)) return;
    this.barrier.advance(s.appliedIndex); // reads and forwarded proposals waiting for the application (invariant 8)
    this.snapshots.maybeTake(s);
    if (this.roles.follow(s) === 'leader' && s.role.name !== 'leader') {
      this.tracker.rejectAll((index, term) => new ProposalDroppedError(index, term, `${this.o.id} lost leadership`));
    }
    this.published.publish(s);
    this.membership.afterStep(s);
  }

  /** Whether this running node leads in `term` (a commit notice of an older term is not sent). */
  private leadsIn(term: number): boolean {
    const s = this.node.stopped ? null : this.node.state;
    return s?.role.name === 'leader' && s.term === term;
  }
}

/**
 * What the parts of a node's runtime need of the node itself: the node passes itself.
 * Its callbacks are made once per node and shared by the parts that take them, and the
 * parts read `state` and `stopped` when they need them (no closure per node for each: a
 * host runs a node per group).
 *
 * @example
 * class Node implements NodeLinks { ... readonly runtime = new NodeRuntime(options, this); }
 */
export interface NodeLinks {
  /** The node's Raft state once it has loaded its storage; null before. */
  readonly state: RaftState | null;
  /** Whether the node has stopped (by `stop()` or a failure). */
  readonly stopped: boolean;
  /** A failure the node cannot survive: it stops (fail-stop). */
  readonly fail: (error: Error) => void;
  /** A problem the node survives, for `errors$`. */
  readonly report: (error: Error) => void;
  /** `committed$`'s source: each applied user entry is emitted on it. */
  readonly committed: Broadcast<CommittedEntry>;
  /** `elections$`'s source. */
  readonly elections: Broadcast<ElectionReport>;
  /** The node's subscriptions: the apply pipeline, the loop and the parts' timers end with them. */
  readonly subscriptions: Subscription;
}
