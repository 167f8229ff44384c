import { asapScheduler, asyncScheduler, SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

/**
 * The production sources of time and chance. This is the only module in `src/` that
 * may use the wall clock or unseeded randomness (DESIGN.md invariant 3); everything
 * else takes a `SchedulerLike` and a `random` function as options.
 */
export const defaultScheduler: SchedulerLike = {
  /**
   * A monotonic clock, not the wall clock: the leader's lease and CheckQuorum compare
   * times, and a wall clock stepped back (NTP, an operator, a VM restored) would make a
   * lease look valid for longer than it is, letting a deposed leader serve stale reads.
   */
  now: () => performance.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return asyncScheduler.schedule(work, delay, state);
  },
};


export const defaultRandom: () => number = () => Math.random();

/**
 * A scheduler whose turn ends when Node's event loop finishes its current I/O phase
 * (`setImmediate`), rather than after the current callback's microtasks (`asapScheduler`).
 * rxraft's default `turnScheduler`.
 *
 * Why: requests arrive one socket callback each, and microtasks run between callbacks,
 * so with `asapScheduler` every request's `propose()` became a batch of one — one
 * AppendEntries per follower per request. Ending the turn at `setImmediate`
 * gathers every request read in the same loop iteration into one batch: one append, one
 * fsync, one AppendEntries per follower. The cost is at most one loop iteration of delay.
 * Delays other than 0 fall back to `setTimeout`.
 *
 * Every zero-delay action of the process due at the same check phase runs in one
 * `setImmediate` callback, in the order scheduled (`ImmediateQueue`): the turns of many
 * nodes (the groups of a host) then end together, before the microtasks run, so the
 * messages they send travel in one frame per peer (the transport flushes on a microtask)
 * and their writes in one batch of the storage. With one `setImmediate` per action, each
 * group's turn was followed by its own frame and its own storage batch (issue 19).
 *
 * @example
 * proposals$.pipe(batchPerTurn(immediateScheduler)); // one batch per I/O phase
 */
export const immediateScheduler: SchedulerLike = {
  now: () => performance.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
    const action = new ImmediateAction(work);
    return action.schedule(state, delay);
  },
};

/** What an action left to run at the next check phase: `run`, until it ran or was cancelled (then null). */
interface DueImmediate {
  run: (() => void) | null;
}

/**
 * The zero-delay work of every `immediateScheduler` action of the process, run by one
 * `setImmediate` callback per check phase. Work scheduled while it runs (or by the
 * microtasks after it) waits for the next check phase, as with `setImmediate`. A throw
 * does not stop the other actions of the phase; the first one is rethrown after them
 * (an uncaught exception, as it would have been from its own `setImmediate`). Bounded by
 * what one loop iteration schedules: cancelled entries are dropped at the next phase.
 */
class ImmediateQueue {
  private due: DueImmediate[] = [];
  private scheduled = false;
  private readonly runDue = () => this.runAll();

  add(run: () => void): DueImmediate {
    const entry: DueImmediate = { run };
    this.due.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.runDue);
    }
    return entry;
  }

  private runAll(): void {
    this.scheduled = false;
    const due = this.due;
    this.due = [];
    let failure: { error: unknown } | null = null;
    for (const entry of due) {
      const run = entry.run;
      if (run === null) continue;
      entry.run = null;
      try {
        run();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}

const immediates = new ImmediateQueue();

class ImmediateAction<T> extends Subscription implements SchedulerAction<T> {
  private pending: { cancel: () => void } | null = null;

  constructor(private readonly work: (this: SchedulerAction<T>, state: T) => void) {
    super(() => this.pending?.cancel());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.pending?.cancel();
    const run = () => {
      this.pending = null;
      if (!this.closed) this.work.call(this, state as T);
    };
    if (delay > 0) {
      const timer = setTimeout(run, delay);
      this.pending = { cancel: () => clearTimeout(timer) };
    } else {
      const entry = immediates.add(run);
      this.pending = { cancel: () => void (entry.run = null) };
    }
    return this;
  }
}

/**
 * End-of-turn batching: proposals of one event-loop I/O phase become one append, one
 * fsync and one message per follower.
 */
export const defaultTurnScheduler: SchedulerLike = immediateScheduler;

/**
 * Where the TCP transport gathers a peer's messages into one socket write: at the end of
 * the current callback (microtask). Everything a step sends goes out in one write, right
 * away, instead of one event-loop iteration later (`immediateScheduler`): a message hop
 * no longer waits for the sender's loop to come round, so every round trip is shorter.
 * Measured with `npm run bench` (runs alternated): 256 proposers 52-57k -> 70-87k
 * writes/s, 64 HTTP clients 7.2-9.8k -> 11.0-12.5k writes/s.
 */
export const defaultTransportTurnScheduler: SchedulerLike = asapScheduler;
