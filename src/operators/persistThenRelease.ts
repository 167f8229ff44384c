import { Observable, OperatorFunction, Subscription } from 'rxjs';
import { listenTo } from './listenTo';

/** A durable write to start at once (log entries, hard state). */
export interface WriteStep<W> {
  readonly write: W;
}

/** Something to let go (a message to send); with `afterWrites`, only once every write before it is durable. */
export interface ReleaseStep<M> {
  readonly release: M;
  readonly afterWrites: boolean;
}

/** What `persistThenRelease` emits: a write that became durable, or a release whose writes are. */
export type PersistOutcome<W, M> = { readonly durable: W } | { readonly released: M };

/** How a write runs: a promise or an observable that completes (or emits) once it is durable. */
export type RunWrite<W> = (write: W) => PromiseLike<unknown> | Observable<unknown>;

/**
 * Starts each write as soon as it arrives (storage serializes them and may batch their
 * fsyncs) and holds back what must wait for them: a release marked `afterWrites` is
 * emitted only once every write that arrived before it is durable — a vote or an
 * AppendEntries acknowledgement never leaves before the state it promises is on disk
 * (DESIGN.md invariant 2; etcd's `msgsAfterAppend`). Other releases pass at once, so a
 * leader replicates while its own write runs. Durable writes are reported in the order
 * they were started, each right after the releases that waited for it (a follower's
 * answer leaves before its node steps the write's completion: one turn sooner). A failed write errors the stream, and nothing held behind it is
 * released: the node stops (fail-stop). The holding queue only has what was started
 * and not yet durable, which storage bounds. A `Listenable` source (the node's durable
 * steps are an `Inlet`) is listened to, with no subscriber (`listenTo`).
 *
 * ```
 * source:   w1 s(afterWrites) m   w2 ...
 * write w1: --------done
 * output:   ---m---[s w1]                 (m passes at once, s waits for w1, then w1 is reported)
 * ```
 *
 * @example
 * steps$.pipe(persistThenRelease((w) => storage.append(w))).subscribe((o) =>
 *   'durable' in o ? loop.dispatch({ kind: 'persisted', ...lastOf(o.durable) }) : transport.send(o.released),
 * );
 */
export function persistThenRelease<W, M>(run: RunWrite<W>): OperatorFunction<WriteStep<W> | ReleaseStep<M>, PersistOutcome<W, M>> {
  return (source) =>
    new Observable<PersistOutcome<W, M>>((subscriber) => {
      /** Writes not yet reported durable and the releases waiting behind them, in arrival order. */
      const queue: ({ write: W; done: boolean } | { held: M })[] = [];
      let writes: Subscription | null = null; // made at the first write run as an observable
      let sourceDone = false;
      const drain = () => {
        while (queue.length > 0 && !subscriber.closed) {
          const head = queue[0];
          if ('write' in head) {
            if (!head.done) return;
            queue.shift();
            // What waited for this write leaves before the write is reported: the report
            // is stepped as a turn of its own, and an acknowledgement must not wait for it.
            while (queue.length > 0 && 'held' in queue[0] && !subscriber.closed) subscriber.next({ released: (queue.shift() as { held: M }).held });
            if (!subscriber.closed) subscriber.next({ durable: head.write });
          } else {
            queue.shift();
            subscriber.next({ released: head.held });
          }
        }
        if (sourceDone && queue.length === 0) subscriber.complete();
      };
      const start = (write: W) => {
        const pending = { write, done: false };
        queue.push(pending);
        const succeed = () => {
          if (pending.done) return;
          pending.done = true;
          drain();
        };
        const fail = (e: unknown) => subscriber.error(e);
        const running = run(write);
        if (running instanceof Observable) {
          (writes ??= new Subscription()).add(running.subscribe({ next: succeed, complete: succeed, error: fail }));
        } else {
          running.then(succeed, fail);
        }
      };
      const upstream = listenTo(source, {
        next(step) {
          if (subscriber.closed) return;
          if ('write' in step) start(step.write);
          else if (step.afterWrites && queue.length > 0) queue.push({ held: step.release });
          else subscriber.next({ released: step.release });
        },
        error: (e) => subscriber.error(e),
        complete() {
          sourceDone = true;
          drain();
        },
      });
      return () => {
        upstream?.unsubscribe();
        writes?.unsubscribe();
        queue.length = 0;
      };
    });
}
