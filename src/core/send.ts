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
 * messages (`maxInflight`) and in payload bytes (`maxInflightBytes`) (replicating), or one
 * probe (probing; a probe goes out even when it carries no entries, to learn where the
 * logs match). Sends nothing to an up-to-date follower. Entries no longer held in memory
 * (`RaftLog.cachedFrom`) are read back from storage (`readEntries`; they come with
 * `entriesRead`): a probed follower waits for its one message's worth; a replicating one
 * is sent them from `Progress.readAhead` while the next read runs. Entries compacted away
 * are replaced by the snapshot. A probe repeated to a follower that has answered nothing
 * since the last one (`Progress.answeredSinceProbe`) carries no entries, so a follower
 * that is down, probed again every `stallTicks` or after each `messagesLost`, costs no
 * reads from storage; once it answers, the next probe (or the stream, if the empty one
 * matched) carries them. Such a follower's snapshot transfer starts parked, read from
 * its next answer on (`startSnapshotTransfer`).
 */
export function sendAppend(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (s.role.name !== 'leader' || pr.snapshot || (pr.reading && pr.probing)) return;
  const { maxEntriesPerMessage, maxBytesPerMessage, maxInflight, maxInflightBytes } = s.options;
  pr.alignReadAhead(entrySize);
  while (!pr.isPaused(maxInflight, maxInflightBytes)) {
    if (pr.next > s.log.lastIndex && !pr.probing) return;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = s.log.termAt(prevLogIndex);
    // The entries the follower needs are compacted away: it gets the snapshot instead,
    // from its next answer on if it has not answered since the last probe.
    if (pr.next < s.log.firstIndex || (prevLogTerm === undefined && prevLogIndex < s.log.firstIndex)) {
      return startSnapshotTransfer(s, peer, pr, fx, pr.probing && !pr.answeredSinceProbe);
    }
    if (prevLogTerm === undefined) throw new Error(`progress of ${peer} points past the log: next ${pr.next}`);
    // Silent since the last probe: it may be down, and entries (maybe read back from
    // storage) would go nowhere. An empty probe finds where the logs match as well.
    if (pr.probing && !pr.answeredSinceProbe) {
      sendEntries(s, peer, pr, [], fx);
      return;
    }
    if (pr.next < s.log.cachedFrom) {
      if (!sendReadAhead(s, peer, pr, fx)) return maybeStartEntryRead(s, peer, pr, fx);
      continue;
    }
    // The window in bytes bounds the message too; its first entry goes even when larger
    // than the room left only if nothing else is in flight (`bytesRoom`).
    const room = pr.probing ? Infinity : pr.bytesRoom(maxInflightBytes);
    const entries = s.log.slice(pr.next, s.log.lastIndex, maxEntriesPerMessage, Math.min(maxBytesPerMessage, room));
    if (entries.length === 0 && !pr.probing) return;
    if (!sendEntries(s, peer, pr, entries, fx)) return;
    if (pr.probing) return;
  }
  if (!pr.probing) maybeStartEntryRead(s, peer, pr, fx); // read ahead while the window is full
}

/**
 * Sends a replicating `peer` one AppendEntries from its `readAhead` (entries read back
 * from storage), if it holds the next ones and they fit the window. Returns whether it went.
 */
function sendReadAhead(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): boolean {
  if (pr.probing || pr.readAhead.length === 0) return false;
  const entries = cutMessage(s, pr, pr.readAhead, 0);
  if (!sendEntries(s, peer, pr, entries, fx)) return false;
  pr.alignReadAhead(entrySize);
  return true;
}

/**
 * The entries from `entries[at]` for one AppendEntries to `pr`'s follower, cut as from
 * memory: at most `maxEntriesPerMessage`, within `maxBytesPerMessage` and the room left in
 * its window in bytes (the first entry always: `sendEntries` holds it back if it does not
 * fit).
 */
export function cutMessage(s: RaftState, pr: Progress, entries: readonly Entry[], at: number): readonly Entry[] {
  const { maxEntriesPerMessage, maxBytesPerMessage, maxInflightBytes } = s.options;
  const limit = Math.min(maxBytesPerMessage, pr.probing ? Infinity : pr.bytesRoom(maxInflightBytes));
  let end = at;
  let bytes = 0;
  while (end < entries.length && end - at < maxEntriesPerMessage) {
    const size = entrySize(entries[end]);
    if (end > at && bytes + size > limit) break;
    bytes += size;
    end++;
  }
  return entries.slice(at, end);
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
  pr.sent(prevLogIndex + entries.length, bytes, s.role.seq);
  return true;
}

/**
 * Asks storage for the entries `peer` needs next that the leader no longer holds in
 * memory (`readEntries`, answered by `entriesRead`), unless a read for it is running. A
 * probed follower is read one message's worth from its `next` index and sent nothing
 * more until it comes (`Progress.reading`). A replicating one is read ahead: from the end
 * of its `readAhead` on, once that holds less than half a window — `maxInflightBytes` in
 * payload bytes, `maxInflight` messages' worth (`× maxEntriesPerMessage`) in entries —
 * up to a whole window in all; its window is sent from `readAhead` meanwhile, so the
 * reads are off the path of its acknowledgements. Reading only once the window had
 * room, one message at a time, a follower far behind never caught up: at 1,024 proposers
 * of 64 KiB the leader made 40-150 reads of 1 MiB a second and the slower follower fell
 * further behind (issue 17, docs/notes/big-entries.md). What is read for a follower stays within a window's
 * entries and `maxInflightBytes` (one entry beyond when it is larger), besides its window:
 * the count matters for tiny entries, half of 8 MiB being hundreds of thousands of them.
 *
 * @example
 * // replicating follower at next 40, readAhead empty, entries 1..99 evicted, defaults:
 * maybeStartEntryRead(s, 'n2', pr, fx); // readEntries { from: 40, end: 100, maxBytes: 8 MiB }
 */
function maybeStartEntryRead(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (pr.reading || pr.snapshot) return;
  const { maxEntriesPerMessage, maxBytesPerMessage, maxInflight, maxInflightBytes } = s.options;
  const from = pr.probing ? pr.next : pr.readAheadEnd;
  if (from >= s.log.cachedFrom || from > s.log.lastIndex) return;
  const windowEntries = maxEntriesPerMessage * maxInflight;
  if (!pr.probing && (pr.readAheadBytes >= maxInflightBytes / 2 || pr.readAhead.length >= windowEntries / 2)) return;
  const maxBytes = pr.probing ? maxBytesPerMessage : maxInflightBytes - pr.readAheadBytes;
  const end = Math.min(s.log.cachedFrom, from + (pr.probing ? maxEntriesPerMessage : windowEntries - pr.readAhead.length));
  pr.reading = { from, ticks: 0, failed: false };
  pr.storageReads++;
  fx.push({ type: 'readEntries', to: peer, from, end, maxBytes, leaderTerm: s.term });
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
