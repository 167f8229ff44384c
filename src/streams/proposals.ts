import { ProposalDroppedError } from '../errors';
import type { EntryKind } from '../messages/entry';

/** Why a forwarded proposal fails when a snapshot restored here covers its index (`ProposalTracker.forgetThrough`): the outcome is unknown. */
export function coveredBySnapshot(index: number, term: number): ProposalDroppedError {
  return new ProposalDroppedError(index, term, 'a snapshot covered its index before it was applied here');
}

/** A proposal waiting for its entry to commit. */
export interface PendingProposal {
  readonly kind: EntryKind;
  readonly data: Uint8Array;
  /** Mutable only so that `ClientIntake.propose` can set them from its promise's executor. */
  resolve: (at: { index: number; term: number }) => void;
  reject: (error: Error) => void;
  /**
   * The term its entry was appended in, once tracked (0 before): set by `ProposalTracker.track`,
   * on the proposal itself rather than in an object of its own per proposal.
   */
  term: number;
}

/**
 * Remembers which log index each accepted proposal got, and settles it when that index
 * is applied: resolved if the applied entry is the proposal's (same term), rejected if
 * another entry took its place. Tracking an index again (a newer leader gave it to
 * another proposal) rejects the proposal waiting there with `ProposalDroppedError`: its
 * entry is off the newer leader's log but may still commit (Figure 8), and nothing would
 * settle it any more.
 *
 * Proposals are kept by index in a ring of slots that moves along the log, not in a
 * `Map`: a leader tracks every proposal it appends and settles them in log order, and a
 * map churned at that rate reallocated its table every few hundred proposals (about 120
 * bytes a proposal for the collector, issue 17). An index outside the ring's reach
 * (before its first index, or `WINDOW_SLOTS` past it or more: a forwarded batch answered
 * out of order) waits in a map on the side.
 */
export class ProposalTracker {
  /**
   * A ring of slots: the proposal waiting at index `first + k` (0 <= k < `span`) is in
   * `slots[(start + k) & (slots.length - 1)]` (undefined: none). Its length is a power of
   * two, doubled when a proposal does not fit (up to `WINDOW_SLOTS`). Made at the first
   * proposal: an idle group never tracks one.
   */
  private slots: (PendingProposal | undefined)[] | null = null;
  private start = 0;
  private first = 0;
  /** How many indexes from `first` on the ring covers: the last one holds a proposal, and so does the first. */
  private span = 0;
  /** Proposals in the ring. */
  private inSlots = 0;
  /** Proposals at indexes outside the ring's reach when tracked (see the class). */
  private others: Map<number, PendingProposal> | null = null;

  /** The proposals' entries were appended at `firstIndex`, `firstIndex + 1`, ... in `term`. */
  track(proposals: readonly PendingProposal[], firstIndex: number, term: number): void {
    for (let i = 0; i < proposals.length; i++) {
      const proposal = proposals[i];
      proposal.term = term;
      this.put(firstIndex + i, proposal);
    }
  }

  /**
   * The entry at `index` with `term` was applied. `result` replaces its position in the
   * answer (a session duplicate answers with the original command's position).
   */
  applied(index: number, term: number, result?: { index: number; term: number }): void {
    const waiting = this.take(index);
    if (!waiting) return;
    if (waiting.term === term) waiting.resolve(result ?? { index, term });
    else waiting.reject(new ProposalDroppedError(index, waiting.term, `index ${index} committed with term ${term}`));
  }

  /** Rejects the proposal waiting at `index`, if any, with the error `reason` makes. */
  forget(index: number, reason: (index: number, term: number) => Error): void {
    const waiting = this.take(index);
    if (!waiting) return;
    waiting.reject(reason(index, waiting.term));
  }

  /**
   * Rejects the proposals waiting at `first`..`last` that were appended in `term` (one
   * entry per index and term: those are the ones appended then, not ones that took an
   * index since), with the error `reason` makes.
   */
  forgetAppended(first: number, last: number, term: number, reason: (index: number, term: number) => Error): void {
    for (let index = first; index <= last; index++) if (this.peek(index)?.term === term) this.forget(index, reason);
  }

