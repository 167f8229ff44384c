import { isObservable, Observable, OperatorFunction, SchedulerLike, Subscriber, Subscription, TeardownLogic } from 'rxjs';
import { listenTo } from './listenTo';

/**
 * What a handler of `applyInOrder` may return: nothing (it finished synchronously), a
 * promise (it finished when the promise resolves), or an observable (it finished at its
 * first value or, if it has none, at its completion).
 */
export type ApplyResult = void | PromiseLike<unknown> | Observable<unknown>;

/**
 * How much `applyInOrder` hands to its handler before it lets the event loop run: at
 * most `maxItems` items, and `maxBytes` by `bytesOf` (one item always fits). Then it
 * acknowledges its progress, schedules the rest as zero-delay work on `scheduler`, and
 * goes on from where it stopped when that work runs — with `setImmediate`, after the I/O
 * that arrived meanwhile (a heartbeat, a vote) has been handled.
 */
export interface ApplySlice<T> {
  readonly scheduler: SchedulerLike;
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly bytesOf: (item: T) => number;
}

/**
 * Runs `handler` for every item of every incoming batch, one item at a time in order,
 * waiting for each asynchronous result before starting the next, and emits
 * acknowledgements: an emitted item means the handler has finished with it and with every
 * item before it. It emits the last finished item of each batch, and before waiting for
 * an asynchronous result also the last item finished before it, so progress is reported
 * as soon as the next wait starts, but not once per item.
 *
 * A handler that returns nothing is the fast path: a batch of such items is handled in
 * one synchronous loop, without a promise or a microtask per item. Batches that arrive
 * while the handler is busy wait in order; a batch that arrives from within the handler
 * (a re-entrant push) is handled after the current item. A handler that throws, a
 * promise that rejects or an observable that errors ends the output with that error;
 * nothing after the failed item is handled. Unsubscribing stops the source and the
 * observable being waited for; a promise being waited for is ignored from then on.
 *
 * The operator holds every batch it has not finished: bound the source (rxraft's engine
 * hands out at most `maxApplyingEntries` / `maxApplyingBytes` beyond the acknowledged index).
 * With a `slice`, it also bounds the work done without a break: however many items wait,
 * and however many arrive from within the handler's acknowledgements, after one slice it
 * acknowledges and yields to `slice.scheduler` before it hands out the next item.
 *
 * ```
 * source:   -[ab]----[c]-[de]|       handler: a, b, d sync; c takes 3 frames; e sync
 * handler:   ab      c--  de
 * output:   -b-----------c-e|        (b: end of batch [ab]; c when done; e: end of [de])
 * ```
 *
 * With `slice` = 2 items (`y`: the loop yields; `h`: work that was waiting meanwhile runs):
 *
 * ```
 * source:   -[abcde]
 * handler:   ab   cd   e
 * loop:        y h  y h
 * output:   -b    d    e
 * ```
 *
 * @example
 * batches$.pipe(applyInOrder((n: number) => (n % 2 ? undefined : sleep(1)))).subscribe((n) => console.log('done up to', n));
 * // batches$.next([1, 2, 3]) → logs "done up to 1" at once, "done up to 3" after the sleep
 * batches$.pipe(applyInOrder(handle, { scheduler: immediateScheduler, maxItems: 256, maxBytes: 1 << 20, bytesOf: (e) => e.data.length }));
 * // batches$.next(entries) with 1,000 entries → 256 handled now, the next 256 after the I/O waiting meanwhile, ...
 */
export function applyInOrder<T>(handler: (item: T) => ApplyResult, slice?: ApplySlice<T>): OperatorFunction<readonly T[], T> {
  return (source) => new Observable<T>((subscriber) => new InOrderRun(handler, subscriber, slice).attach(source));
}

/** One subscription of `applyInOrder`: the batches not yet finished and where the handler is. */
class InOrderRun<T> {
  private readonly queue: (readonly T[])[] = [];
  /** Next item of queue[0] to hand to the handler. */
  private position = 0;
  /** Inside the synchronous loop, or waiting for an asynchronous result. */
  private busy = false;
  private sourceDone = false;
  private closed = false;
  private waiting: Subscription | null = null;
  /** Whether an item finished and was not yet emitted: `lastFinished` (two fields, not an object per applied item). */
  private unacknowledged = false;
  private lastFinished: T | undefined = undefined;
  /** Items and bytes handed out since the last yield (`slice` only). */
  private sliceItems = 0;
  private sliceBytes = 0;
  /** The next slice, scheduled when the loop yielded: busy until it runs. */
  private nextSlice: Subscription | null = null;

  constructor(
    private readonly handler: (item: T) => ApplyResult,
    private readonly subscriber: Subscriber<T>,
    private readonly slice?: ApplySlice<T>,
  ) {}

