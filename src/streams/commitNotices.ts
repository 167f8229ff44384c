import type { SchedulerLike, Subscription } from 'rxjs';
import type { AppendEntries, NodeId } from '../messages/types';

/**
 * A leader's commit-index notices (an empty AppendEntries sent when the commit index
 * moves), held for two turns in case an AppendEntries to the same peer can carry the
 * commit index instead: in a closed loop, the next proposals' batch. Each notice avoided
 * is a frame, an answer and a wakeup of the follower less per write.
 *
 * Two turns, because proposals resolved by the step that held the notice are proposed
 * again in a microtask and batched on the turn scheduler: their AppendEntries go out in
 * the next turn, before the notices would. A held notice is sent only if this node still
 * leads in its term — through the leader's pipeline for that follower (`replicateTo`),
 * like every AppendEntries; holding it longer only delays when followers apply, never safety.
 *
 * @example
 * const notices = new CommitNotices(turnScheduler, (to, message) => roles.replicate({ to, message }), (term) => leadsIn(term));
 * notices.hold('n2', notice);   // instead of sending it
 * notices.sending('n2', append); // an AppendEntries with at least its commit index: dropped
 */
export class CommitNotices {
  /** Made at the first notice: a follower never holds one. */
  private held: Map<NodeId, AppendEntries> | null = null;
  private flush: Subscription | null = null;

  constructor(
    private readonly turnScheduler: SchedulerLike,
    private readonly send: (to: NodeId, notice: AppendEntries) => void,
    private readonly leadsIn: (term: number) => boolean,
  ) {}

  /** Holds `notice` for `to` (replacing an older one), to send in two turns. */
  hold(to: NodeId, notice: AppendEntries): void {
    (this.held ??= new Map()).set(to, notice);
    this.flush ??= this.turnScheduler.schedule(() => {
      this.flush = this.turnScheduler.schedule(() => {
        this.flush = null;
        this.sendHeld();
      });
    });
  }

  /** An AppendEntries goes to `to`: it makes the held notice redundant if it carries as much. */
  sending(to: NodeId, m: AppendEntries): void {
    const notice = this.held?.get(to);
    if (notice && m.term === notice.term && m.leaderCommit >= notice.leaderCommit && m.seq >= notice.seq) this.held?.delete(to);
  }

  /** Drops every held notice (the node stops). */
  clear(): void {
    this.flush?.unsubscribe();
    this.flush = null;
    this.held?.clear();
  }

  private sendHeld(): void {
    if (!this.held) return;
    for (const [to, notice] of this.held) if (this.leadsIn(notice.term)) this.send(to, notice);
    this.held.clear();
  }
}
