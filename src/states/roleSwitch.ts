import { Observable, Subscription } from 'rxjs';
import { Broadcast } from '../operators/broadcast';
import { BroadcastValue } from '../operators/broadcastValue';
import { listenTo } from '../operators/listenTo';
import type { RaftEvent } from '../core/events';
import type { RaftState, RoleName } from '../core/state';
import type { NodeId } from '../messages/types';
import type { EntryReadRequest, FollowerRequest, InboundMessage, LeaderSend, RoleContext, SnapshotTransferRequest } from './context';
import { followersOf } from './followers';
import { rolePipelines } from './index';
import { PeerChannels } from './peerChannels';
import { wakeEvent } from './quiet';
import { isReplicationResponse, isRoutedResponse } from './responses';

type RoleEpoch = { readonly role: RoleName; readonly epoch: number };

/**
 * The role pipelines of one node, switched with its role: `events$` is
 * `role$.pipe(switchMap(role => pipelines[role](ctx)))`, so leaving a role (or starting
 * a new epoch of it) unsubscribes every timer and stream of the old one at once, and
 * nothing of it can fire afterwards. `follow` runs after every turn: it hands the rules'
 * election deadline and the leader's followers to the pipelines, then switches if the
 * role or epoch changed. The leader's AppendEntries (`replicate`) and the responses the
 * pipelines take (`take`) are routed through the pipelines, so what belongs to a
 * role, an epoch or a follower that is gone is dropped by unsubscription.
 *
 * @example
 * const roles = new RoleSwitch({ id: 'n1', scheduler, heartbeatInterval: 50, snapshotSource: storage, entrySource: storage, transport });
 * merge(inbound$.pipe(filter((e) => !roles.take(e))), roles.events$).subscribe((e) => loop.next(e));
 * roles.replicate({ to: 'n2', message: appendEntries }, state); // an effect of a turn
 * const previous = roles.follow(state); // after each turn
 */
export class RoleSwitch {
  /** The role and epoch whose pipeline runs. */
  private readonly current = new BroadcastValue<RoleEpoch | null>(null);
  /** The role and epoch as of the last `follow` (the pipeline may have switched before, in `replicate`). */
  private followed: RoleEpoch | null = null;
  /** `RaftState.electionDeadline` as of the last turn, for the follower and candidate pipelines. */
  private readonly deadline = new BroadcastValue<number>(Infinity);
  /** `RaftState.electionDeadlineOnNews` as of the last turn (read by the follower's timer when it runs late). */
  private deadlineOnNews = false;
  /** `RaftState.quiet` as of the last turn: a quiet leader stops ticking (see `unlessQuiet`). */
  private readonly quiet = new BroadcastValue<boolean>(false);
  /** The peers the leader replicates to (`followersOf`), for its per-follower pipelines. */
  private readonly followers = new BroadcastValue<readonly NodeId[]>([]);
  /** The rules' `sendSnapshotChunk`, `parkSnapshotTransfer` and `readEntries` effects, routed to the pipeline of the follower each is for. */
  private readonly requests = new PeerChannels<FollowerRequest>();
  /** The leader's AppendEntries, routed to the pipeline of the follower each is for. */
  private readonly sends = new PeerChannels<LeaderSend>();
  /** AppendEntries and InstallSnapshot responses, routed to the pipeline of the follower that sent each. */
  private readonly replies = new PeerChannels<InboundMessage>();
  /** Vote responses, for the candidate's pipelines. */
  private readonly votes = new Broadcast<InboundMessage>();
  readonly events$: Observable<RaftEvent>;

  constructor(context: Omit<RoleContext, 'electionDeadline$' | 'electionDeadlineOnNews' | 'quiet$' | 'followers$' | 'requestsTo' | 'sendsTo' | 'responsesFrom' | 'voteResponses$'>) {
    // One literal, no spreads: objects built by spreading got a hidden class of their own
    // per node (measured: ~300 bytes of shape each), and a host builds thousands.
    const { id, scheduler, heartbeatInterval, stallGrace, heartbeats$, wakeups$, snapshotSource, entrySource, transport } = context;
    const ctx: RoleContext = {
      id, scheduler, heartbeatInterval, stallGrace, heartbeats$, wakeups$, snapshotSource, entrySource, transport,
      electionDeadline$: this.deadline, electionDeadlineOnNews: () => this.deadlineOnNews, followers$: this.followers,
      quiet$: this.quiet,
      sendsTo: (peer: NodeId) => this.sends.of(peer), responsesFrom: (peer: NodeId) => this.replies.of(peer),
      requestsTo: (peer: NodeId) => this.requests.of(peer), voteResponses$: this.votes,
    };
    this.events$ = switchedRoles(ctx, this.current);
  }

  /**
   * Publishes the election deadline and the followers (before a new role's pipeline
   * subscribes to them; both only when changed, so nothing runs per AppendEntries), then
   * switches pipelines if the role or its epoch changed. Returns the role left since the
   * last `follow`, if any (even when `replicate` already switched the pipeline).
   */
  follow(s: RaftState): RoleName | null {
    this.update(s);
    const followed = this.followed;
    if (followed && followed.epoch === s.epoch && followed.role === s.role.name) return null;
    this.followed = this.current.value;
    return followed?.role ?? null;
  }

