import type { SchedulerLike, Subscription } from 'rxjs';
import type { ConfigChange } from '../core/membership';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import type { RaftState } from '../core/state';
import { LeadershipTransferError, MembershipChangeError, NotLeaderError } from '../errors';
import { EMPTY_DATA, EntryKind } from '../messages/entry';
import type { NodeId } from '../messages/types';
import type { ProposalTracker } from './proposals';
import type { Membership } from '../api';
import { toMembership } from './status';

interface PendingChange {
  readonly change: ConfigChange;
  readonly resolve: (m: Membership) => void;
  readonly reject: (e: Error) => void;
  readonly deadline: number;
  /** Index of the entry once it committed here; the change is done when the final configuration commits. */
  committedAt: number | null;
  retry: Subscription | null;
  /** Fails the change at `deadline` if nothing settled it before (`expire`). */
  expiry: Subscription | null;
}

interface PendingTransfer {
  readonly requestId: number;
  readonly resolve: (at: { leaderId: NodeId }) => void;
  readonly reject: (e: Error) => void;
  readonly timer: Subscription;
  /** Started when this node stops leading before a new leader is known: the transfer fails when it ends. */
  leaderless: Subscription | null;
}

export interface MembershipRequestsDeps {
  readonly id: NodeId;
  readonly scheduler: SchedulerLike;
  readonly dispatch: (event: RaftEvent) => void;
  readonly nextRequestId: () => number;
  readonly tracker: ProposalTracker;
  /** How often a change that may succeed later (catch-up, a change in flight) is retried. */
  readonly retryInterval: number;
  /** How long a change keeps retrying and waits in all, and a transfer waits at most. */
  readonly timeout: number;
  /** How long a transfer waits for a new leader once this node no longer leads. */
  readonly electionTimeoutMax: number;
  /** Called when proposals must wait (a transfer started) or may go (it ended). */
  readonly holdProposals: (hold: boolean) => void;
}

/**
 * The caller's side of membership changes and leadership transfers: promises, retries
 * while a learner catches up or another change finishes, and completion once the final
 * configuration is committed (joint changes take two entries).
 */
export class MembershipRequests {
  /** Changes asked for, by request id. Made at the first change (most groups never change their membership), as `retrying`. */
  private changes: Map<number, PendingChange> | null = null;
  /** Changes waiting to be asked again (a learner catching up, a change in flight). */
  private retrying: Set<PendingChange> | null = null;
  private transfer: PendingTransfer | null = null;

  constructor(private readonly deps: MembershipRequestsDeps) {}

  /**
   * Asks the core for `change`; retries while it may succeed later, and fails once
   * `timeout` has passed without the final configuration committing here — also after
   * its entry was appended, as when this leader is cut off or deposed before the
   * entry (or, for a joint change, the final one) commits: its outcome is then unknown.
   */
  change(change: ConfigChange): Promise<Membership> {
    return new Promise((resolve, reject) => {
      const pending: PendingChange = {
        change,
        resolve: (m) => {
          pending.expiry?.unsubscribe();
          resolve(m);
        },
        reject: (e) => {
          pending.expiry?.unsubscribe();
          reject(e);
        },
        deadline: this.deps.scheduler.now() + this.deps.timeout,
        committedAt: null,
        retry: null,
        expiry: null,
      };
      pending.expiry = this.deps.scheduler.schedule(() => this.expire(pending), this.deps.timeout);
      this.send(pending);
    });
  }

  transferLeadership(to: NodeId | null): Promise<{ leaderId: NodeId }> {
    if (this.transfer) return Promise.reject(new LeadershipTransferError('a transfer is already in progress'));
    return new Promise((resolve, reject) => {
      const requestId = this.deps.nextRequestId();
      const timer = this.deps.scheduler.schedule(() => this.endTransfer(new LeadershipTransferError('no new leader in time')), this.deps.timeout);
      this.transfer = { requestId, resolve, reject, timer, leaderless: null };
      this.deps.holdProposals(true);
      this.deps.dispatch({ kind: 'transferLeadership', requestId, to });
    });
  }

