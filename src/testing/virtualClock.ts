import { VirtualAction, VirtualTimeScheduler } from 'rxjs';

/**
 * Virtual time for a whole cluster: one `VirtualTimeScheduler` that every node, the
 * in-memory network and storage use, advanced explicitly. Between two virtual instants
 * all settled promises run (storage completions are promises), so a run is a pure
 * function of the seed: no wall clock, no races.
 *
 * @example
 * const clock = new VirtualClock();
 * const node = createRaftNode({ ..., scheduler: clock.scheduler, turnScheduler: clock.scheduler });
 * await clock.advance(1000); // one virtual second, instantly
 */
export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);

  now(): number {
    return this.scheduler.now();
  }

  /** Runs everything due within the next `ms`, then sets the clock to now + ms. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.now() + ms);
  }

  /** Runs everything due up to time `t`, instant by instant, settling promises in between. */
  async advanceTo(t: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.scheduler.actions[0];
      if (!next || next.delay > t) break;
      this.scheduler.maxFrames = next.delay;
      this.scheduler.flush();
      await settle();
    }
    if (t > this.scheduler.frame) this.scheduler.frame = t;
  }

  /** Actions still scheduled (timers, deliveries in flight). */
  get pending(): number {
    return this.scheduler.actions.length;
  }
}

/** Lets every promise callback that is ready run (they are microtasks; this waits for a macrotask). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
