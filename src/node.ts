import {
  BehaviorSubject,
  concatWith,
  defer,
  distinctUntilChanged,
  from,
  map,
  Observable,
  shareReplay,
  Subject,
  Subscription,
  switchMap,
} from 'rxjs';
import type { Effect } from './core/effects';
import type { RaftEvent } from './core/events';
import { RaftLog } from './core/log';
import { createState, currentConfig, RaftState, RoleName } from './core/state';
import { step } from './core/step';
import {
  ApplyFailedError,
  LeaderOverloadedError,
  NodeStoppedError,
  NotLeaderError,
  PayloadTooLargeError,
  HardStateLostError,
  ProposalDroppedError,
  RaftError,
  RequestTimeoutError,
  StorageFailedError,
  UnknownPeerError,
} from './errors';
import { CommittedEntry, EntryKind } from './messages/entry';
import { Applier } from './streams/applier';
import type { AppendEntries, NodeId, RaftMessage } from './messages/types';
import { batchPerTurn } from './operators/batchPerTurn';
import { ResumedTimer, RoleContext, rolePipelines } from './states';
import { CommitNotices } from './streams/commitNotices';
import { Deadlines } from './streams/deadlines';
import { EventLoop } from './streams/eventLoop';
import { repairFromCluster } from './streams/repair';
import { PendingProposal, ProposalTracker } from './streams/proposals';
import { encodeSessionCommand, SessionTable } from './streams/sessions';
import { LeaderInfo, Membership, NodeStatus, sameLeader, sameStatus, toMembership } from './streams/status';
import { MembershipRequests } from './streams/membershipRequests';
import { SnapshotDriver } from './streams/snapshots';
import { ClusterConfig, configsOf, members } from './core/config';
import type { FollowerProgress, ProposeOptions, RaftNode, RaftNodeOptions, ReadOptions, StopOptions } from './api';
import type { TimeoutRange } from './operators/electionTimer';
import { protocolOptions, ResolvedOptions, resolveOptions } from './options';
import { HasTestHooks, NEVER_TIMEOUT, NodeTestHooks, ReplicationView, TEST_HOOKS } from './testHooks';

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

/** A `read()` call waiting for its index to be applied. */
interface PendingRead {
  readonly lease: boolean;
  readonly resolve: (at: { index: number }) => void;
  readonly reject: (error: Error) => void;
}

