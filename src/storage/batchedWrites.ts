/** A call waiting in a `BatchedWrites` queue, settled by the batch that carries it. */
export interface QueuedCall {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** What a storage gives its `BatchedWrites`: how to write one batch, and whether it has failed. */
export interface BatchRunner<Op extends QueuedCall> {
  /**
   * Carries out one batch in call order and settles its calls; on a failure it enters
   * fail-stop (so `failure()` returns it) and rejects what it did not settle.
   */
  readonly runBatch: (batch: Op[]) => Promise<void>;
  /** Work after each batch that the next one must not overtake (e.g. freeing segments). */
  readonly afterBatch?: () => Promise<void>;
  /** The failure the storage entered, if any: no batch runs after it, and every queued call is rejected with it. */
  readonly failure: () => Error | null;
}

/**
 * The write queue of a storage: calls made in one turn of the event loop leave together
 * as one batch (one write and one sync, however many calls), and batches run one after
 * another, never two at once. A call is queued with `push`; the flush starts on the next
 * microtask, so every call of the current turn joins it. After a failure, no batch runs
 * and every queued call is rejected.
 *
 * @example
 * const writes = new BatchedWrites<Op>({ runBatch: (batch) => this.runBatch(batch), failure: () => this.failure });
 * const done = new Promise<void>((resolve, reject) => writes.push({ block, resolve, reject }));
 * await writes.drained(); // nothing is being written any more
 */
export class BatchedWrites<Op extends QueuedCall> {
  private queue: Op[] = [];
  private flushScheduled = false;
  /** The running flush loop, if any. Invariant: at most one batch is in flight. */
  private flushing: Promise<void> | null = null;
  private readonly flushNow = () => this.startFlush();

  constructor(private readonly runner: BatchRunner<Op>) {}

  /** Whether nothing is queued or being written. */
  get idle(): boolean {
    return this.queue.length === 0 && !this.flushing;
  }

  /** Queues a call for the next batch. */
  push(op: Op): void {
    this.queue.push(op);
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Resolves once no batch is being written (after a failure too). */
  async drained(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Rejects every call queued and not yet in a batch (the storage failed). */
  rejectQueued(error: Error): void {
    const queued = this.queue;
    this.queue = [];
    for (const op of queued) op.reject(error);
  }

  private startFlush(): void {
    this.flushScheduled = false;
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = this.flush();
  }

  /** Writes queued batches one after another until the queue is empty or the storage failed. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.runner.failure()) {
      const batch = this.queue;
      this.queue = [];
      await this.runner.runBatch(batch);
      if (this.runner.afterBatch && !this.runner.failure()) await this.runner.afterBatch();
      // Callers resumed by this batch have queued their next calls by now (awaiting
      // runBatch took a turn after it settled them); one more turn catches a second await.
      if (this.queue.length > 0) await Promise.resolve();
    }
    this.flushing = null;
    const failure = this.runner.failure();
    if (failure) this.rejectQueued(failure);
  }
}