  attach(source: Observable<readonly T[]>): TeardownLogic {
    // A listener where the source is an inlet (the applier's input): no subscriber (`listenTo`).
    const upstream = listenTo(source, {
      next: (batch) => {
        if (batch.length === 0 || this.closed) return;
        this.queue.push(batch);
        this.drain();
      },
      error: (e: unknown) => this.fail(e),
      complete: () => {
        this.sourceDone = true;
        if (!this.busy && this.queue.length === 0) this.subscriber.complete();
      },
    });
    return () => {
      this.closed = true;
      upstream?.unsubscribe();
      this.waiting?.unsubscribe();
      this.nextSlice?.unsubscribe();
      this.queue.length = 0;
    };
  }

  /** Counts `item` into the current slice; false when it does not fit (one item always does). */
  private fitsSlice(item: T): boolean {
    const slice = this.slice;
    if (!slice) return true;
    const bytes = slice.bytesOf(item);
    if (this.sliceItems > 0 && (this.sliceItems >= slice.maxItems || this.sliceBytes + bytes > slice.maxBytes)) return false;
    this.sliceItems++;
    this.sliceBytes += bytes;
    return true;
  }

  /**
   * Ends the slice: schedules the next one on the slice scheduler and returns true (the
   * loop yields until it runs), or returns false when the scheduler ran it at once (a
   * synchronous scheduler: there is nothing to yield to, the loop goes on).
   */
  private yieldSlice(): boolean {
    this.sliceItems = 0;
    this.sliceBytes = 0;
    let scheduling = true;
    let ranAtOnce = false;
    const next = this.slice!.scheduler.schedule(() => {
      if (scheduling) ranAtOnce = true;
      else this.resume();
    });
    scheduling = false;
    if (ranAtOnce) return false;
    this.nextSlice = next;
    return true;
  }

  /** The next slice starts where the last one stopped. */
  private resume(): void {
    this.nextSlice = null;
    if (this.closed) return;
    this.busy = false;
    this.drain();
  }

  private acknowledge(): void {
    if (!this.unacknowledged) return;
    const item = this.lastFinished as T;
    this.unacknowledged = false;
    this.lastFinished = undefined;
    this.subscriber.next(item);
  }

  private finishedItem(item: T): void {
    this.unacknowledged = true;
    this.lastFinished = item;
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.error(error);
  }

  private finished(item: T): void {
    this.waiting = null;
    if (this.closed) return;
    this.finishedItem(item);
    this.busy = false;
    this.drain();
  }

  /**
   * Waits for an asynchronous result; `finished` continues the loop. Returns true when
   * an observable finished synchronously (then the loop just goes on, without recursion).
   */
  private wait(item: T, result: PromiseLike<unknown> | Observable<unknown>): boolean {
    if (!isObservable(result)) {
      result.then(
        () => this.finished(item),
        (e: unknown) => this.fail(e),
      );
      return false;
    }
    let subscribing = true;
    let done = false;
    const inner = new Subscription();
    const end = () => {
      if (done) return;
      done = true;
      inner.unsubscribe();
      if (!subscribing) this.finished(item);
    };
    const error = (e: unknown) => {
      done = true;
      this.fail(e);
    };
    inner.add(result.subscribe({ next: end, complete: end, error }));
    subscribing = false;
    if (done) {
      inner.unsubscribe();
      return true;
    }
    this.waiting = inner;
    return false;
  }

  private drain(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    while (this.queue.length > 0) {
      if (!this.runBatch(this.queue[0])) return; // failed, closed, or busy until `finished`
      this.queue.shift();
      this.position = 0;
      this.acknowledge();
      if (this.closed) return;
    }
    this.busy = false;
    if (this.sourceDone) this.subscriber.complete();
  }

  /** Hands the rest of `batch` to the handler; false when the loop must stop here. */
  private runBatch(batch: readonly T[]): boolean {
    while (this.position < batch.length) {
      if (!this.fitsSlice(batch[this.position])) {
        this.acknowledge();
        if (this.closed || this.yieldSlice()) return false;
        continue;
      }
      const item = batch[this.position++];
      let result: ApplyResult;
      try {
        result = this.handler(item);
      } catch (e) {
        this.fail(e);
        return false;
      }
      if (this.closed) return false;
      if (isAsync(result)) {
        this.acknowledge();
        if (this.closed || !this.wait(item, result) || this.closed) return false;
      }
      this.finishedItem(item);
    }
    return true;
  }
}

function isAsync(result: ApplyResult): result is PromiseLike<unknown> | Observable<unknown> {
  return result !== undefined && result !== null && (isObservable(result) || typeof (result as PromiseLike<unknown>).then === 'function');
}