  /**
   * Rejects every proposal waiting at `last` or before with the error `reason` makes for
   * it: a snapshot restored here covers their indexes, so they will never be applied here
   * one by one (and which command each index holds is not known).
   */
  forgetThrough(last: number, reason: (index: number, term: number) => Error): void {
    for (let index = this.first; this.span > 0 && index <= last && index < this.first + this.span; index++) this.forget(index, reason);
    for (const index of [...(this.others?.keys() ?? [])]) if (index <= last) this.forget(index, reason);
  }

  /** Rejects every waiting proposal with the error `reason` makes for it (those in the ring in index order, then the others). */
  rejectAll(reason: (index: number, term: number) => Error): void {
    const { slots, start, first, span, others } = this;
    this.slots = this.others = null;
    this.inSlots = this.span = 0;
    for (let k = 0; slots !== null && k < span; k++) {
      const proposal = slots[(start + k) & (slots.length - 1)];
      if (proposal) proposal.reject(reason(first + k, proposal.term));
    }
    for (const [index, proposal] of others ?? []) proposal.reject(reason(index, proposal.term));
  }

  get size(): number {
    return this.inSlots + (this.others?.size ?? 0);
  }

  private put(index: number, proposal: PendingProposal): void {
    const replaced = this.take(index);
    if (replaced) replaced.reject(new ProposalDroppedError(index, replaced.term, `index ${index} was given to another proposal in term ${proposal.term}`));
    let slots = (this.slots ??= new Array<PendingProposal | undefined>(FIRST_SLOTS).fill(undefined));
    if (this.span === 0) {
      this.first = index;
      this.start = 0;
    }
    const k = index - this.first;
    if (k < 0 || k >= WINDOW_SLOTS) {
      (this.others ??= new Map()).set(index, proposal);
      return;
    }
    if (k >= slots.length) slots = this.grow(k + 1);
    const at = (this.start + k) & (slots.length - 1);
    slots[at] = proposal; // empty: `take` above took any proposal waiting there
    this.inSlots++;
    this.span = Math.max(this.span, k + 1);
  }

  /** The proposal waiting at `index`, left in place. */
  private peek(index: number): PendingProposal | undefined {
    const slots = this.slots;
    const k = index - this.first;
    if (slots !== null && k >= 0 && k < this.span) {
      const proposal = slots[(this.start + k) & (slots.length - 1)];
      if (proposal !== undefined) return proposal;
    }
    return this.others?.get(index);
  }

  private take(index: number): PendingProposal | undefined {
    const slots = this.slots;
    const k = index - this.first;
    if (slots !== null && k >= 0 && k < this.span) {
      const at = (this.start + k) & (slots.length - 1);
      const proposal = slots[at];
      if (proposal !== undefined) {
        slots[at] = undefined;
        this.inSlots--;
        this.trimFront(slots);
        return proposal;
      }
    }
    const other = this.others?.get(index);
    if (other !== undefined) this.others!.delete(index);
    return other;
  }

  /** Moves the ring's start past the slots settled at its front. */
  private trimFront(slots: (PendingProposal | undefined)[]): void {
    const mask = slots.length - 1;
    while (this.span > 0 && slots[this.start] === undefined) {
      this.start = (this.start + 1) & mask;
      this.first++;
      this.span--;
    }
  }

  /** A ring of at least `needed` slots (a power of two), holding the same proposals from its slot 0 on. */
  private grow(needed: number): (PendingProposal | undefined)[] {
    const old = this.slots!;
    let length = old.length * 2;
    while (length < needed) length *= 2;
    const slots = new Array<PendingProposal | undefined>(length).fill(undefined);
    for (let k = 0; k < this.span; k++) slots[k] = old[(this.start + k) & (old.length - 1)];
    this.slots = slots;
    this.start = 0;
    return slots;
  }
}

/** Slots of a new ring. */
const FIRST_SLOTS = 64;

/** How far past the ring's first index a proposal may be tracked in it (a power of two); further ones wait on the side. */
const WINDOW_SLOTS = 1 << 16;
