/**
 * Values handed on, in the order they were added, at the next microtask: one microtask
 * however many are added before it runs. A value added while they are being handed on
 * goes behind them in the same run, so the order holds even when handing one on leads
 * straight back here. Used where something must wait until what the current task has
 * queued (a storage write issued, a socket flush) has run first.
 *
 * @example
 * const later = new MicrotaskQueue<number>((n) => console.log(n));
 * later.add(1); later.add(2); // logs 1, 2 once this task's synchronous work is done
 * later.pending;              // true until then
 */
export class MicrotaskQueue<T> {
  private waiting: T[] | null = null;
  private readonly flushNow = () => this.flush();

  constructor(private readonly deliver: (value: T) => void) {}

  /** Whether values wait for their microtask (or are being handed on now). */
  get pending(): boolean {
    return this.waiting !== null;
  }

  add(value: T): void {
    if (!this.waiting) {
      this.waiting = [];
      // A reaction of a settled promise: a microtask queued now, as `queueMicrotask` queues
      // one, without the `AsyncResource` Node wraps each `queueMicrotask` callback in (about
      // 1% of a 64-group host's CPU, at one or two calls per write; more under a debugger).
      void RESOLVED.then(this.flushNow);
    }
    this.waiting.push(value);
  }

  private flush(): void {
    const values = this.waiting ?? [];
    try {
      for (let i = 0; i < values.length; i++) this.deliver(values[i]);
    } catch (error) {
      // Thrown from the microtask, as `queueMicrotask` would (an uncaught exception), not
      // turned into a rejection of the promise reaction nobody handles.
      queueMicrotask(() => {
        throw error;
      });
    } finally {
      this.waiting = null;
    }
  }
}

const RESOLVED: Promise<void> = Promise.resolve();
