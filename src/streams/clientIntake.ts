import { Observable, SchedulerLike, Subject, Subscriber, Subscription } from 'rxjs';
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
 * Each kind's batching starts at the first call of that kind, not on subscription: the
 * many idle groups of a host never propose or read, and keep no pipeline for it.
 *
 * @example
 * const intake = new ClientIntake(turnScheduler, requests, () => ++lastRequestId);
 * intake.events$.subscribe((e) => loop.next(e));
 * await intake.propose(EntryKind.Command, bytes);
 */
export class ClientIntake {
  /** Proposals and reads of the current turn (and proposals held during a transfer), for `rejectAll`. Made at the first call. */
  private unbatched: Unbatched<PendingProposal | PendingRead> | null = null;
  /** The lanes of the subscription to `events$`; null while none (a call then goes nowhere, as to a subject nobody listens to). */
  private lanes: { readonly out: Subscriber<RaftEvent>; readonly proposals: Lane<PendingProposal>; readonly reads: Lane<PendingRead> } | null = null;
  /** Proposals held back while a leadership transfer is under way; null when not holding. */
  private held: PendingProposal[] | null = null;
  private closed = false;
  /** The `propose` and `read` events, one of each kind per turn at most. One subscriber at a time (the node's loop). */
  readonly events$: Observable<RaftEvent>;

  constructor(
    turnScheduler: SchedulerLike,
    requests: OpenRequests<ClientRequest>,
    nextRequestId: () => number,
    maxBatchBytes = MAX_BATCH_BYTES,
  ) {
    const proposeEvent = (batch: PendingProposal[]): RaftEvent => {
      this.unbatched?.remove(batch);
      // The proposals are the commands (each has its kind and data): no second object per proposal.
      return { kind: 'propose', commands: batch, tokens: batch, requestId: nextRequestId() };
    };
    const readEvent = (batch: PendingRead[]): RaftEvent => {
      this.unbatched?.remove(batch);
      // One request per turn; a lease read may ride along with a confirmed one, not the reverse.
      const requestId = requests.open(nextRequestId(), { kind: 'read', waiters: batch });
      return { kind: 'read', requestId, lease: batch.every((r) => r.lease) };
    };
    const weigh = (p: PendingProposal) => p.data.length;
    this.events$ = new Observable<RaftEvent>((subscriber) => {
      if (this.closed) return subscriber.complete();
      const started = new Subscription();
      const lanes = {
        out: subscriber,
        proposals: new Lane(subscriber, started, (input) => input.pipe(batchPerTurn(turnScheduler, { max: maxBatchBytes, weigh })), proposeEvent),
        reads: new Lane(subscriber, started, (input) => input.pipe(batchPerTurn(turnScheduler)), readEvent),
      };
      this.lanes = lanes;
      return () => {
        started.unsubscribe();
        if (this.lanes === lanes) this.lanes = null;
      };
    });
  }

  /** Queues a proposal for the next batch (or behind held ones); settles when it is applied here. */
  propose(kind: EntryKind, data: Uint8Array): Promise<{ index: number; term: number }> {
    const proposal: PendingProposal = { kind, data, resolve: unset, reject: unset, term: 0 };
    settling = proposal;
    const promise = new Promise<{ index: number; term: number }>(takeSettlers);
    settling = null;
    try {
      (this.unbatched ??= new Unbatched()).add(proposal);
      if (this.held) this.held.push(proposal);
      else if (!this.closed) this.lanes?.proposals.next(proposal);
    } catch (e) {
      proposal.reject(e as Error); // as an executor's throw would
    }
    return promise;
  }

  /** Queues a read for the next batch; settles once its index is applied here. */
  read(lease: boolean): Promise<{ index: number }> {
    return new Promise((resolve, reject) => {
      const read: PendingRead = { lease, resolve, reject };
      (this.unbatched ??= new Unbatched()).add(read);
      if (!this.closed) this.lanes?.reads.next(read);
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
    if (!this.closed) for (const p of held) this.lanes?.proposals.next(p);
  }

  /** Fails every call not yet handed to the node, and takes no more (a subscriber still listening gets what was batched, then completes). */
  rejectAll(reason: Error): void {
    this.closed = true;
    const lanes = this.lanes;
    if (lanes) {
      lanes.proposals.complete();
      lanes.reads.complete();
      lanes.out.complete();
    }
    const unbatched = this.unbatched;
    this.unbatched = null;
    for (const waiting of unbatched?.takeAll() ?? []) waiting.reject(reason);
    this.held = null;
  }
}

/**
 * The proposal whose promise `ClientIntake.propose` is making; the promise's executor
 * (`takeSettlers`, one function for all, where a closure per proposal would be one more
 * object per write) gives it its resolve and reject. The executor runs inside the
 * `Promise` constructor, synchronously, so no other proposal can be in between.
 */
let settling: PendingProposal | null = null;

function takeSettlers(resolve: PendingProposal['resolve'], reject: PendingProposal['reject']): void {
  settling!.resolve = resolve;
  settling!.reject = reject;
}

/** A proposal's resolve and reject before its promise gives it its own. */
function unset(): void {
  throw new Error('a proposal settled before its promise was made');
}

/**
 * One kind of call on its way into the loop: a subject and its batching, both made at
 * the first call, the batches handed to the loop's subscriber as events. Completing it
 * flushes what is batched.
 */
class Lane<T> {
  private input: Subject<T> | null = null;

  constructor(
    private readonly out: Subscriber<RaftEvent>,
    private readonly started: Subscription,
    private readonly batches: (input: Observable<T>) => Observable<T[]>,
    private readonly toEvent: (batch: T[]) => RaftEvent,
  ) {}

  next(value: T): void {
    if (!this.input) {
      const input = (this.input = new Subject<T>());
      this.started.add(this.batches(input).subscribe({ next: (batch) => this.out.next(this.toEvent(batch)), error: (e: unknown) => this.out.error(e) }));
    }
    this.input.next(value);
  }

  complete(): void {
    this.input?.complete();
  }
}

/**
 * The calls made and not yet handed to the node in a batch, in the order they were made.
 * Batches leave from the front in that order (a read batch may pass proposals held during
 * a transfer), so this is a queue whose front moves on, not a `Set`: a set churned by every
 * proposal reallocated its table every few hundred of them (issue 17).
 */
class Unbatched<T> {
  /** Calls from `head` on; a call that left out of order is a hole (undefined). */
  private items: (T | undefined)[] = [];
  private head = 0;

  add(item: T): void {
    this.items.push(item);
  }

  /** These calls were handed to the node. */
  remove(batch: readonly T[]): void {
    const items = this.items;
    for (let i = 0; i < batch.length; i++) {
      const at = items[this.head] === batch[i] ? this.head : items.indexOf(batch[i], this.head);
      if (at < 0) continue;
      items[at] = undefined;
      while (this.head < items.length && items[this.head] === undefined) this.head++;
    }
    if (this.head >= 1024 && this.head * 2 > items.length) {
      items.copyWithin(0, this.head);
      items.length -= this.head;
      this.head = 0;
    }
  }

  /** Every call still waiting, in order; the queue is left empty. */
  takeAll(): T[] {
    const waiting = this.items.slice(this.head).filter((item): item is T => item !== undefined);
    this.items = [];
    this.head = 0;
    return waiting;
  }
}
