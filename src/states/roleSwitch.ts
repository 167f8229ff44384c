import { BehaviorSubject, EMPTY, Observable, Subject, switchMap } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { RaftState, RoleName } from '../core/state';
import type { NodeId } from '../messages/types';
import type { RoleContext, SnapshotChunkRequest } from './context';
import { followersOf } from './followers';
import { rolePipelines } from './index';

/**
 * The role pipelines of one node, switched with its role: `events$` is
 * `role$.pipe(switchMap(role => pipelines[role](ctx)))`, so leaving a role (or starting
 * a new epoch of it) unsubscribes every timer and stream of the old one at once, and
 * nothing of it can fire afterwards. `follow` runs after every turn: it hands the rules'
 * election deadline and the leader's followers to the pipelines, then switches if the
 * role or epoch changed.
 *
 * @example
 * const roles = new RoleSwitch({ id: 'n1', scheduler, heartbeatInterval: 50, snapshotSource: storage, transport });
 * roles.events$.subscribe((e) => loop.next(e));
 * const previous = roles.follow(state); // after each turn
 */
export class RoleSwitch {
  private readonly current = new BehaviorSubject<{ readonly role: RoleName; readonly epoch: number } | null>(null);
  /** `RaftState.electionDeadline` as of the last turn, for the follower and candidate pipelines. */
  private readonly deadline = new BehaviorSubject<number>(Infinity);
  /** The peers the leader replicates to (`followersOf`), for its per-follower pipelines. */
  private readonly followers = new BehaviorSubject<readonly NodeId[]>([]);
  /** The rules' `sendSnapshotChunk` effects, for the leader's per-follower pipelines. */
  private readonly snapshotChunks = new Subject<SnapshotChunkRequest>();
  readonly events$: Observable<RaftEvent>;

  constructor(context: Omit<RoleContext, 'electionDeadline$' | 'followers$' | 'snapshotChunks$'>) {
    const ctx: RoleContext = {
      ...context,
      ...{ electionDeadline$: this.deadline.asObservable(), followers$: this.followers.asObservable(), snapshotChunks$: this.snapshotChunks.asObservable() },
    };
    this.events$ = this.current.pipe(switchMap((r) => (r ? rolePipelines[r.role](ctx, r.epoch) : EMPTY)));
  }

  /**
   * Publishes the election deadline and the followers (before a new role's pipeline
   * subscribes to them; both only when changed, so nothing runs per AppendEntries), then
   * switches pipelines if the role or its epoch changed. Returns the role left, if any.
   */
  follow(s: RaftState): RoleName | null {
    if (s.electionDeadline !== this.deadline.value) this.deadline.next(s.electionDeadline);
    const followers = followersOf(s, this.followers.value);
    if (followers !== this.followers.value) this.followers.next(followers);
    const current = this.current.value;
    if (current && current.epoch === s.epoch && current.role === s.role.name) return null;
    this.current.next({ role: s.role.name, epoch: s.epoch });
    return current?.role ?? null;
  }

  /** Hands a `sendSnapshotChunk` effect to the leader's pipeline for its follower (`replicateTo`). */
  sendSnapshotChunk(request: SnapshotChunkRequest): void {
    this.snapshotChunks.next(request);
  }

  /** Ends every pipeline (the node stops). */
  stop(): void {
    this.current.complete();
    this.deadline.complete();
    this.followers.complete();
    this.snapshotChunks.complete();
  }
}
