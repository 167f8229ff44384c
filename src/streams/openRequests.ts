import type { SchedulerLike, Subscription } from 'rxjs';
import { RequestTimeoutError } from '../errors';

/** Someone waiting on a request: a proposal or a read made on this node. */
export interface Waiter {
  readonly reject: (error: Error) => void;
}

/** A request sent to the leader (or answered by this node's own core), with who waits for it. */
export interface OpenRequest<W extends Waiter = Waiter> {
  readonly kind: 'propose' | 'read';
  readonly waiters: readonly W[];
}

/**
 * The requests this node has sent and not yet had answered, by request id: forwarded
 * proposals and reads. Each fails with `RequestTimeoutError` after `timeout` ms unless
 * `close` takes it first, so no caller waits forever on a leader that went away
 * (DESIGN.md invariant 7). Their number is bounded by the turns in `timeout` (one
 * request per kind per turn).
 *
 * @example
 * const requests = new OpenRequests(scheduler, 1000);
 * requests.open(7, { kind: 'read', waiters });
 * // ...the answer arrives:
 * const answered = requests.close(7); // undefined if it had already timed out
 */
export class OpenRequests<R extends OpenRequest> {
  /** Made at the first request: an idle group never opens one. */
  private pending: Map<number, { readonly request: R; readonly timer: Subscription }> | null = null;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly timeout: number,
  ) {}

  /** Registers `request` under `requestId`; returns the id. */
  open(requestId: number, request: R): number {
    const timer = this.scheduler.schedule(() => {
      if (!this.pending?.delete(requestId)) return;
      const error = new RequestTimeoutError(request.kind, this.timeout);
      for (const w of request.waiters) w.reject(error);
    }, this.timeout);
    (this.pending ??= new Map()).set(requestId, { request, timer });
    return requestId;
  }

  /** Takes the request answered now, or undefined if it timed out or was never opened. */
  close(requestId: number): R | undefined {
    const open = this.pending?.get(requestId);
    if (!open) return undefined;
    this.pending?.delete(requestId);
    open.timer.unsubscribe();
    return open.request;
  }

  /** How many requests are waiting for an answer. */
  get size(): number {
    return this.pending?.size ?? 0;
  }

  /** Fails every open request with `reason` (the node stops). */
  rejectAll(reason: Error): void {
    const pending = this.pending;
    this.pending = null;
    for (const { request, timer } of pending?.values() ?? []) {
      timer.unsubscribe();
      for (const w of request.waiters) w.reject(reason);
    }
  }
}
