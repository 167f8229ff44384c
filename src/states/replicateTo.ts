import { Observable, Subject } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { NodeId } from '../messages/types';
import { listenTo } from '../operators/listenTo';
import type { EntryReadRequest, LeaderSend, RoleContext, SnapshotTransferRequest } from './context';
import { snapshotTransfer } from './snapshotTransfer';
import { entryReads } from './entryReads';

/**
 * The leader's pipeline for one follower: everything the leader sends it and everything
 * it answers goes through here. The rules (`core/send.ts`, `core/replication.ts`,
 * `core/snapshots.ts`) decide what to send and what an answer means; this pipeline routes.
 *
 * - Its AppendEntries (probes, replication, heartbeats, commit notices) leave at once, in
 *   the order the rules produced them. The rules never mark them `afterPersist`: a leader
 *   replicates while its own write runs (`LeaderSend`).
 * - Its snapshot chunks are read and sent by `snapshotTransfer`; entries no longer held
 *   in memory are read back from storage by `entryReads` (the rules then send them). Each
 *   of the two is built at the first request for it: most followers never need either,
 *   and a leader of many idle groups keeps neither per follower.
 * - Its AppendEntriesResponse and InstallSnapshotResponse come out as events for the loop.
 *
 * Unsubscribing — the node leaves the leader role, or the follower leaves the
 * configuration — stops all three at once: a late answer from a removed follower, or one
 * to a past leadership, is dropped here, never stepped; so is a send to a follower whose
 * pipeline is gone (like a lost message). Nothing is allocated per message: each
 * follower filters the shared streams.
 *
 * ```
 * sends$:     --a1--------a2-------     (to this follower)
 * responses$: ------r1----------r2-     (from this follower)
 * sent:       --a1--------a2-------
 * output:     ------r1----------r2-
 * ```
 *
 * @example
 * // inside the leader pipeline, one per follower:
 * ctx.followers$.pipe(mergeKeyed((peer) => replicateTo(ctx, peer)));
 */
export function replicateTo(ctx: RoleContext, peer: NodeId): Observable<RaftEvent> {
  // What merge(sends$.pipe(tap(send), ignoreElements()), responses$, snapshotTransfer, entryReads)
  // does, in one plain subscription per source: a leader runs this for each follower of
  // each group it leads, and the operator chain cost it about a kilobyte each.
  return new Observable<RaftEvent>((subscriber) => {
    let open = 3; // the sends, the responses and the requests; one more for each request pipeline built
    const fail = (e: unknown) => subscriber.error(e);
    const done = () => {
      if (--open === 0) subscriber.complete();
    };
    const events = { next: (e: RaftEvent) => subscriber.next(e), error: fail, complete: done };
    let chunks: Subject<SnapshotTransferRequest> | null = null;
    let reads: Subject<EntryReadRequest> | null = null;
    /** Builds a request pipeline at its first request; it gets the requests of its kind from then on. */
    const build = <R>(pipeline: (requests$: Observable<R>) => Observable<RaftEvent>): Subject<R> => {
      const requests = new Subject<R>();
      open++;
      subscriber.add(pipeline(requests).subscribe(events));
      return requests;
    };
    // The three channels are the role switch's (`PeerChannels`): listeners, no subscriber each (`listenTo`).
    const send = (m: LeaderSend) => {
      if (!subscriber.closed) ctx.transport.send(peer, m.message);
    };
    subscriber.add(listenTo(ctx.sendsTo(peer), { next: send, error: fail, complete: done }));
    if (!subscriber.closed) subscriber.add(listenTo(ctx.responsesFrom(peer), events));
    if (subscriber.closed) return;
    subscriber.add(
      listenTo(ctx.requestsTo(peer), {
        next: (r) => {
          if (subscriber.closed) return;
          if (r.type === 'readEntries') (reads ??= build((r$: Observable<EntryReadRequest>) => entryReads(ctx, peer, r$))).next(r);
          else (chunks ??= build((r$: Observable<SnapshotTransferRequest>) => snapshotTransfer(ctx, peer, r$))).next(r);
        },
        error: fail,
        complete: () => {
          chunks?.complete();
          reads?.complete();
          done();
        },
      }),
    );
  });
}
