import { entrySize } from '../messages/blockEntry';
import type { Entry } from '../messages/entry';
import type { Effects } from './effects';
import type { RaftEvent } from './events';
import type { Progress } from './progress';
import { cutMessage, sendAppend, sendEntries } from './send';
import type { RaftState } from './state';

/*
 * Serving a lagging follower from storage: the leader holds only recent entries in memory
 * (`RaftLog.cachedFrom`), so `sendAppend` asks storage for older ones (`readEntries`,
 * one read per follower at a time, `Progress.reading`, ahead of its window while it
 * replicates, `Progress.readAhead`) and the answer comes back here.
 */

/**
 * Entries read from storage for a follower (`entriesRead`), if the read is still the one
 * awaited — same term, still leading, the follower still needs entries from there;
 * otherwise they are dropped and the follower is served afresh from where it is now. A
 * probed follower is sent one AppendEntries of them (cut as from memory:
 * `maxEntriesPerMessage`, `maxBytesPerMessage`). For a replicating one they join its
 * `readAhead` (up to `maxInflightBytes` in all), from which its window is filled now and
 * as it opens (`sendAppend`). A failed read is asked again at the next heartbeat tick
 * (`retryEntryRead`): the range was compacted meanwhile, and by then the rules know it
 * and send the snapshot.
 *
 * @example
 * // leader of term 3, replicating follower n2 at next 40, entries 1..99 evicted from memory:
 * sendAppend(s, 'n2', pr, fx); // fx: [{ type: 'readEntries', to: 'n2', from: 40, end: 100, ... }]
 * handleEntriesRead(s, { kind: 'entriesRead', to: 'n2', from: 40, leaderTerm: 3, entries }, fx);
 * // fx: [AppendEntries to n2 from prevLogIndex 39, as many as its window takes, and a read of what follows]
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
  pr.alignReadAhead(entrySize);
  const { maxInflight, maxInflightBytes } = s.options;
  if (e.from !== (pr.probing ? pr.next : pr.readAheadEnd) || (pr.probing && pr.isPaused(maxInflight, maxInflightBytes))) {
    sendAppend(s, e.to, pr, fx);
    return;
  }
  const entries = agreeingEntries(s, e.from, e.entries);
  if (entries.length === 0) {
    pr.reading = { from: e.from, ticks: 0, failed: true }; // storage disagrees with the log: ask again at the tick
    return;
  }
  if (pr.probing) {
    sendEntries(s, e.to, pr, cutMessage(s, pr, entries, 0), fx);
    return;
  }
  // The first entry read is always kept (a read starts only below half of maxInflightBytes):
  // dropping it would ask the same read again, and again, while the window stays full.
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && pr.readAheadBytes + entrySize(entries[i]) > maxInflightBytes) break;
    pr.readAhead.push(entries[i]);
    pr.readAheadBytes += entrySize(entries[i]);
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
