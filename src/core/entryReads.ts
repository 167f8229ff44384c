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
 * Entries read from storage for a follower (`entriesRead`): sent as an AppendEntries if the
 * read is still the one awaited — same term, still leading, the follower still needs
 * entries from there — and they still fit its window; otherwise dropped, and the
 * follower is served afresh from where it is now. A failed read is asked again at the
 * next heartbeat tick (`retryEntryRead`): the range was compacted meanwhile, and by then
 * the rules know it and send the snapshot.
 *
 * @example
 * // leader of term 3, follower n2 at next 40, entries 1..99 evicted from memory:
 * sendAppend(s, 'n2', pr, fx); // fx: [{ type: 'readEntries', to: 'n2', from: 40, end: 100, ... }]
 * handleEntriesRead(s, { kind: 'entriesRead', to: 'n2', from: 40, leaderTerm: 3, entries }, fx);
 * // fx: [AppendEntries to n2 with prevLogIndex 39 and the entries read, then more]
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
  if (pr.next !== e.from || pr.isPaused(s.options.maxInflight, s.options.maxInflightBytes)) {
    sendAppend(s, e.to, pr, fx);
    return;
  }
  const entries = usableEntries(s, e.from, e.entries);
  if (entries.length === 0) {
    pr.reading = { from: e.from, ticks: 0, failed: true }; // storage disagrees with the log: ask again at the tick
    return;
  }
  if (sendEntries(s, e.to, pr, entries, fx) && !pr.probing) sendAppend(s, e.to, pr, fx);
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
 * The prefix of `read` that may go to the follower now: contiguous from `from`, each
 * entry of the term this log has at its index (storage must agree with the log it
 * mirrors; a mismatch ends the prefix), at most `maxEntriesPerMessage` of them, and within
 * `maxBytesPerMessage` (the first always).
 */
function usableEntries(s: RaftState, from: number, read: readonly Entry[]): Entry[] {
  const { maxEntriesPerMessage, maxBytesPerMessage } = s.options;
  const out: Entry[] = [];
  let bytes = 0;
  for (let i = 0; i < read.length && i < maxEntriesPerMessage; i++) {
    const entry = read[i];
    if (entry.index !== from + i || s.log.termAt(entry.index) !== entry.term) break;
    if (out.length > 0 && bytes + entrySize(entry) > maxBytesPerMessage) break;
    out.push(entry);
    bytes += entrySize(entry);
  }
  return out;
}
