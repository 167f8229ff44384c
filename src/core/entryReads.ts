import { entrySize } from '../messages/blockEntry';
import type { Entry } from '../messages/entry';
import type { Effects } from './effects';
import type { RaftEvent } from './events';
import type { Progress } from './progress';
import { sendAppend, sendEntries } from './send';
import type { RaftState } from './state';

/*
 * Serving a lagging follower from storage: the leader holds only recent entries in memory
 * (`RaftLog.cachedFrom`), so `sendAppend` asks storage for older ones (`readEntries`,
 * one read per follower at a time, `Progress.reading`) and the answer comes back here.
 */

/**
 * Entries read from storage for a follower (`entriesRead`): sent as AppendEntries — as
 * many as its window takes, each cut as from memory (`maxEntriesPerMessage`,
 * `maxBytesPerMessage`); one while it is probed — if the read is still the one awaited:
 * same term, still leading, the follower still needs entries from there. Otherwise they
 * are dropped, and the follower is served afresh from where it is now; so are the entries
 * its window had no room for (read again once it has). A failed read is asked again at the
 * next heartbeat tick (`retryEntryRead`): the range was compacted meanwhile, and by then
 * the rules know it and send the snapshot.
 *
 * @example
 * // leader of term 3, follower n2 at next 40, entries 1..99 evicted from memory:
 * sendAppend(s, 'n2', pr, fx); // fx: [{ type: 'readEntries', to: 'n2', from: 40, end: 100, ... }]
 * handleEntriesRead(s, { kind: 'entriesRead', to: 'n2', from: 40, leaderTerm: 3, entries }, fx);
 * // fx: [AppendEntries to n2 with prevLogIndex 39 and the first entries read, more AppendEntries with the rest, then a read of what follows]
 */
export function handleEntriesRead(s: RaftState, e: Extract<RaftEvent, { kind: 'entriesRead' }>, fx: Effects): void {
  if (s.role.name !== 'leader' || e.leaderTerm !== s.term) return;
  const pr = s.role.progress.get(e.to);
  if (!pr?.reading || pr.reading.from !== e.from || pr.reading.failed) return;
  if (e.entries === null) {
    pr.reading.failed = true;
    return;
  }
  pr.reading = null;
  for (const entry of e.entries) pr.storageReadBytes += entrySize(entry);
  if (pr.next !== e.from || pr.isPaused(s.options.maxInflight, s.options.maxInflightBytes)) {
    sendAppend(s, e.to, pr, fx);
    return;
  }
  const entries = agreeingEntries(s, e.from, e.entries);
  if (entries.length === 0) {
    pr.reading = { from: e.from, ticks: 0, failed: true }; // storage disagrees with the log: ask again at the tick
    return;
  }
  const { maxInflight, maxInflightBytes } = s.options;
  // What the window has no room for is dropped, and read again once it has.
  for (let sent = 0; sent < entries.length && !pr.isPaused(maxInflight, maxInflightBytes); ) {
    const message = nextMessage(s, pr, entries, sent);
    if (!sendEntries(s, e.to, pr, message, fx)) return;
    sent += message.length;
    if (pr.probing) return; // one message until the probe is answered
  }
  sendAppend(s, e.to, pr, fx);
}

/**
 * A read that failed, or that stayed unanswered for `stallTicks` heartbeat ticks, is
 * forgotten at the tick, so that `sendAppend` asks again (or sends the snapshot, if the
 * entries were compacted away meanwhile).
 */
export function retryEntryRead(s: RaftState, pr: Progress): void {
  if (pr.reading && (pr.reading.failed || ++pr.reading.ticks > s.options.stallTicks)) pr.reading = null;
}

/**
 * The prefix of `read` that may go to the follower: contiguous from `from`, each entry of
 * the term this log has at its index (storage must agree with the log it mirrors; a
 * mismatch ends the prefix).
 */
function agreeingEntries(s: RaftState, from: number, read: readonly Entry[]): readonly Entry[] {
  let n = 0;
  while (n < read.length && read[n].index === from + n && s.log.termAt(read[n].index) === read[n].term) n++;
  return n === read.length ? read : read.slice(0, n);
}

/**
 * The entries from `entries[at]` for one AppendEntries, as `sendAppend` cuts them from
 * memory: at most `maxEntriesPerMessage`, within `maxBytesPerMessage` and the room left in
 * the follower's window in bytes (the first entry always: `sendEntries` holds it back if
 * it does not fit).
 */
function nextMessage(s: RaftState, pr: Progress, entries: readonly Entry[], at: number): readonly Entry[] {
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
