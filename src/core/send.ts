import { entrySize } from '../messages/blockEntry';
import type { Entry } from '../messages/entry';
import type { AppendEntries, NodeId } from '../messages/types';
import { Effects } from './effects';
import { Progress } from './progress';
import { startSnapshotTransfer } from './snapshots';
import { RaftState } from './state';

/*
 * What a leader sends its followers: AppendEntries with entries, probes and heartbeats
 * (Raft §5.3, §5.2). The lowest layer of replication: these functions decide nothing
 * about commit or roles, and the per-message handlers above them (replication.ts,
 * reads.ts, roles.ts, membership.ts, proposals.ts) call them, never the other way round.
 */

/** Sends every follower what it is missing, as far as its window allows. */
export function broadcastAppend(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  for (const [peer, pr] of s.role.progress) sendAppend(s, peer, pr, fx);
}

/**
 * Sends `peer` the entries from its `next` index, repeatedly while its window has room in
 * messages (`maxInflight`) and in payload bytes (`maxInflightBytes`) (replicating), or one probe (probing; a probe goes out even when it carries no
 * entries, to learn where the logs match). Sends nothing to an up-to-date follower.
 * Entries no longer held in memory (`RaftLog.cachedFrom`) are asked of storage first
 * (`readEntries`; they go out when `entriesRead` brings them), ones compacted away are
 * replaced by the snapshot.
 */
export function sendAppend(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (s.role.name !== 'leader' || pr.snapshot || pr.reading) return;
  const { maxEntriesPerMessage, maxBytesPerMessage, maxInflight, maxInflightBytes } = s.options;
  while (!pr.isPaused(maxInflight, maxInflightBytes)) {
    if (pr.next > s.log.lastIndex && !pr.probing) return;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = s.log.termAt(prevLogIndex);
    // The entries the follower needs are compacted away: it gets the snapshot instead.
    if (pr.next < s.log.firstIndex || (prevLogTerm === undefined && prevLogIndex < s.log.firstIndex)) {
      return startSnapshotTransfer(s, peer, pr, fx);
    }
    if (prevLogTerm === undefined) throw new Error(`progress of ${peer} points past the log: next ${pr.next}`);
    // The window in bytes bounds the message too; its first entry goes even when larger
    // than the room left only if nothing else is in flight (`bytesRoom`).
    const room = pr.probing ? Infinity : pr.bytesRoom(maxInflightBytes);
    if (pr.next < s.log.cachedFrom) return startEntryRead(s, peer, pr, fx);
    const entries = s.log.slice(pr.next, s.log.lastIndex, maxEntriesPerMessage, Math.min(maxBytesPerMessage, room));
    if (entries.length === 0 && !pr.probing) return;
    if (!sendEntries(s, peer, pr, entries, fx)) return;
    if (pr.probing) return;
  }
}

/**
 * Sends `peer` an AppendEntries carrying `entries` (from its `next` index: its previous
 * entry is `next - 1`), if they fit the room left in its window in bytes (one entry larger
 * than the room left waits for the window to empty). Returns whether it went.
 */
export function sendEntries(s: RaftState, peer: NodeId, pr: Progress, entries: readonly Entry[], fx: Effects): boolean {
  if (s.role.name !== 'leader') return false;
  const room = pr.probing ? Infinity : pr.bytesRoom(s.options.maxInflightBytes);
  const bytes = payloadBytes(entries);
  if (bytes > room) return false;
  const prevLogIndex = pr.next - 1;
  fx.sendNow(peer, {
    type: 'AppendEntries',
    term: s.term,
    leaderId: s.id,
    prevLogIndex,
    prevLogTerm: s.log.termAt(prevLogIndex) as number,
    entries,
    leaderCommit: s.commitIndex,
    seq: s.role.seq,
  });
  pr.commitSent = s.commitIndex;
  pr.sent(prevLogIndex + entries.length, bytes);
  return true;
}

