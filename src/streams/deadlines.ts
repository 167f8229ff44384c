import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * Timers for waits a client started, on the node's scheduler: every wait gets one
 * (DESIGN.md invariant 7), and `clear` cancels those still pending when the node stops.
 * A timer that fires is forgotten at once, so the set holds only pending waits.
 *
 * @example
 * const deadlines = new Deadlines(scheduler);
 * const cancel = deadlines.after(600, () => waiter.reject(new RequestTimeoutError('read', 600)));
 * // ...the wait ends in time:
 * cancel();
 */
export class Deadlines {
  private readonly pending = new Set<Subscription>();

  constructor(private readonly scheduler: SchedulerLike) {}

  /** Runs `expire` after `ms` unless the returned function is called first. */
  after(ms: number, expire: () => void): () => void {
    const timer: Subscription = this.scheduler.schedule(() => {
      this.pending.delete(timer);
      expire();
    }, ms);
    this.pending.add(timer);
    return () => {
      if (this.pending.delete(timer)) timer.unsubscribe();
    };
  }

  /** How many waits are still pending. */
  get size(): number {
    return this.pending.size;
  }

  /** Cancels every pending timer (the waits are settled by whoever stops them). */
  clear(): void {
    for (const timer of this.pending) timer.unsubscribe();
    this.pending.clear();
  }
}
