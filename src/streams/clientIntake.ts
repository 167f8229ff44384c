import { map, merge, Observable, SchedulerLike, Subject } from 'rxjs';
import type { RaftEvent } from '../core/events';
import type { EntryKind } from '../messages/entry';
import { batchPerTurn } from '../operators/batchPerTurn';
import type { OpenRequests } from './openRequests';
import type { PendingProposal } from './proposals';

/** A `read()` call waiting for its index to be applied. */
export interface PendingRead {
  readonly lease: boolean;
  readonly resolve: (at: { index: number }) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Most command bytes one turn hands to the node as one `propose` event; proposals beyond
 * it wait, in order, for the next turns, so one turn's append, encode and send stay short
 * and heartbeats are not held behind it (DESIGN.md invariant 7).
 */
export const MAX_BATCH_BYTES = 4 << 20;

/** A request waiting for an answer from the leader (or from this node's own reads). */
export type ClientRequest = { readonly kind: 'propose'; readonly waiters: readonly PendingProposal[] } | { readonly kind: 'read'; readonly waiters: readonly PendingRead[] };

/**
 * Where `propose()` and `read()` calls enter the node: each kind is gathered per turn
 * (`batchPerTurn`) into one event, so the proposals of one turn become one log append,
 * one fsync and one AppendEntries per follower, and the reads of one turn one ReadIndex
 * round. One turn's proposals carry at most `maxBatchBytes` of commands (default
 * `MAX_BATCH_BYTES`; a larger command goes alone); the rest follow on the next turns, in
 * order. During a leadership transfer proposals are held and released afterwards, to
 * whoever leads then.
 *
 * @example
 * const intake = new ClientIntake(turnScheduler, requests, () => ++lastRequestId);
 * intake.events$.subscribe((e) => loop.next(e));
 * await intake.propose(EntryKind.Command, bytes);
 */
export class ClientIntake {
  /** Proposals and reads of the current turn (and proposals held during a transfer), for `rejectAll`. */
  private readonly unbatched = new Set<PendingProposal | PendingRead>();
  private readonly proposals = new Subject<PendingProposal>();
  private readonly reads = new Subject<PendingRead>();
  /** Proposals held back while a leadership transfer is under way; null when not holding. */
  private held: PendingProposal[] | null = null;
  /** The `propose` and `read` events, one of each kind per turn at most. */
  readonly events$: Observable<RaftEvent>;

  constructor(
    turnScheduler: SchedulerLike,
    requests: OpenRequests<ClientRequest>,
    nextRequestId: () => number,
    maxBatchBytes = MAX_BATCH_BYTES,
  ) {
    const proposals$ = this.proposals.pipe(
      batchPerTurn(turnScheduler, { max: maxBatchBytes, weigh: (p: PendingProposal) => p.data.length }),
      map((batch): RaftEvent => {
        for (const p of batch) this.unbatched.delete(p);
        const commands = batch.map((p) => ({ kind: p.kind, data: p.data }));
        return { kind: 'propose', commands, tokens: batch, requestId: nextRequestId() };
      }),
    );
    const reads$ = this.reads.pipe(
      batchPerTurn(turnScheduler),
      map((batch): RaftEvent => {
        for (const r of batch) this.unbatched.delete(r);
        // One request per turn; a lease read may ride along with a confirmed one, not the reverse.
        const requestId = requests.open(nextRequestId(), { kind: 'read', waiters: batch });
        return { kind: 'read', requestId, lease: batch.every((r) => r.lease) };
      }),
    );
    this.events$ = merge(proposals$, reads$);
  }

  /** Queues a proposal for the next batch (or behind held ones); settles when it is applied here. */
  propose(kind: EntryKind, data: Uint8Array): Promise<{ index: number; term: number }> {
    return new Promise((resolve, reject) => {
      const proposal: PendingProposal = { kind, data, resolve, reject };
      this.unbatched.add(proposal);
      if (this.held) this.held.push(proposal);
      else this.proposals.next(proposal);
    });
  }

  /** Queues a read for the next batch; settles once its index is applied here. */
  read(lease: boolean): Promise<{ index: number }> {
    return new Promise((resolve, reject) => {
      const read: PendingRead = { lease, resolve, reject };
      this.unbatched.add(read);
      this.reads.next(read);
    });
  }

  /** While a transfer is under way, proposals wait; afterwards they go to whoever leads. */
  holdProposals(hold: boolean): void {
    if (hold) {
      this.held ??= [];
      return;
    }
    const held = this.held ?? [];
    this.held = null;
    for (const p of held) this.proposals.next(p);
  }

  /** Fails every call not yet handed to the node, and takes no more. */
  rejectAll(reason: Error): void {
    this.proposals.complete();
    this.reads.complete();
    for (const waiting of this.unbatched) waiting.reject(reason);
    this.unbatched.clear();
    this.held = null;
  }
}
