import { Observable, Subject } from 'rxjs';
import type { RaftState } from '../core/state';
import { ProposalDroppedError } from '../errors';
import { CommittedEntry, EntryKind } from '../messages/entry';
import type { ApplyBarrier } from './applyBarrier';
import type { ProposalTracker } from './proposals';
import { decodeSessionCommand, SessionTable } from './sessions';
import type { SnapshotDriver } from './snapshots';

export interface ApplierDeps {
  readonly sessions: SessionTable;
  readonly tracker: ProposalTracker;
  readonly barrier: ApplyBarrier;
  readonly snapshots: SnapshotDriver;
  readonly isStopped: () => boolean;
}

/**
 * Emits newly committed entries that are durable here on `committed$`, in order
 * (invariant 5), filtering session duplicates, and settles the proposals and reads that
 * waited for them.
 */
export class Applier {
  private readonly committed = new Subject<CommittedEntry>();
  readonly committed$: Observable<CommittedEntry> = this.committed.asObservable();
  /** Recently applied session duplicates: index → the original command's position. */
  private readonly duplicates = new Map<number, { index: number; term: number }>();

  constructor(private readonly deps: ApplierDeps) {}

  applyCommitted(s: RaftState): void {
    const { snapshots, tracker, sessions, isStopped } = this.deps;
    if (snapshots.restoring) return;
    const upTo = Math.min(s.commitIndex, s.durableIndex);
    while (s.appliedIndex < upTo && !isStopped()) {
      const entry = s.log.entry(++s.appliedIndex)!;
      snapshots.noteApplied(entry.data.length);
      if (entry.kind === EntryKind.Command) {
        this.committed.next({ index: entry.index, term: entry.term, data: entry.data });
      } else if (entry.kind === EntryKind.SessionCommand) {
        const { info, data } = decodeSessionCommand(entry.data);
        const verdict = sessions.apply(info, entry.index, entry.term);
        if (verdict.duplicate) {
          if (verdict.original) {
            this.duplicates.set(entry.index, verdict.original);
            if (this.duplicates.size > 4096) this.duplicates.delete(this.duplicates.keys().next().value!);
          }
          tracker.applied(entry.index, entry.term, verdict.original ?? undefined);
          continue;
        }
        this.committed.next({ index: entry.index, term: entry.term, data, session: info });
      }
      tracker.applied(entry.index, entry.term);
    }
    this.deps.barrier.advance(s.appliedIndex);
    if (!isStopped()) snapshots.maybeTake(s);
  }

  /** Proposals tracked after their indexes were already applied here settle at once. */
  settleApplied(s: RaftState, from: number, to: number): void {
    for (let i = from; i <= Math.min(to, s.appliedIndex); i++) {
      const term = s.log.termAt(i);
      // Compacted before the answer came: which command the entry held is no longer known here.
      if (term === undefined) this.deps.tracker.forget(i, (index, t) => new ProposalDroppedError(index, t, 'compacted before the leader answered'));
      else this.deps.tracker.applied(i, term, this.duplicates.get(i));
    }
  }

  stop(): void {
    this.committed.complete();
  }
}
