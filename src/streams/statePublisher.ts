import { BehaviorSubject, distinctUntilChanged, map, Observable, shareReplay } from 'rxjs';
import type { ClusterConfig } from '../messages/config';
import type { RaftState, RoleName } from '../core/state';
import type { NodeId } from '../messages/types';
import type { LeaderInfo, Membership, NodeStatus } from '../api';
import { sameLeader, sameStatus, toMembership } from './status';

/**
 * The public state streams of one node, derived from two private subjects: `status$`
 * and `members$` replay the current value and emit only on change; `leader$`, `role$`
 * and `term$` are derived from the status (map → distinctUntilChanged → shareReplay
 * with refCount). `publish` runs after every turn, after the state is final.
 *
 * @example
 * const streams = new StatePublisher('n1', bootstrap);
 * streams.leader$.subscribe((l) => console.log(l?.id));
 * streams.publish(state); // after a turn
 */
export class StatePublisher {
  readonly status$: Observable<NodeStatus>;
  readonly members$: Observable<Membership>;
  readonly leader$: Observable<LeaderInfo | null>;
  readonly role$: Observable<RoleName>;
  readonly term$: Observable<number>;
  private readonly status: BehaviorSubject<NodeStatus>;
  private readonly members: BehaviorSubject<Membership>;

  constructor(
    private readonly id: NodeId,
    bootstrap: ClusterConfig,
  ) {
    this.status = new BehaviorSubject<NodeStatus>({ id, role: 'follower', term: 0, leaderId: null, commitIndex: 0, appliedIndex: 0, lastIndex: 0, stopped: false });
    this.members = new BehaviorSubject(toMembership({ index: 0, term: 0, config: bootstrap }, 0));
    const derive = <T>(project: (s: NodeStatus) => T, same: (a: T, b: T) => boolean = Object.is) =>
      this.status.pipe(map(project), distinctUntilChanged(same), shareReplay({ bufferSize: 1, refCount: true }));
    this.status$ = this.status.asObservable();
    this.members$ = this.members.asObservable();
    this.leader$ = derive<LeaderInfo | null>((s) => (s.leaderId && !s.stopped ? { id: s.leaderId, term: s.term, self: s.leaderId === id } : null), sameLeader);
    this.role$ = derive((s) => s.role);
    this.term$ = derive((s) => s.term);
  }

  /**
   * Publishes the state after a turn. `configChanged` runs before `members$` emits a new
   * configuration (the transport learns new addresses before anyone reacts).
   */
  publish(s: RaftState, configChanged: (config: ClusterConfig) => void): void {
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
    if (!sameStatus(next, this.status.value)) this.status.next(next);
    this.publishMembers(s, configChanged);
  }

  private publishMembers(s: RaftState, configChanged: (config: ClusterConfig) => void): void {
    const latest = s.configs[s.configs.length - 1];
    const previous = this.members.value;
    if (latest.index === previous.index && (latest.index <= s.commitIndex) === previous.committed) return;
    const next = toMembership(latest, s.commitIndex);
    if (next.index !== previous.index) configChanged(latest.config);
    this.members.next(next);
  }

  /** The node stopped: `leader$` turns null, then every stream completes. */
  stop(): void {
    this.status.next({ ...this.status.value, leaderId: null, stopped: true });
    this.status.complete();
    this.members.complete();
  }
}
