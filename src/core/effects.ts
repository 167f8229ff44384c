import type { Entry } from '../messages/entry';
import type { EntryRun } from '../messages/entryRun';
import type { AppendEntries, NodeId, RaftMessage } from '../messages/types';
import type { HardState, SnapshotMeta } from '../messages/persisted';
import type { ElectionReport } from './electionReports';

/**
 * What a step of the rules asks the driver to do, in the order the driver does it:
 * persist, then send (messages marked `afterPersist` wait until everything persisted
 * so far is durable), then notify, then apply (at most one `apply`, always last).
 */
export type Effect =
  | { readonly type: 'saveHardState'; readonly hardState: HardState }
  /**
   * Persist entries; existing entries at or after the first one's index are discarded
   * first. A follower's entries received over the wire come as the run they arrived in
   * (`EntryRun`: no object per entry; its block is what the write-ahead log writes).
   */
  | { readonly type: 'persistEntries'; readonly entries: readonly Entry[] | EntryRun }
  /**
   * `notice`: a commit-index notice (an empty AppendEntries) the driver may hold until the
   * end of the turn and drop if an AppendEntries of the same term that carries at least
   * its commit index and seq goes to the same peer meanwhile.
   */
  | { readonly type: 'send'; readonly to: NodeId; readonly message: RaftMessage; readonly afterPersist: boolean; readonly notice?: boolean }
  /** Proposals were appended at firstIndex.. in this term (opaque tokens, in order). */
  | { readonly type: 'proposalsAppended'; readonly tokens: readonly unknown[]; readonly firstIndex: number; readonly term: number }
  /** Proposals refused: this node does not lead (and cannot forward), or leads but is `overloaded` (`maxUncommittedBytes`). */
  | { readonly type: 'proposalsRefused'; readonly tokens: readonly unknown[]; readonly overloaded: boolean }
  /** Proposals sent to the leader as request `requestId`; its answer comes as `forwardAnswered`. */
  | { readonly type: 'proposalsForwarded'; readonly tokens: readonly unknown[]; readonly requestId: number }
  /** The leader appended forwarded request `requestId` at firstIndex.. in `term`, or refused it (no longer leading, or `overloaded`). */
  | { readonly type: 'forwardAnswered'; readonly requestId: number; readonly success: boolean; readonly firstIndex: number; readonly term: number; readonly overloaded: boolean }
  /** Read `requestId` is linearizable once `index` is applied here. */
  | { readonly type: 'readReady'; readonly requestId: number; readonly index: number }
  /** Read `requestId` cannot be served: leadership was lost or no leader is known. */
  | { readonly type: 'readFailed'; readonly requestId: number }
  /** Configuration change `requestId` was appended at `index`. */
  | { readonly type: 'configChangeAppended'; readonly requestId: number; readonly index: number; readonly term: number }
  /** Configuration change `requestId` cannot be made now; `retry` when waiting may help (catch-up, a change in flight). */
  | { readonly type: 'configChangeRefused'; readonly requestId: number; readonly reason: string; readonly retry: boolean }
  /**
   * Send chunk `chunk` of the current snapshot (index, term) to `to` in an InstallSnapshot
   * of `leaderTerm`. `start`: chunk 0 of a new transfer (a start or a start over), read
   * afresh from the snapshot current now; otherwise the next chunk of the transfer, or the
   * one sent last again (from memory, chunk 0 included).
   */
  | {
      readonly type: 'sendSnapshotChunk';
      readonly to: NodeId;
      readonly index: number;
      readonly term: number;
      readonly chunk: number;
      readonly leaderTerm: number;
      readonly start: boolean;
    }
  /**
   * The snapshot transfer to `to` is parked: the follower answered nothing for a while
   * (it may be down), or the transfer was given up (its chunk never acknowledged), or the
   * group goes quiet. Release what the transfer holds (its reader of the snapshot) and
   * send nothing more until a `sendSnapshotChunk` with `start` starts it over.
   */
  | { readonly type: 'parkSnapshotTransfer'; readonly to: NodeId }
  /**
   * Read the durable entries [from, end) of this node's log, at most `maxBytes` of payload
   * beyond the first, from storage for follower `to` (they are no longer held in memory);
   * answer with `entriesRead`. At most one read per follower is asked at a time.
   */
  | {
      readonly type: 'readEntries';
      readonly to: NodeId;
      readonly from: number;
      readonly end: number;
      readonly maxBytes: number;
      readonly leaderTerm: number;
    }
  /**
   * Store chunk `chunk` of the snapshot `meta` received from `from` (chunk 0 starts a new
   * one); when `done`, make it current — dropping the whole log if `discardLog` — and
   * restore the state machine from it. Answer with `snapshotChunkStored`.
   */
  | {
      readonly type: 'storeSnapshotChunk';
      readonly from: NodeId;
      readonly meta: SnapshotMeta;
      readonly chunk: number;
      readonly data: Uint8Array;
      readonly done: boolean;
      readonly discardLog: boolean;
    }
  /**
   * Hand these entries (committed, durable here, consecutive, right after the previous
   * `apply`) to the application, in order; report progress with an `applied` event
   * (etcd's `Ready.CommittedEntries`).
   */
  | { readonly type: 'apply'; readonly entries: readonly Entry[] }
  /**
   * The lost hard state is recovered and durable (see `core/termRecovery.ts`); with
   * `clearDamage`, no other repair follows and the damage record may be cleared.
   */
  | { readonly type: 'termsRecovered'; readonly term: number; readonly clearDamage: boolean }
  /** Term recovery still waits for these members, after several rounds (reported once). */
  | { readonly type: 'termRecoveryStalled'; readonly missing: readonly NodeId[] }
  /** Leadership transfer `requestId` was refused or gave up. */
  | { readonly type: 'transferAborted'; readonly requestId: number; readonly reason: string }
  /** Why this node campaigned, voted or stopped leading (`electionReports.ts`): for `RaftNode.elections$`. */
  | { readonly type: 'electionReport'; readonly report: ElectionReport };

/** Collects the effects of one step. */
export class Effects {
  readonly list: Effect[] = [];

  saveHardState(term: number, votedFor: string | null): void {
    this.list.push({ type: 'saveHardState', hardState: { term, votedFor } });
  }

  persistEntries(entries: readonly Entry[] | EntryRun): void {
    if (entries.length > 0) this.list.push({ type: 'persistEntries', entries });
  }

  /**
   * A reply or request that must not leave before this node's writes are durable. Never
   * an AppendEntries: a leader's go out at once (`sendNow`, `sendNotice`), and the runtime
   * routes them past the writes, through the pipeline for their follower.
   */
  send(to: NodeId, message: Exclude<RaftMessage, AppendEntries>): void {
    this.list.push({ type: 'send', to, message, afterPersist: true });
  }

  /** A leader's AppendEntries: sent while its own write proceeds in parallel. */
  sendNow(to: NodeId, message: RaftMessage): void {
    this.list.push({ type: 'send', to, message, afterPersist: false });
  }

  /** A leader's commit-index notice: the driver may drop it for an AppendEntries sent within two turns (`CommitNotices`). */
  sendNotice(to: NodeId, message: AppendEntries): void {
    this.list.push({ type: 'send', to, message, afterPersist: false, notice: true });
  }

  /** Tells the runtime why an election started, a vote was granted or a leader stepped down. */
  report(report: ElectionReport): void {
    this.list.push({ type: 'electionReport', report });
  }

  push(effect: Effect): void {
    this.list.push(effect);
  }
}