  /** Handles the effects that concern membership requests; returns whether it did. */
  onEffect(effect: Effect, s: RaftState): boolean {
    switch (effect.type) {
      case 'configChangeAppended': {
        const pending = this.changes?.get(effect.requestId);
        if (!pending) return true;
        const done = {
          kind: EntryKind.Config,
          data: EMPTY_DATA,
          resolve: () => (pending.committedAt = effect.index),
          reject: (e: Error) => this.finish(effect.requestId, e),
          term: 0,
        };
        this.deps.tracker.track([done], effect.index, effect.term);
        return true;
      }
      case 'configChangeRefused': {
        const pending = this.changes?.get(effect.requestId);
        if (!pending) return true;
        this.changes?.delete(effect.requestId);
        if (effect.retry && this.deps.scheduler.now() + this.deps.retryInterval < pending.deadline) {
          (this.retrying ??= new Set()).add(pending);
          pending.retry = this.deps.scheduler.schedule(() => this.send(pending), this.deps.retryInterval);
        } else if (effect.reason === 'not the leader') {
          pending.reject(new NotLeaderError(s.leaderId, s.term));
        } else {
          pending.reject(new MembershipChangeError(effect.reason));
        }
        return true;
      }
      case 'transferAborted':
        if (this.transfer?.requestId === effect.requestId) {
          this.endTransfer(effect.reason === 'not the leader' ? new NotLeaderError(s.leaderId, s.term) : new LeadershipTransferError(effect.reason));
        }
        return true;
      default:
        return false;
    }
  }

  /**
   * After every step: complete changes whose final configuration committed, and transfers
   * that found a new leader; a transfer whose leader stepped down fails if no leader follows in an election timeout.
   */
  afterStep(s: RaftState): void {
    if (!this.changes?.size && !this.transfer) return; // nothing waits: the common turn
    const latest = s.configs[s.configs.length - 1];
    const settled = latest.index <= s.commitIndex && !latest.config.oldVoters;
    for (const [requestId, pending] of this.changes ?? []) {
      if (pending.committedAt !== null && settled && latest.index >= pending.committedAt) {
        this.changes?.delete(requestId);
        pending.resolve(toMembership(latest, s.commitIndex));
      }
    }
    const t = this.transfer;
    if (!t) return;
    if (s.leaderId !== null && s.leaderId !== this.deps.id) this.endTransfer(null, s.leaderId);
    else if (s.role.name !== 'leader' && !t.leaderless) {
      // Stepped down for a newer term (the target's campaign, or another's): a leader should follow within an election timeout.
      const wait = this.deps.electionTimeoutMax;
      t.leaderless = this.deps.scheduler.schedule(() => this.endTransfer(new LeadershipTransferError(`no new leader within ${wait} ms of ${this.deps.id} stepping down`)), wait);
    }
  }

  /** Fails everything still waiting (the node stopped). */
  rejectAll(reason: Error): void {
    for (const pending of [...(this.changes?.values() ?? []), ...(this.retrying ?? [])]) {
      pending.retry?.unsubscribe();
      pending.reject(reason);
    }
    this.changes = null;
    this.retrying = null;
    this.endTransfer(reason);
  }

  private send(pending: PendingChange): void {
    this.retrying?.delete(pending);
    const requestId = this.deps.nextRequestId();
    (this.changes ??= new Map()).set(requestId, pending);
    this.deps.dispatch({ kind: 'changeConfig', requestId, change: pending.change });
  }

  /** The change's deadline passed before its final configuration committed here (it may still commit). */
  private expire(pending: PendingChange): void {
    for (const [requestId, p] of this.changes ?? []) if (p === pending) this.changes?.delete(requestId);
    this.retrying?.delete(pending);
    pending.retry?.unsubscribe();
    const what = pending.committedAt === null ? 'its entry' : 'the final configuration';
    pending.reject(new MembershipChangeError(`${what} did not commit here within ${this.deps.timeout} ms (it may still commit)`));
  }

  private finish(requestId: number, error: Error): void {
    const pending = this.changes?.get(requestId);
    if (!pending) return;
    this.changes?.delete(requestId);
    pending.reject(error);
  }

  private endTransfer(error: Error | null, leaderId?: NodeId): void {
    const t = this.transfer;
    if (!t) return;
    this.transfer = null;
    t.timer.unsubscribe();
    t.leaderless?.unsubscribe();
    if (error) t.reject(error);
    else t.resolve({ leaderId: leaderId! });
    this.deps.holdProposals(false);
  }
}
