import { Observable, Subscriber, TeardownLogic } from 'rxjs';
import type { ClusterConfig } from '../messages/config';
import type { RaftState, RoleName } from '../core/state';
import type { NodeId } from '../messages/types';
import type { LeaderInfo, Membership, NodeStatus } from '../api';
import type { BroadcastListener } from '../operators/broadcast';
import { BroadcastValue } from '../operators/broadcastValue';
import { sameLeader, statusDiffers, toMembership } from './status';

/**
 * The public state streams of one node, derived from two private values (`BroadcastValue`): `status$`
 * and `members$` replay the current value and emit only on change; `leader$`, `role$`
 * and `term$` are derived from the status for each subscriber (`changesOf`: what map →
 * distinctUntilChanged → shareReplay with refCount gives a subscriber, without a replay
 * subject and three operators per stream: a host runs thousands of these). `publish` runs
 * after every turn, after the state is final.
 *
 * @example
 * const streams = new StatePublisher('n1', bootstrap, (config) => transport.updatePeers?.(config.addresses));
 * streams.leader$.subscribe((l) => console.log(l?.id));
 * streams.publish(state); // after a turn
 */
export class StatePublisher {
  readonly status$: Observable<NodeStatus>;
  readonly members$: Observable<Membership>;
  readonly leader$: Observable<LeaderInfo | null>;
  readonly role$: Observable<RoleName>;
  readonly term$: Observable<number>;
  private readonly status: BroadcastValue<NodeStatus>;
  private readonly members: BroadcastValue<Membership>;

  constructor(
    private readonly id: NodeId,
    bootstrap: ClusterConfig,
    /** Runs before `members$` emits a new configuration (the transport learns new addresses before anyone reacts). */
    private readonly configChanged: (config: ClusterConfig) => void,
  ) {
    this.status = new BroadcastValue<NodeStatus>({ id, role: 'follower', term: 0, leaderId: null, commitIndex: 0, appliedIndex: 0, lastIndex: 0, stopped: false });
    this.members = new BroadcastValue(toMembership({ index: 0, term: 0, config: bootstrap }, 0));
    this.status$ = this.status.asObservable();
    this.members$ = this.members.asObservable();
    this.leader$ = changesOf<NodeStatus, LeaderInfo | null>(this.status, (s) => (s.leaderId && !s.stopped ? { id: s.leaderId, term: s.term, self: s.leaderId === id } : null), sameLeader);
    this.role$ = changesOf(this.status, roleOf, Object.is);
    this.term$ = changesOf(this.status, termOf, Object.is);
  }

  /** Publishes the state after a turn (allocating nothing when nothing published changed: most turns). */
  publish(s: RaftState): void {
    if (!statusDiffers(this.status.value, s)) return this.publishMembers(s);
    const next: NodeStatus = {
      id: this.id,
      role: s.role.name,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.log.lastIndex,
      stopped: false,
    };
    this.status.next(next);
    this.publishMembers(s);
  }

  private publishMembers(s: RaftState): void {
    const latest = s.configs[s.configs.length - 1];
    const previous = this.members.value;
    if (latest.index === previous.index && (latest.index <= s.commitIndex) === previous.committed) return;
    const next = toMembership(latest, s.commitIndex);
    if (next.index !== previous.index) this.configChanged(latest.config);
    this.members.next(next);
  }

  /** The node stopped: `leader$` turns null, then every stream completes. */
  stop(): void {
    this.status.next({ ...this.status.value, leaderId: null, stopped: true });
    this.status.complete();
    this.members.complete();
  }
}

/** Projections of the status shared by every node (a function made per node is 56 bytes). */
const roleOf = (s: NodeStatus): RoleName => s.role;
const termOf = (s: NodeStatus): number => s.term;

/**
 * `project` of each value of `state` (a `BroadcastValue`: a new subscriber gets its
 * current value), emitted only when it differs by `same` from the last one this
 * subscriber got: a late subscriber gets the current projection at once, then the
 * changes. Each subscription adds one small listener (`Changes`) to `state`, not a
 * subscriber with its observer and closures: a host runs thousands of groups, each
 * followed on `leader$` by the application, the router and the leader balancer.
 *
 * @example
 * const term$ = changesOf(status, (s) => s.term, Object.is);
 * term$.subscribe((t) => console.log('term', t)); // the current term, then each new one
 */
function changesOf<S, T>(state: BroadcastValue<S>, project: (s: S) => T, same: (a: T, b: T) => boolean): Observable<T> {
  return new ChangesOf(state, project, same);
}

/** The observable `changesOf` returns: its parts as fields and one subscribe function shared by all, not a closure per stream (three per node). */
class ChangesOf<S, T> extends Observable<T> {
  constructor(
    private readonly state: BroadcastValue<S>,
    private readonly project: (s: S) => T,
    private readonly same: (a: T, b: T) => boolean,
  ) {
    super(ChangesOf.listenThis);
  }

  private static listenThis<S, T>(this: Observable<T>, subscriber: Subscriber<T>): TeardownLogic {
    const self = this as ChangesOf<S, T>;
    return self.state.listen(new Changes(subscriber, self.project, self.same));
  }
}

/** One subscriber of `changesOf`: the projections it was handed last, and what it is handed next. */
class Changes<S, T> implements BroadcastListener<S> {
  private last: { readonly value: T } | null = null;

  constructor(
    private readonly out: Subscriber<T>,
    private readonly project: (s: S) => T,
    private readonly same: (a: T, b: T) => boolean,
  ) {}

  next(s: S): void {
    const value = this.project(s);
    if (this.last && this.same(this.last.value, value)) return;
    this.last = { value };
    this.out.next(value);
  }

  error(e: unknown): void {
    this.out.error(e);
  }

  complete(): void {
    this.out.complete();
  }
}
