import type { SchedulerLike, Subscription } from 'rxjs';
import { RequestTimeoutError } from '../errors';
import type { ProposalTracker } from './proposals';

/**
 * A leader's own proposal may wait this many `requestTimeout`s after its append, as a
 * membership change may: far past what load makes it wait (64 KiB entries at 1,024
 * proposers took up to ~0.8 s, longer than one `requestTimeout` at the defaults), so only
 * a cluster that cannot commit meets it.
 */
export const PROPOSAL_TIMEOUT_REQUESTS = 5;

/**
 * The indexes of the proposals a leader appended in one turn, their term, and when they
 * are due: no reference to the proposals (their payloads), which would outlive their
 * settling by up to `timeout` × 1.25.
 */
interface Batch {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly term: number;
  readonly due: number;
}

export interface ProposalDeadlinesDeps {
  readonly scheduler: SchedulerLike;
  /** How long a proposal may wait after its append (`requestTimeout` × `PROPOSAL_TIMEOUT_REQUESTS`). */
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
 * forwarded one does after `requestTimeout`. Stepping down settles them sooner (`ProposalDroppedError`), but a
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
 * deadlines.add(42, 3, 7); // three appended at 42, 43, 44 in term 7: each fails at 600-750 ms unless applied before
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

  /** `count` proposals were appended at `firstIndex`, `firstIndex + 1`, ... in `term`, now. */
  add(firstIndex: number, count: number, term: number): void {
    if (this.deps.owner.closed || count === 0) return;
    this.batches.push({ firstIndex, lastIndex: firstIndex + count - 1, term, due: this.scheduler.now() + this.timeout });
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
   * changes nothing: an index another proposal holds now has another term.
   */
  private expire(): void {
    const now = this.scheduler.now();
    const applied = this.deps.appliedUpTo();
    const batches = this.batches;
    while (this.head < batches.length && batches[this.head].due <= now) {
      const { firstIndex, lastIndex, term } = batches[this.head++];
      if (lastIndex <= applied) continue;
      const error = new RequestTimeoutError('propose', this.timeout);
      this.deps.tracker.forgetAppended(firstIndex, lastIndex, term, () => error);
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
