import { ProposalDroppedError } from '../errors';
import type { EntryKind } from '../messages/entry';

/** A proposal waiting for its entry to commit. */
export interface PendingProposal {
  readonly kind: EntryKind;
  readonly data: Uint8Array;
  readonly resolve: (at: { index: number; term: number }) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Remembers which log index each accepted proposal got, and settles it when that index
 * is applied: resolved if the applied entry is the proposal's (same term), rejected if
 * another entry took its place.
 */
export class ProposalTracker {
  /** Made at the first proposal: an idle group never tracks one. */
  private byIndex: Map<number, { proposal: PendingProposal; term: number }> | null = null;

  track(proposals: readonly PendingProposal[], firstIndex: number, term: number): void {
    if (proposals.length === 0) return;
    const byIndex = (this.byIndex ??= new Map());
    proposals.forEach((proposal, i) => byIndex.set(firstIndex + i, { proposal, term }));
  }

  /**
   * The entry at `index` with `term` was applied. `result` replaces its position in the
   * answer (a session duplicate answers with the original command's position).
   */
  applied(index: number, term: number, result?: { index: number; term: number }): void {
    const waiting = this.byIndex?.get(index);
    if (!waiting) return;
    this.byIndex?.delete(index);
    if (waiting.term === term) waiting.proposal.resolve(result ?? { index, term });
    else waiting.proposal.reject(new ProposalDroppedError(index, waiting.term, `index ${index} committed with term ${term}`));
  }

  /** Rejects the proposal waiting at `index`, if any, with the error `reason` makes. */
  forget(index: number, reason: (index: number, term: number) => Error): void {
    const waiting = this.byIndex?.get(index);
    if (!waiting) return;
    this.byIndex?.delete(index);
    waiting.proposal.reject(reason(index, waiting.term));
  }

  /** Rejects every waiting proposal with the error `reason` makes for it. */
  rejectAll(reason: (index: number, term: number) => Error): void {
    const byIndex = this.byIndex;
    this.byIndex = null;
    for (const [index, { proposal, term }] of byIndex ?? []) proposal.reject(reason(index, term));
  }

  get size(): number {
    return this.byIndex?.size ?? 0;
  }
}
