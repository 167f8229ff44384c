import { Observable, Subscription } from 'rxjs';
import type {
  ElectionReport, FollowerProgress, LeaderInfo, Membership, NodeStatus, ProposeOptions, RaftNode, RaftNodeOptions, ReadOptions, StopOptions,
} from './api';
import type { RaftState, RoleName } from './core/state';
import { ApplyFailedError, NodeStoppedError, NotLeaderError, RaftError, StorageFailedError } from './errors';
import type { CommittedEntry } from './messages/entry';
import type { NodeId } from './messages/types';
import { Broadcast } from './operators/broadcast';
import { bootstrapConfig, ResolvedOptions, resolveOptions } from './options';
import { loadState } from './streams/boot';
import { closeWithin } from './streams/closeWithin';
import { commandKind, toCommand } from './streams/commands';
import { followerProgress } from './streams/followerProgress';
import { NodeLinks, NodeRuntime } from './streams/nodeRuntime';
import { nodeTestHooks, StartSettings } from './streams/nodeTestHooks';
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
 * The facade: public streams and calls, and the node's lifecycle (start, fail-stop,
 * stop). Behind them the runtime its parts make up (`NodeRuntime`): inbound RPCs, role
 * timers, client calls and storage completions merged into one serialized stream of
 * events, each turned by `step` into effects the `EffectDriver` carries out.
 */
class Node implements RaftNode, HasTestHooks, NodeLinks {
  readonly id: NodeId;
  readonly leader$: Observable<LeaderInfo | null>;
  readonly role$: Observable<RoleName>;
  readonly term$: Observable<number>;
  readonly members$: Observable<Membership>;
  readonly status$: Observable<NodeStatus>;
  readonly ready: Promise<void>;
  /** Every option, defaulted and checked once; the only place the node reads them. */
  private readonly options: ResolvedOptions;
  private readonly errors = new Broadcast<Error>();
  // What the runtime reads of the node (`NodeLinks`): its state, whether it stopped, the
  // outlets and callbacks the parts share (made once per node: a host runs one per group),
  // and the subscriptions that end with it.
  state: RaftState | null = null;
  stopped = false;
  readonly committed = new Broadcast<CommittedEntry>();
  readonly elections = new Broadcast<ElectionReport>();
  readonly fail = (e: Error) => this.failStop(e);
  readonly report = (e: Error) => this.errors.next(e);
  readonly subscriptions = new Subscription();
  readonly elections$: Observable<ElectionReport> = this.elections.asObservable();
  readonly committed$: Observable<CommittedEntry> = this.committed.asObservable();
  readonly errors$: Observable<Error> = this.errors.asObservable();
  /** The parts behind the calls: client calls, role pipelines, apply, snapshots, and the loop. */
  private readonly runtime: NodeRuntime;
  /** What tests set before the node has started (see `testHooks.ts`). */
  private readonly atStart: StartSettings = { plantedBug: null };
  private stopping: Promise<void> | null = null;
  /** A `stop({ transferLeadership })` under way: the hand-over, then `stopping`. */
  private handOver: Promise<void> | null = null;
  /** Rejects `ready` when the node stops before it has started (no effect once it has). */
  private abortStart: (reason: Error) => void = () => undefined;

  constructor(given: RaftNodeOptions) {
    const o = (this.options = resolveOptions(given));
    this.id = o.id;
    this.runtime = new NodeRuntime(o, this);
    ({ leader$: this.leader$, role$: this.role$, term$: this.term$, members$: this.members$, status$: this.status$ } = this.runtime.published);
    // A stop before the node started settles `ready` too, even while `storage.load()` hangs.
    const stoppedFirst = new Promise<never>((_, reject) => (this.abortStart = reject));
    this.ready = Promise.race([this.start(), stoppedFirst]).catch((e) => {
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
    const intake = this.runtime.intake;
    return this.stopped || !this.state ? this.whenStarted(() => intake.propose(commandKind(options), command)) : intake.propose(commandKind(options), command);
  }

  read(options: ReadOptions = {}): Promise<{ index: number }> {
    return this.whenStarted(() => this.runtime.intake.read(options.lease === true));
  }

  addLearner(id: NodeId, address?: string): Promise<Membership> {
    return this.whenStarted(() => this.runtime.membership.change({ type: 'addLearner', id, address }));
  }

  promote(id: NodeId): Promise<Membership> {
    return this.whenStarted(() => this.runtime.membership.change({ type: 'promote', id }));
  }

  removeMember(id: NodeId): Promise<Membership> {
    return this.whenStarted(() => this.runtime.membership.change({ type: 'remove', id }));
  }

  changeMembership(target: { voters: readonly NodeId[]; learners?: readonly NodeId[]; addresses?: Readonly<Record<NodeId, string>> }): Promise<Membership> {
    const change = { type: 'replace' as const, voters: target.voters, learners: target.learners ?? [], addresses: target.addresses };
    return this.whenStarted(() => this.runtime.membership.change(change));
  }

  transferLeadership(to?: NodeId): Promise<{ leaderId: NodeId }> {
    return this.whenStarted(() => this.runtime.membership.transferLeadership(to ?? null));
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
    const now = () => this.options.scheduler.now();
    return nodeTestHooks({ state: () => (this.stopped ? null : this.state), dispatch: this.runtime.dispatch, now, atStart: this.atStart });
  }

  private whenStarted<T>(request: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    if (!this.state) return Promise.reject(new NotLeaderError(null, 0));
    return request();
  }

  /** Loads storage, builds the state, and runs the loop on it. */
  private async start(): Promise<void> {
    const o = this.options;
    const runtime = this.runtime;
    const s = await loadState(this.id, o, bootstrapConfig(o), runtime.snapshots, () => this.stopped, this.atStart);
    if (!s) return;
    this.state = s;
    this.subscriptions.add(runtime.run(s));
    this.subscriptions.add(o.transport.errors$.subscribe(this.report));
    runtime.afterTurn(s);
  }

  private failStop(error: Error): void {
    if (this.stopping) return;
    this.errors.next(error);
    const fatal = error instanceof StorageFailedError || error instanceof ApplyFailedError;
    this.stopping = this.shutdown(fatal ? error : new NodeStoppedError(this.id));
    this.stopping.catch(() => undefined); // a StopTimeoutError: stop() returns it
  }

  /** Stops the runtime and settles everything that waits on the node with `reason`, at once; then closes the transport and storage (at most `stopTimeout`). */
  private async shutdown(reason: Error): Promise<void> {
    this.stopped = true;
    this.abortStart(reason);
    this.subscriptions.unsubscribe();
    const runtime = this.runtime;
    runtime.notices.clear();
    runtime.roles.stop();
    runtime.tracker.rejectAll(() => reason);
    for (const waiting of [runtime.membership, runtime.intake, runtime.requests, runtime.barrier]) waiting.rejectAll(reason);
    runtime.published.stop();
    for (const stream of [this.committed, this.elections, this.errors]) stream.complete();
    const { transport, storage, stopTimeout, scheduler } = this.options;
    await closeWithin(this.id, { transport, storage }, stopTimeout, scheduler);
  }
}