/**
 * Asks storage for the entries `peer` needs from its `next` index on, up to where the
 * log's memory starts (`readEntries`), and sends nothing more to it until they come
 * (`Progress.reading`). A probed follower is read one message's worth; a replicating one
 * the room left in its window — in messages (`maxInflight` of `maxEntriesPerMessage`) and
 * in bytes (`maxInflightBytes`) — so that one read fills the window with several
 * AppendEntries (`handleEntriesRead`). A read of one message at a time could not keep up:
 * at 1,024 proposers of 64 KiB the leader made about 46 reads of 1 MiB a second, each
 * waiting behind the WAL's writes for the thread pool, and the slower follower never
 * caught up (issue 17, docs/notes/big-entries.md). The bytes read for a follower stay
 * within its window (one entry beyond when it is larger), as do those it has in flight.
 *
 * @example
 * // replicating follower at next 40, nothing in flight, entries 1..99 evicted, defaults:
 * startEntryRead(s, 'n2', pr, fx); // readEntries { from: 40, end: 100, maxBytes: 8 MiB }
 */
function startEntryRead(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  const { maxEntriesPerMessage, maxBytesPerMessage, maxInflight, maxInflightBytes } = s.options;
  const messages = pr.probing ? 1 : Math.max(1, maxInflight - pr.inflight.length);
  const maxBytes = pr.probing ? maxBytesPerMessage : Math.min(maxInflightBytes, pr.bytesRoom(maxInflightBytes));
  const end = Math.min(s.log.cachedFrom, pr.next + maxEntriesPerMessage * messages);
  pr.reading = { from: pr.next, ticks: 0, failed: false };
  pr.storageReads++;
  fx.push({ type: 'readEntries', to: peer, from: pr.next, end, maxBytes, leaderTerm: s.term });
}

function payloadBytes(entries: readonly Entry[]): number {
  let bytes = 0;
  for (const e of entries) bytes += entrySize(e);
  return bytes;
}

/**
 * An empty AppendEntries at the follower's match index: it cannot fail the consistency
 * check, keeps the follower from campaigning (§5.2) and carries the commit index.
 */
export function sendHeartbeat(s: RaftState, peer: NodeId, pr: Progress, fx: Effects, notice = false): void {
  if (s.role.name !== 'leader') return;
  const heartbeat = heartbeatMessage(s, pr, s.role.seq);
  if (notice) fx.sendNotice(peer, heartbeat);
  else fx.sendNow(peer, heartbeat);
  pr.commitSent = s.commitIndex;
}

/**
 * The empty AppendEntries a leader sends as a heartbeat to a follower at `pr.match`, in
 * round `seq`; with `quiesce`, the last one before the group goes quiet.
 */
export function heartbeatMessage(s: RaftState, pr: Progress, seq: number, quiesce = false): AppendEntries {
  return {
    type: 'AppendEntries',
    term: s.term,
    leaderId: s.id,
    prevLogIndex: pr.match,
    prevLogTerm: s.log.termAt(pr.match) ?? 0,
    entries: [],
    leaderCommit: s.commitIndex,
    seq,
    ...(quiesce ? { quiesce: true } : {}),
  };
}

/**
 * Tells an idle follower a commit index it has not heard yet, so a command forwarded
 * through it (or a read on it) completes now rather than at the next heartbeat. A
 * follower with AppendEntries in flight hears it from the next one.
 *
 * Without `eagerCommitNotices`, only a follower that waits for it is told: the last
 * entry of a command it forwarded, a read it was answered (`pr.commitWanted`), or the
 * entry that removes it. The others hear it from the next AppendEntries or heartbeat: a
 * notice to them costs a frame, an answer and a wakeup of both nodes per write when the
 * next proposal comes a little later (one HTTP client), for nothing anyone waits on.
 */
export function maybeSendCommit(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (pr.snapshot || pr.probing || pr.inflight.length > 0 || pr.commitSent >= s.commitIndex) return;
  if (!s.options.eagerCommitNotices && Math.min(Math.max(pr.commitWanted, pr.removedAt), s.commitIndex) <= pr.commitSent) return;
  sendHeartbeat(s, peer, pr, fx, true);
}

/** `peer` waits to hear that `index` is committed (it forwarded that entry, or asked for a read there): tells it now if it may. */
export function wantCommit(s: RaftState, peer: NodeId, index: number, fx: Effects): void {
  const pr = s.role.name === 'leader' ? s.role.progress.get(peer) : undefined;
  if (!pr) return;
  if (index > pr.commitWanted) pr.commitWanted = index;
  maybeSendCommit(s, peer, pr, fx);
}
