import { SchedulerLike, Subscription } from 'rxjs';
import { BroadcastValue } from '../operators/broadcastValue';
import { RequestTimeoutError } from '../errors';
import { whenReached } from '../operators/whenReached';

/**
 * Waits for this node's own apply: a read confirmed at index i, and forwarded proposals
 * the leader appended, are answered once this node has applied them — each wait for at
 * most `timeout` ms, then it fails with `RequestTimeoutError` (a node that cannot catch up
 * must not hold its callers forever; DESIGN.md invariant 7).
 *
 * @example
 * const barrier = new ApplyBarrier(scheduler, 1000);
 * barrier.wait(42, 'read', { resolve: () => done(42), reject: fail });
 * barrier.advance(42); // resolves it
 */
export class ApplyBarrier {
  private readonly applied: BroadcastValue<number>;
  /** Made at the first wait: an idle group never waits. */
  private waits: Map<Subscription, (reason: Error) => void> | null = null;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly timeout: number,
    appliedIndex = 0,
  ) {
    this.applied = new BroadcastValue(appliedIndex);
  }

  /** The application has finished with every entry up to `index`. */
  advance(index: number): void {
    if (index > this.applied.value) this.applied.next(index);
  }

  /** Calls `resolve` once `index` is applied here, or `reject` when the wait times out or the node stops. */
  wait(index: number, kind: 'read' | 'propose', settle: { resolve: () => void; reject: (e: Error) => void }): void {
    if (this.applied.value >= index) return settle.resolve();
    const expired = () => new RequestTimeoutError(kind, this.timeout);
    const subscription: Subscription = whenReached(this.applied, index, { ms: this.timeout, scheduler: this.scheduler, expired }).subscribe({
      next: () => {
        this.waits?.delete(subscription);
        settle.resolve();
      },
      error: (e: Error) => {
        this.waits?.delete(subscription);
        settle.reject(e);
      },
    });
    if (!subscription.closed) (this.waits ??= new Map()).set(subscription, settle.reject);
  }

  /** How many waits are pending. */
  get size(): number {
    return this.waits?.size ?? 0;
  }

  /** Fails every pending wait with `reason` (the node stops). */
  rejectAll(reason: Error): void {
    const waits = [...(this.waits ?? [])];
    this.waits = null;
    for (const [subscription, reject] of waits) {
      subscription.unsubscribe();
      reject(reason);
    }
  }
}