/** A request waiting for an answer from the leader (or from this node's own reads). */
type OpenRequest =
  | { readonly kind: 'propose'; readonly waiters: readonly PendingProposal[]; readonly timer: Subscription }
  | { readonly kind: 'read'; readonly waiters: readonly PendingRead[]; readonly timer: Subscription };

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

  private readonly bootstrap: ClusterConfig;
  private readonly status: BehaviorSubject<NodeStatus>;
  private readonly members: BehaviorSubject<Membership>;
  private readonly committed = new Subject<CommittedEntry>();
  private readonly errors = new Subject<Error>();
  private readonly roleEpoch = new BehaviorSubject<{ role: RoleName; epoch: number; resume?: ResumedTimer } | null>(null);
  /** When the current (or last) candidate's election timer fires. */
  private candidateTimerAt = 0;
  /** The election timer was reset in this step (heard from a leader, or granted a vote). */
  private electionTimerReset = false;
  private readonly electionResets = new Subject<void>();
  private readonly proposals = new Subject<PendingProposal>();
  private readonly tracker = new ProposalTracker();
  private readonly sessions: SessionTable;
  private readonly membership: MembershipRequests;
  private readonly snapshots: SnapshotDriver;
  /** Proposals held back while a leadership transfer is under way; null when not holding. */
  private held: PendingProposal[] | null = null;
  private peerCache: { configs: unknown; key: string; known: ReadonlySet<NodeId> | 'anyone' } | null = null;
  private readonly loop = new EventLoop<RaftEvent>((e) => this.handle(e));
  private readonly subscriptions = new Subscription();
  private state: RaftState | null = null;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  /** A `stop({ transferLeadership })` under way: the hand-over, then `stopping`. */
  private handOver: Promise<void> | null = null;
  /** Writes issued and not yet durable; the last one resolves after all the others. */
  private pendingWrites = 0;
  private lastWrite: Promise<boolean> = Promise.resolve(true);
  /** Proposals made but not yet handed to the event loop (they wait for the end of the turn). */
  private readonly unbatched = new Set<PendingProposal>();
  private readonly reads = new Subject<PendingRead>();
  private readonly unbatchedReads = new Set<PendingRead>();
  /** Forwarded proposals and reads in flight, by request id. */
  private readonly requests = new Map<number, OpenRequest>();
  /** Reads whose index is known, waiting for it to be applied here; ascending by index. */
  private readonly readsAwaitingApply: { index: number; waiters: readonly PendingRead[]; cancel: () => void }[] = [];
  /** Deadlines of waits for this node's own apply: confirmed reads and forwarded proposals. */
  private readonly deadlines: Deadlines;
  /** See `NodeTestHooks.plantBug`. */
  private plantedBug: 'stale-lease' | null = null;
  /**
   * Request ids start at a random point so a restarted node does not reuse the ids of
   * its previous run (the leader deduplicates forwarded requests by id).
   */
  private nextRequestId: number;
  /** Hands committed entries to the application, in order, and reports them applied. */
  private readonly applier: Applier;
  /** Every option, defaulted and checked once; the only place the node reads them. */
  private readonly options: ResolvedOptions;
  private readonly notices: CommitNotices;
  /** The range the election timer draws from; tests may replace it (see `testHooks.ts`). */
  private electionRange: TimeoutRange;

  constructor(given: RaftNodeOptions) {
    const options = (this.options = resolveOptions(given));
    this.id = options.id;
    this.bootstrap = { voters: options.peers, learners: [], addresses: options.addresses };
    this.status = new BehaviorSubject<NodeStatus>({
      id: this.id,
      role: 'follower',
      term: 0,
      leaderId: null,
      commitIndex: 0,
      appliedIndex: 0,
      lastIndex: 0,
      stopped: false,
    });
    this.members = new BehaviorSubject<Membership>(toMembership({ index: 0, term: 0, config: this.bootstrap }, 0));
    const derive = <T>(project: (s: NodeStatus) => T, same: (a: T, b: T) => boolean = Object.is) =>
      this.status.pipe(map(project), distinctUntilChanged(same), shareReplay({ bufferSize: 1, refCount: true }));
    this.status$ = this.status.asObservable();
    this.leader$ = derive<LeaderInfo | null>(
      (s) => (s.leaderId && !s.stopped ? { id: s.leaderId, term: s.term, self: s.leaderId === this.id } : null),
      sameLeader,
    );
    this.role$ = derive((s) => s.role);
    this.term$ = derive((s) => s.term);
    this.members$ = this.members.asObservable();
    this.committed$ = this.committed.asObservable();
    this.errors$ = this.errors.asObservable();
    this.deadlines = new Deadlines(options.scheduler);
    this.electionRange = options.electionTimeout;
    this.notices = new CommitNotices(
      options.turnScheduler,
      (to, notice) => options.transport.send(to, notice),
      (term) => !this.stopped && this.state?.role.name === 'leader' && this.state.term === term,
    );
    this.nextRequestId = Math.floor(options.random() * 2 ** 40);
    this.sessions = new SessionTable(options.sessions);
    this.applier = new Applier({
      nodeId: this.id,
      apply: options.stateMachine?.apply?.bind(options.stateMachine),
      sessions: this.sessions,
      tracker: this.tracker,
      committed: this.committed,
      noteApplied: (bytes) => this.snapshots.noteApplied(bytes),
      dispatch: (e) => this.loop.dispatch(e),
      failStop: (e) => this.failStop(e),
    });
    this.subscriptions.add(this.applier.start());
    this.membership = new MembershipRequests({
      id: this.id,
      scheduler: options.scheduler,
      dispatch: (e) => this.loop.dispatch(e),
      nextRequestId: () => ++this.nextRequestId,
      tracker: this.tracker,
      retryInterval: options.heartbeatInterval,
      timeout: options.requestTimeout * 5,
      holdProposals: (hold) => this.holdProposals(hold),
    });
    this.snapshots = new SnapshotDriver({
      id: this.id,
      storage: options.storage,
      transport: options.transport,
      stateMachine: options.stateMachine,
      policy: options.snapshot,
      sessions: this.sessions,
      dispatch: (e) => this.loop.dispatch(e),
      failStop: (e) => this.failStop(e),
      report: (e) => this.errors.next(e),
      isStopped: () => this.stopped,
      exclusive: (work) => this.applier.exclusive(work),
      restored: (index) => this.applier.skipUpTo(index),
    });
    this.ready = this.start().catch((e) => {
      this.failStop(e instanceof Error ? e : new RaftError(String(e)));
      throw e;
    });
    this.ready.catch(() => undefined); // reported on errors$; awaiting `ready` still sees it
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

  private whenStarted<T>(request: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    if (!this.state) return Promise.reject(new NotLeaderError(null, 0));
    return request();
  }

  /** While a transfer is under way, proposals wait; afterwards they go to whoever leads. */
  private holdProposals(hold: boolean): void {
    if (hold) {
      this.held ??= [];
      return;
    }
    const held = this.held ?? [];
    this.held = null;
    for (const p of held) this.proposals.next(p);
  }

  propose(data: Uint8Array, options: ProposeOptions = {}): Promise<{ index: number; term: number }> {
    if (!(data instanceof Uint8Array)) return Promise.reject(new TypeError('propose(data): data must be a Uint8Array'));
    let kind: EntryKind = EntryKind.Command;
    if (options.session) {
      try {
        data = encodeSessionCommand(options.session, data);
      } catch (e) {
        return Promise.reject(e);
      }
      kind = EntryKind.SessionCommand;
    }
    const limit = this.options.maxCommandBytes;
    if (data.byteLength > limit) return Promise.reject(new PayloadTooLargeError(data.byteLength, limit));
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    if (!this.state) return Promise.reject(new NotLeaderError(null, 0));
    return this.enqueueProposal(kind, data);
  }

  /** Queues a proposal for the next batch (or behind held ones); settles when it is applied here. */
  private enqueueProposal(kind: EntryKind, data: Uint8Array): Promise<{ index: number; term: number }> {
    return new Promise((resolve, reject) => {
      const proposal: PendingProposal = { kind, data, resolve, reject };
      this.unbatched.add(proposal);
      if (this.held) this.held.push(proposal);
      else this.proposals.next(proposal);
    });
  }

  read(options: ReadOptions = {}): Promise<{ index: number }> {
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    if (!this.state) return Promise.reject(new NotLeaderError(null, 0));
    return new Promise((resolve, reject) => {
      const read: PendingRead = { lease: options.lease === true, resolve, reject };
      this.unbatchedReads.add(read);
      this.reads.next(read);
    });
  }

  followers(): readonly FollowerProgress[] | null {
    const s = this.state;
    if (!s || this.stopped || s.role.name !== 'leader') return null;
    const now = this.options.scheduler.now();
    return [...s.role.progress].map(([id, pr]) => ({
      id,
      matchIndex: pr.match,
      lag: s.log.lastIndex - pr.match,
      sinceContact: Math.max(0, now - pr.lastContact),
      state: pr.snapshot ? 'snapshot' : pr.probing ? 'probing' : 'replicating',
    }));
  }

  [TEST_HOOKS](): NodeTestHooks {
    return {
      campaign: () => {
        const s = this.state;
        if (!s || this.stopped) return false;
        this.loop.dispatch({ kind: 'electionTimeout', epoch: s.epoch });
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

  stop(options: StopOptions = {}): Promise<void> {
    const shutdown = () => (this.stopping ??= this.shutdown(new NodeStoppedError(this.id)));
    // A leader alone in its cluster has no one to hand over to: the transfer refuses at once.
    // A stop without the option stops now, even during a hand-over (which then fails).
    if (!options.transferLeadership || this.stopping || this.stopped || this.state?.role.name !== 'leader') return shutdown();
    this.handOver ??= this.transferLeadership().then(shutdown, shutdown);
    return this.handOver;
  }

  private async start(): Promise<void> {
    const persisted = await this.options.storage.load();
    if (this.stopped) return;
    if (persisted.damage?.hardStateMissing) throw new HardStateLostError(this.id);
    const snapshot = persisted.snapshot;
    if (snapshot) await this.snapshots.restoreAtStart(snapshot);
    if (this.stopped) return;
    const o = this.options;
    const log = new RaftLog(persisted.entries, snapshot ?? undefined);
    const base = snapshot ? { index: snapshot.index, term: snapshot.term, config: snapshot.config } : { index: 0, term: 0, config: this.bootstrap };
    const configs = configsOf(base, persisted.entries.filter((e) => e.index > base.index));
    this.state = createState(this.id, configs, { ...persisted.hardState, log }, protocolOptions(o));
    this.state.startedAt = this.state.now = this.options.scheduler.now();
    this.state.plantedBug = this.plantedBug;
    const damage = persisted.damage;
    if (damage?.truncatedTail) this.state.repair = { reason: `log cut from index ${damage.truncatedTail.from}: ${damage.truncatedTail.reason}` };
    const node = this;
    const ctx: RoleContext = {
      scheduler: this.options.scheduler,
      random: o.random,
      get electionTimeout() {
        return node.electionRange;
      },
      heartbeatInterval: o.heartbeatInterval,
      electionResets$: this.electionResets.asObservable(),
      electionTimerArmed: (at) => (this.candidateTimerAt = at),
    };
    const dispatch = (e: RaftEvent) => this.loop.dispatch(e);
    this.subscriptions.add(
      this.roleEpoch.pipe(switchMap((r) => (r ? rolePipelines[r.role](ctx, r.epoch, r.resume) : []))).subscribe(dispatch),
    );
    this.subscriptions.add(
      o.transport.inbound$.subscribe(({ from, message }) => {
        if (this.accepts(from, message.type)) dispatch({ kind: 'message', from, message });
        else this.errors.next(new UnknownPeerError(from));
      }),
    );
    this.subscriptions.add(o.transport.errors$.subscribe((e) => this.errors.next(e)));
    this.subscriptions.add(
      this.proposals
        .pipe(batchPerTurn(this.options.turnScheduler))
        .subscribe((batch) => {
          for (const p of batch) this.unbatched.delete(p);
          const commands = batch.map((p) => ({ kind: p.kind, data: p.data }));
          dispatch({ kind: 'propose', commands, tokens: batch, requestId: ++this.nextRequestId });
        }),
    );
    this.subscriptions.add(
      this.reads.pipe(batchPerTurn(this.options.turnScheduler)).subscribe((batch) => {
        for (const r of batch) this.unbatchedReads.delete(r);
        // One request per turn; a lease read may ride along with a confirmed one, not the reverse.
        const requestId = this.open(++this.nextRequestId, { kind: 'read', waiters: batch });
        dispatch({ kind: 'read', requestId, lease: batch.every((r) => r.lease) });
      }),
    );
    if (this.state.repair) this.subscriptions.add(this.repair(o.electionTimeout.max));
    this.afterStep();
  }

  /**
   * A node whose log lost entries it may have acknowledged proposes a marker until the
   * marker is applied here (see `repairFromCluster`), then clears the damage on disk and
   * may vote again.
   */
  private repair(retryDelay: number): Subscription {
    const marker = () => this.enqueueProposal(EntryKind.Noop, new Uint8Array(0));
    return repairFromCluster(marker, this.options.scheduler, retryDelay)
      .pipe(concatWith(defer(() => from(this.options.storage.clearDamage?.() ?? Promise.resolve()))))
      .subscribe({
        complete: () => this.loop.dispatch({ kind: 'repaired' }),
        error: (e: unknown) => this.failStop(e instanceof Error ? e : new StorageFailedError(String(e), e)),
      });
  }

  /** One turn of the event loop: the rules decide, then the driver carries out the effects. */
  private handle(event: RaftEvent): void {
    const s = this.state;
    if (!s || this.stopped) return;
    let effects: readonly Effect[];
    try {
      s.now = this.options.scheduler.now();
      this.electionTimerReset = false;
      effects = step(s, event).list;
    } catch (e) {
      // A broken invariant: stop rather than risk acting on a corrupt state.
      this.failStop(e instanceof Error ? e : new RaftError(String(e)));
      return;
    }
    for (const effect of effects) this.execute(effect);
    this.afterStep();
  }

  private execute(effect: Effect): void {
    const { storage, transport } = this.options;
    if (this.membership.onEffect(effect, this.state!) || this.snapshots.onEffect(effect)) return;
    switch (effect.type) {
      case 'saveHardState': {
        const { term, votedFor } = effect.hardState;
        this.track(storage.saveHardState(effect.hardState)).then((ok) => {
          if (ok && votedFor === this.id) this.loop.dispatch({ kind: 'voteSaved', term, votedFor });
        });
        break;
      }
      case 'persistEntries': {
        const last = effect.entries[effect.entries.length - 1];
        this.track(storage.append(effect.entries)).then((ok) => {
          if (ok) this.loop.dispatch({ kind: 'persisted', index: last.index, term: last.term });
        });
        break;
      }
      case 'send':
        if (effect.notice) {
          this.notices.hold(effect.to, effect.message as AppendEntries);
          break;
        }
        if (effect.message.type === 'AppendEntries') this.notices.sending(effect.to, effect.message);
        if (effect.afterPersist && this.pendingWrites > 0) {
          this.lastWrite.then((ok) => ok && !this.stopped && transport.send(effect.to, effect.message));
        } else {
          transport.send(effect.to, effect.message);
        }
        break;
      case 'apply':
        this.applier.push(effect.entries);
        break;
      case 'resetElectionTimer':
        this.electionTimerReset = true;
        this.electionResets.next();
        break;
      case 'proposalsAppended':
        this.tracker.track(effect.tokens as PendingProposal[], effect.firstIndex, effect.term);
        break;
      case 'proposalsRefused': {
        for (const p of effect.tokens as PendingProposal[]) p.reject(this.refusal(effect.overloaded, this.state!.options.maxUncommittedBytes));
        break;
      }
      case 'proposalsForwarded':
        this.open(effect.requestId, { kind: 'propose', waiters: effect.tokens as PendingProposal[] });
        break;
      case 'forwardAnswered': {
        const request = this.close(effect.requestId);
        if (request?.kind !== 'propose') break;
        if (!effect.success) {
          for (const p of request.waiters) p.reject(this.refusal(effect.overloaded, null)); // the leader's limit is not known here
          break;
        }
        this.tracker.track(this.withApplyDeadline(request.waiters, effect.firstIndex), effect.firstIndex, effect.term);
        this.settleApplied(effect.firstIndex, effect.firstIndex + request.waiters.length - 1);
        break;
      }
      case 'readReady': {
        const request = this.close(effect.requestId);
        if (request?.kind === 'read') this.awaitApplied(effect.index, request.waiters);
        break;
      }
      case 'readFailed': {
        const request = this.close(effect.requestId);
        const s = this.state!;
        if (request?.kind === 'read') for (const r of request.waiters) r.reject(new NotLeaderError(s.leaderId, s.term));
        break;
      }
    }
  }

  /**
   * Why a proposal was refused with nothing appended: the leader was over its
   * `maxUncommittedBytes` (`limit`, when known), or no leader could take it.
   */
  private refusal(overloaded: boolean, limit: number | null): RaftError {
    const s = this.state!;
    return overloaded ? new LeaderOverloadedError(s.leaderId, limit) : new NotLeaderError(s.leaderId, s.term);
  }

  /** Registers a request that waits for an answer, failing it after `requestTimeout`. */
  private open(requestId: number, request: Omit<OpenRequest, 'timer'>): number {
    const timer = this.options.scheduler.schedule(() => {
      if (!this.requests.delete(requestId)) return;
      const error = new RequestTimeoutError(request.kind, this.options.requestTimeout);
      for (const w of request.waiters) w.reject(error);
    }, this.options.requestTimeout);
    this.requests.set(requestId, { ...request, timer } as OpenRequest);
    return requestId;
  }

  private close(requestId: number): OpenRequest | undefined {
    const request = this.requests.get(requestId);
    if (!request) return undefined;
    this.requests.delete(requestId);
    request.timer.unsubscribe();
    return request;
  }

  /** Proposals tracked after their indexes were already applied here settle at once. */
  private settleApplied(from: number, to: number): void {
    const s = this.state!;
    for (let i = from; i <= Math.min(to, this.applier.appliedUpTo); i++) {
      const term = s.log.termAt(i);
      // Compacted before the answer came: which command the entry held is no longer known here.
      if (term === undefined) this.tracker.forget(i, (index, t) => new ProposalDroppedError(index, t, 'compacted before the leader answered'));
      else this.tracker.applied(i, term, this.applier.originalOf(i));
    }
  }

  /**
   * A read the leader confirmed waits until this node has applied its index, for at most
   * `requestTimeout` (a node that cannot catch up must not hold its callers forever).
   */
  private awaitApplied(index: number, waiters: readonly PendingRead[]): void {
    if (this.state!.appliedIndex >= index) {
      for (const r of waiters) r.resolve({ index });
      return;
    }
    const queue = this.readsAwaitingApply;
    const entry = {
      index,
      waiters,
      cancel: this.deadlines.after(this.options.requestTimeout, () => {
        queue.splice(queue.indexOf(entry), 1);
        const error = new RequestTimeoutError('read', this.options.requestTimeout);
        for (const r of waiters) r.reject(error);
      }),
    };
    let at = queue.length;
    while (at > 0 && queue[at - 1].index > index) at--;
    queue.splice(at, 0, entry);
  }

  /**
   * Forwarded proposals the leader appended wait until this node applies them, for at most
   * `requestTimeout`; then they fail with `RequestTimeoutError` (they may still commit).
   */
  private withApplyDeadline(proposals: readonly PendingProposal[], firstIndex: number): PendingProposal[] {
    let open = proposals.length;
    const cancel = this.deadlines.after(this.options.requestTimeout, () => {
      const error = new RequestTimeoutError('propose', this.options.requestTimeout);
      for (let i = 0; i < proposals.length; i++) this.tracker.forget(firstIndex + i, () => error);
    });
    const settled = () => {
      if (--open === 0) cancel();
    };
    return proposals.map((p) => ({
      ...p,
      resolve: (at) => (settled(), p.resolve(at)),
      reject: (e) => (settled(), p.reject(e)),
    }));
  }

  /**
   * Counts a write in flight. Resolves true once durable; false if it failed, which
   * stops the node (fail-stop, invariant 2): nothing that waited for it goes out.
   */
  private track(write: Promise<void>): Promise<boolean> {
    this.pendingWrites++;
    const done = write.then(
      () => {
        this.pendingWrites--;
        return true;
      },
      (e: unknown) => {
        this.failStop(e instanceof StorageFailedError ? e : new StorageFailedError(`storage failed: ${e instanceof Error ? e.message : String(e)}`, e));
        return false;
      },
    );
    this.lastWrite = done;
    return done;
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

  /** After each step: apply what committed, switch role pipelines, publish the state. */
  private afterStep(): void {
    const s = this.state;
    if (!s || this.stopped) return;
    this.afterApplied(s);
    const current = this.roleEpoch.value;
    if (!current || current.epoch !== s.epoch || current.role !== s.role.name) {
      if (current?.role === 'leader' && s.role.name !== 'leader') {
        this.tracker.rejectAll((index, term) => new ProposalDroppedError(index, term, `${this.id} lost leadership`));
      }
      this.roleEpoch.next({ role: s.role.name, epoch: s.epoch, resume: this.resumedTimer(current?.role, s) });
    }
    this.publish(s);
    this.publishMembers(s);
    this.membership.afterStep(s);
  }

  /**
   * Whether a message may enter. The transport authenticates peers; on top of that a
   * node takes requests and votes only from members of a configuration in its log. A
   * leader's messages are taken from anyone: a node whose log predates the change that
   * added its new leader must still hear it to catch up (Raft servers process RPCs
   * without consulting their configuration, dissertation §4.1); the term rules decide.
   */
  private accepts(from: NodeId, type: RaftMessage['type']): boolean {
    if (type === 'AppendEntries' || type === 'InstallSnapshot' || type === 'TimeoutNow') return true;
    const known = this.knownPeers();
    return known === 'anyone' || known.has(from);
  }

  /** Members of every configuration in the log, recomputed only when the configurations change. */
  private knownPeers(): ReadonlySet<NodeId> | 'anyone' {
    const configs = this.state!.configs;
    const key = `${configs.length}:${configs[0].index}:${configs[configs.length - 1].index}`;
    if (this.peerCache?.configs !== configs || this.peerCache.key !== key) {
      const known = new Set(configs.flatMap(({ config }) => members(config)));
      const self = members(configs[configs.length - 1].config).includes(this.id);
      this.peerCache = { configs, key, known: self ? known : 'anyone' };
    }
    return this.peerCache.known;
  }

  private publishMembers(s: RaftState): void {
    const latest = s.configs[s.configs.length - 1];
    const previous = this.members.value;
    if (latest.index === previous.index && (latest.index <= s.commitIndex) === previous.committed) return;
    const next = toMembership(latest, s.commitIndex);
    if (next.index !== previous.index) this.options.transport.updatePeers?.(latest.config.addresses);
    this.members.next(next);
  }

  /**
   * Settles the reads waiting for an index the application has now applied (invariant
   * 8), and takes a snapshot if the policy says so. Entries are applied by `applier`.
   */
  private afterApplied(s: RaftState): void {
    const reads = this.readsAwaitingApply;
    while (reads.length > 0 && reads[0].index <= s.appliedIndex) {
      const { index, waiters, cancel } = reads.shift()!;
      cancel();
      for (const r of waiters) r.resolve({ index });
    }
    if (!this.stopped) this.snapshots.maybeTake(s);
  }

  private publish(s: RaftState): void {
    const next: NodeStatus = {
      id: this.id,
      role: s.role.name,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.log.lastIndex,
      stopped: this.stopped,
    };
    if (!sameStatus(next, this.status.value)) this.status.next(next);
  }

  private failStop(error: Error): void {
    if (this.stopping) return;
    this.errors.next(error);
    const fatal = error instanceof StorageFailedError || error instanceof ApplyFailedError;
    this.stopping = this.shutdown(fatal ? error : new NodeStoppedError(this.id));
  }

  private async shutdown(reason: Error): Promise<void> {
    this.stopped = true;
    this.subscriptions.unsubscribe();
    this.notices.clear();
    this.roleEpoch.complete();
    this.tracker.rejectAll(() => reason);
    this.membership.rejectAll(reason);
    this.snapshots.close();
    for (const p of this.unbatched) p.reject(reason);
    this.unbatched.clear();
    for (const r of this.unbatchedReads) r.reject(reason);
    this.unbatchedReads.clear();
    for (const request of this.requests.values()) {
      request.timer.unsubscribe();
      for (const w of request.waiters) w.reject(reason);
    }
    this.requests.clear();
    this.deadlines.clear();
    for (const { waiters } of this.readsAwaitingApply.splice(0)) for (const r of waiters) r.reject(reason);
    this.reads.complete();
    this.status.next({ ...this.status.value, leaderId: null, stopped: true });
    this.status.complete();
    this.members.complete();
    this.committed.complete();
    this.errors.complete();
    this.proposals.complete();
    await Promise.allSettled([this.options.transport.close(), this.options.storage.close()]);
  }
}

/** A copy of the state for tests (`ReplicationView`). */
function inspectState(s: RaftState, now: number): ReplicationView {
  const log: { index: number; term: number }[] = [];
  for (let i = s.log.snapshotIndex + 1; i <= s.log.lastIndex; i++) log.push({ index: i, term: s.log.termAt(i)! });
  const L = s.role.name === 'leader' ? s.role : null;
  const progress = L
    ? new Map(
        [...L.progress].map(([id, pr]) => [
          id,
          {
            id,
            match: pr.match,
            next: pr.next,
            state: pr.snapshot ? ('snapshot' as const) : pr.probing ? ('probe' as const) : ('replicate' as const),
            inflight: pr.probing ? (pr.probeSent ? 1 : 0) : pr.inflight.length,
            paused: pr.isPaused(s.options.maxInflight),
            lastContact: Math.min(pr.lastContact, now),
            snapshot: pr.snapshot && { index: pr.snapshot.index, term: pr.snapshot.term, chunk: pr.snapshot.chunk },
          },
        ]),
      )
    : null;
  const config = currentConfig(s);
  return {
    id: s.id,
    role: s.role.name,
    term: s.term,
    votedFor: s.votedFor,
    leaderId: s.leaderId,
    log,
    lastIndex: s.log.lastIndex,
    lastTerm: s.log.lastTerm,
    snapshotIndex: s.log.snapshotIndex,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    applyingIndex: s.applyingIndex,
    durableIndex: s.durableIndex,
    unstable: log.filter((e) => e.index > s.durableIndex),
    config: { ...config, voters: [...config.voters], learners: [...config.learners], ...(config.oldVoters ? { oldVoters: [...config.oldVoters] } : {}) },
    progress,
    transfer: L?.transfer ? { to: L.transfer.to, timeoutNowSent: L.transfer.timeoutNowSent } : null,
    lastLeaderContact: s.lastLeaderContact,
  };
}
