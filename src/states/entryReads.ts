import { catchError, defer, map, Observable, of, switchMap, throwError } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { EntryRangeError } from '../errors';
import type { NodeId } from '../messages/types';
import type { EntryReadRequest, RoleContext } from './context';

/**
 * The entries read back from storage for one follower, part of its `replicateTo`
 * pipeline. The rules (`core/send.ts`) ask with a `readEntries` effect when the follower
 * needs entries the leader no longer holds in memory; this pipeline reads them
 * (`Storage.readEntries`) and hands them back as an `entriesRead` event, which the rules
 * turn into an AppendEntries if it is still wanted (`core/entryReads.ts`).
 *
 * - One read per follower at a time: a new request replaces the one in flight
 *   (`switchMap`; the rules only ask again once the previous read failed or stalled),
 *   whose answer is then dropped here.
 * - A range storage cannot serve (`EntryRangeError`: compacted meanwhile) answers with
 *   `entries: null`; the rules retry at the next heartbeat, by then knowing of the
 *   compaction. Any other failure fails the pipeline and with it the node (fail-stop),
 *   as for every storage failure.
 * - Unsubscribing — the node leaves the leader role, or the follower leaves the
 *   configuration — drops a read in flight.
 *
 * ```
 * requests: --r1--------r2------
 * reads:    --(read r1)-(read r2)
 * output:   -------e1--------e2-   (entriesRead)
 * ```
 *
 * @example
 * // inside replicateTo(ctx, peer), at the follower's first read request:
 * entryReads(ctx, peer, reads$).subscribe(events);
 */
export function entryReads(ctx: RoleContext, peer: NodeId, requests$: Observable<EntryReadRequest>): Observable<RaftEvent> {
  return requests$.pipe(
    switchMap((r) =>
      defer(() => ctx.entrySource.readEntries(r.from, r.end, r.maxBytes)).pipe(
        map((entries): RaftEvent => ({ kind: 'entriesRead', to: peer, from: r.from, leaderTerm: r.leaderTerm, entries })),
        catchError((e: unknown) =>
          e instanceof EntryRangeError ? of<RaftEvent>({ kind: 'entriesRead', to: peer, from: r.from, leaderTerm: r.leaderTerm, entries: null }) : throwError(() => e),
        ),
      ),
    ),
  );
}
