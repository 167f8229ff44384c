import type { SchedulerLike, Subscription } from 'rxjs';
import { RequestTimeoutError } from '../errors';
import type { PendingProposal, ProposalTracker } from './proposals';

/** The proposals a leader appended in one turn, and when they are due. */
interface Batch {
  readonly proposals: readonly PendingProposal[];
  readonly firstIndex: number;
  readonly due: number;
}

export interface ProposalDeadlinesDeps {
  readonly scheduler: SchedulerLike;
  /** How long a proposal may wait after its append (`requestTimeout`). */
  readonly timeout: number;
  readonly tracker: ProposalTracker;
  /** The last index applied here: batches up to it are settled. */
  readonly appliedUpTo: () => number;
  /** Holds the timer: unsubscribing it (the node stops) releases it. */
  readonly owner: Subscription;
}

/**
 * The deadline of a leader's own proposals: one still waiting `timeout` ms after its
 * entry was appended fails with `RequestTimeoutError` (it may still commit), as a
 * forwarded one does. Stepping down settles them sooner (`ProposalDroppedError`), but a
 * leader that keeps its quorum while its entries do not commit — its followers answer
 * heartbeats but their disks hang — held them forever (DESIGN.md invariant 7).
 *
 * One timer at a time, checked at most every quarter of `timeout` (a batch may wait up
 * to `timeout` × 1.25): a batch per turn costs a push, not a timer. Batches already
 * applied are passed over without looking at their proposals. At most the turns of
 * `timeout` × 1.25 are held.
 *
 * @example
 * const deadlines = new ProposalDeadlines({ scheduler, timeout: 600, tracker, appliedUpTo: () => applier.appliedUpTo, owner: subscriptions });
 * deadlines.add(proposals, 42); // appended at 42, 43, ...: each fails at 600-750 ms unless applied before
 */
export class ProposalDeadlines {
  /** Batches in the order appended (their indexes and due times increase), from `head` on. */
  private batches: Batch[] = [];
  private head = 0;
  private timer: Subscription | null = null;

  private readonly scheduler: SchedulerLike;
  private readonly timeout: number;

  constructor(private readonly deps: ProposalDeadlinesDeps) {
    this.scheduler = deps.scheduler;
    this.timeout = deps.timeout;
  }

  /** `proposals` were appended at `firstIndex`, `firstIndex + 1`, ... now. */
  add(proposals: readonly PendingProposal[], firstIndex: number): void {
    if (this.deps.owner.closed) return;
    this.batches.push({ proposals, firstIndex, due: this.scheduler.now() + this.timeout });
    if (!this.timer) this.arm(this.timeout);
  }

  private arm(wait: number): void {
    const timer = (this.timer = this.scheduler.schedule(() => {
      this.deps.owner.remove(timer);
      this.timer = null;
      this.expire();
    }, wait));
    this.deps.owner.add(timer);
  }

  /**
   * Fails the proposals of every batch now due that are still waiting. A batch whose
   * proposals were settled otherwise (applied, or dropped when this leader stepped down)
   * changes nothing: `forget` leaves an index that another proposal holds now.
   */
  private expire(): void {
    const now = this.scheduler.now();
    const applied = this.deps.appliedUpTo();
    const batches = this.batches;
    while (this.head < batches.length && batches[this.head].due <= now) {
      const { proposals, firstIndex } = batches[this.head++];
      if (firstIndex + proposals.length - 1 <= applied) continue;
      const error = new RequestTimeoutError('propose', this.timeout);
      for (let i = 0; i < proposals.length; i++) this.deps.tracker.forget(firstIndex + i, () => error, proposals[i]);
    }
    if (this.head === batches.length) {
      this.batches = [];
      this.head = 0;
      return;
    }
    if (this.head >= 1024) {
      this.batches = batches.slice(this.head);
      this.head = 0;
    }
    this.arm(Math.max(this.batches[this.head].due - now, this.timeout / 4));
  }
}