  /**
   * Sends a leader's AppendEntries through the pipeline for its follower. With the state
   * of the turn that produced it, the pipelines are brought up to that turn first — a
   * turn that makes this node leader, or adds a follower, sends to pipelines that `follow`
   * would only start at its end. Without (a commit notice sent between turns), they are
   * as of the last turn. A send for which no pipeline runs (this node no longer leads,
   * or no longer replicates to `to`) is dropped, like a lost message.
   */
  replicate(send: LeaderSend, s?: RaftState): void {
    if (s) this.update(s);
    this.sends.next(send.to, send);
  }

  /**
   * Hands a routed response (`isRoutedResponse`) to the pipeline that takes it and returns
   * true: the loop must not step it, it reaches the loop only through the current
   * pipeline, and only if that asked for it (a leader's, from a follower it replicates
   * to; a campaign's, for its kind of vote). False for every other event. The node calls
   * it where it accepts messages, so no filter runs per group.
   */
  take(e: RaftEvent): boolean {
    if (e.kind !== 'message' || !isRoutedResponse(e.message.type)) return false;
    if (isReplicationResponse(e.message.type)) this.replies.next(e.from, e);
    else this.votes.next(e);
    return true;
  }

  /** Publishes the deadline, quiescence and the followers (only when changed), then switches pipelines if the role or epoch changed. */
  private update(s: RaftState): void {
    this.deadlineOnNews = s.electionDeadlineOnNews;
    if (s.electionDeadline !== this.deadline.value) this.deadline.next(s.electionDeadline);
    if (s.quiet !== this.quiet.value) this.quiet.next(s.quiet);
    const followers = followersOf(s, this.followers.value);
    if (followers !== this.followers.value) this.followers.next(followers);
    const current = this.current.value;
    if (current && current.epoch === s.epoch && current.role === s.role.name) return;
    this.current.next({ role: s.role.name, epoch: s.epoch });
  }

  /**
   * Hands a `sendSnapshotChunk` or `parkSnapshotTransfer` effect to the leader's pipeline
   * for its follower (`replicateTo`): it sends the chunk, or closes its reader.
   */
  snapshotTransfer(request: SnapshotTransferRequest): void {
    this.requests.next(request.to, request);
  }

  /**
   * Hands a `readEntries` effect to the leader's pipeline for its follower
   * (`replicateTo`), with the pipelines brought up to the turn that asked (as `replicate`
   * does). A request for which no pipeline runs is dropped; the rules ask again after
   * `stallTicks` heartbeat ticks.
   */
  readEntries(request: EntryReadRequest, s: RaftState): void {
    this.update(s);
    this.requests.next(request.to, request);
  }

  /** Ends every pipeline (the node stops). */
  stop(): void {
    this.current.complete();
    this.deadline.complete();
    this.quiet.complete();
    this.followers.complete();
    this.requests.complete();
    this.sends.complete();
    this.replies.complete();
    this.votes.complete();
  }
}

/**
 * The events of the role pipelines and of the host's wake-ups, which reach the node in
 * every role (they wake it if quiet, and tell it which hosts are silent):
 * `merge(wakeEvents(ctx), current$.pipe(switchMap((r) => (r ? rolePipelines[r.role](ctx, r.epoch) : EMPTY))))`
 * in one subscriber per source. Every group of a host runs one, and the operator chain
 * (a merge with its inner subscribers, a map, a switchMap) cost each group more than
 * its quiet role pipeline.
 *
 * ```
 * current$:  f-------l---------
 * wakeups$:  ----w-------------
 * output:    --F-W----L--L--L--   (F: the follower pipeline's events, L: the leader's; the follower's unsubscribed at l)
 * ```
 */
function switchedRoles(ctx: RoleContext, current$: Observable<RoleEpoch | null>): Observable<RaftEvent> {
  return new Observable<RaftEvent>((subscriber) => {
    let open = 2; // the wake-ups, and the switch (with its current pipeline)
    const ended = () => {
      if (--open === 0) subscriber.complete();
    };
    let pipeline: Subscription | null = null;
    /** A token of the pipeline running now (null: none, or it completed). */
    let active: object | null = null;
    let switchDone = false;
    const fail = (e: unknown) => subscriber.error(e);
    const wake = (w: unknown) => {
      if (!subscriber.closed) subscriber.next(wakeEvent(w));
    };
    const wakes = ctx.wakeups$ ? listenTo(ctx.wakeups$, { next: wake, error: fail, complete: ended }) : null;
    if (!ctx.wakeups$) ended();
    // A listener on the role switch's own broadcast (`listenTo`): no subscriber of its own.
    const roles = listenTo(current$, {
      next(r) {
        if (subscriber.closed) return; // let go during the broadcast's `next`
        pipeline?.unsubscribe();
        pipeline = null;
        active = null;
        if (!r) return;
        const token = {};
        active = token;
        const running = rolePipelines[r.role](ctx, r.epoch).subscribe({
          next: (e) => subscriber.next(e),
          error: fail,
          complete: () => {
            if (active !== token) return;
            active = null;
            if (switchDone) ended();
          },
        });
        if (active === token) pipeline = running;
      },
      error: fail,
      complete: () => {
        switchDone = true;
        if (!active) ended();
      },
    });
    return () => {
      wakes?.unsubscribe();
      roles?.unsubscribe();
      pipeline?.unsubscribe();
    };
  });
}
