import { interval, Observable, SchedulerLike, share } from 'rxjs';

/**
 * The heartbeat clocks a host hands its groups (`RaftNodeOptions.heartbeatTicks`): one per
 * scheduler and interval, shared by every group that uses them. The leaders of a host's
 * groups then heartbeat in the same turn, so their AppendEntries to each other host
 * leave in one frame, and a host runs one heartbeat timer instead of one per group it
 * leads. A clock runs only while some leader listens (`share` with reference counting).
 *
 * @example
 * const clocks = new HeartbeatClocks();
 * const ticks = clocks.for(asyncScheduler, 50);
 * clocks.for(asyncScheduler, 50) === ticks; // true: every group at 50 ms shares it
 */
export class HeartbeatClocks {
  private readonly clocks = new Map<SchedulerLike, Map<number, Observable<number>>>();

  for(scheduler: SchedulerLike, intervalMs: number): Observable<number> {
    let byInterval = this.clocks.get(scheduler);
    if (!byInterval) this.clocks.set(scheduler, (byInterval = new Map()));
    let clock = byInterval.get(intervalMs);
    if (!clock) byInterval.set(intervalMs, (clock = interval(intervalMs, scheduler).pipe(share())));
    return clock;
  }
}
