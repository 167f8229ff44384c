import type { AppendEntries, AppendEntriesResponse, InstallSnapshotResponse, NodeId } from '../messages/types';
import { entryRunOf } from '../messages/receivedAppendEntries';
import { resetElectionDeadline } from './electionDeadline';
import { Effects } from './effects';
import { checkSnapshotTransfer, onSnapshotMessagesLost, restartTransfer, resumeParkedTransfer, resumeSnapshotTransfer, sendAwaitedChunk } from './snapshots';
import { maybeSendCommit, sendAppend } from './send';
import { retryEntryRead } from './entryReads';
import { confirmReads, releaseReadsBeforeCommit, startRound } from './reads';
import { becomeFollower } from './roles';
import { quorumLostReport } from './electionReports';
import { quorumReached, quorumValue } from './quorum';
import { checkTransferDeadline, forgetRemoved, maybeSendTimeoutNow, onConfigCommitted, trackConfigRun, trackConfigs, truncateConfigs } from './membership';
import { currentConfig, LeaderState, RaftState } from './state';

/*
 * Log replication's per-message handlers (Raft §5.3): AppendEntries and its reply, the
 * reply to InstallSnapshot, the leader's tick, and commit. step.ts dispatches to them;
 * they call the layers below (send.ts, reads.ts, roles.ts, membership.ts,
 * snapshots.ts), none of which calls back here.
 */

/**
 * AppendEntries receiver (Figure 2), for a request of the current term from the leader:
 * the consistency check on (prevLogIndex, prevLogTerm), conflict truncation, append of
 * what is new, and commit up to what the leader says and this request proves (§5.3).
 * The reply leaves only once the new entries are durable. A rejection carries the
 * conflict hint for fast back-tracking.
 *
 * A request with nothing new to write (a heartbeat, a repeat) is answered at once, not
 * behind the writes in progress, claiming a match only up to what is already durable
 * (entries up to `prevLogIndex` match the leader's, so the lower of the two is true) —
 * provided the current term is durable too, since what a follower acknowledges in a term
 * must survive a crash with that term. Under bulk traffic a follower's fsyncs can take
 * longer than the election timeout; its heartbeat answers must not (CheckQuorum would
 * depose a healthy leader: the 64 KiB benchmark runs of issue 17).
 */
export function handleAppendEntries(s: RaftState, from: NodeId, request: AppendEntries, fx: Effects): void {
  s.leaderId = from;
  s.lastLeaderContact = s.now;
  resetElectionDeadline(s);
  // While a received snapshot is being committed, entries are not taken (see `installingSnapshot`).
  const m = s.installingSnapshot === null ? trimToSnapshot(s, request) : { ...trimToSnapshot(s, request), entries: [] };
  const log = s.log;
  const prevTerm = log.termAt(m.prevLogIndex);
  if (prevTerm === undefined || prevTerm !== m.prevLogTerm) {
    const shorter = prevTerm === undefined;
    fx.send(from, {
      type: 'AppendEntriesResponse',
      term: s.term,
      success: false,
      matchIndex: 0,
      rejectedIndex: m.prevLogIndex,
      conflictTerm: shorter ? 0 : prevTerm,
      conflictIndex: shorter ? log.lastIndex + 1 : log.firstIndexOfTerm(m.prevLogIndex),
      seq: m.seq,
    });
    return;
  }
  // Entries read from the wire stay a run of their block (no object each) unless trimmed above.
  const run = m === request ? entryRunOf(request) : undefined;
  const count = run === undefined ? m.entries.length : run.length;
  // Skip what we already hold; truncate at the first entry whose term differs.
  let skip = 0;
  for (; skip < count; skip++) {
    // Both are validated at the edge: entries stand at prevLogIndex + 1, + 2, ... (`validateMessage`, `readEntryRun`).
    const index = run === undefined ? m.entries[skip].index : run.firstIndex + skip;
    const term = run === undefined ? m.entries[skip].term : run.termAt(skip);
    const mine = log.termAt(index);
    if (mine === undefined) break;
    if (mine !== term) {
      if (index <= s.commitIndex) {
        throw new Error(`leader ${from} conflicts with committed entry ${index} (term ${mine} vs ${term})`);
      }
      log.truncateFrom(index);
      truncateConfigs(s, index);
      s.durableIndex = Math.min(s.durableIndex, index - 1);
      break;
    }
  }
  const fresh = count - skip;
  if (fresh > 0 && run !== undefined && skip === 0) {
    log.appendRun(run);
    fx.persistEntries(run);
    trackConfigRun(s, run);
  } else if (fresh > 0) {
    const entries = run !== undefined ? run.entries(skip) : skip === 0 ? m.entries : m.entries.slice(skip);
    log.append(entries);
    fx.persistEntries(entries);
    trackConfigs(s, entries);
  }
  const lastNew = m.prevLogIndex + count;
  if (m.leaderCommit > s.commitIndex) s.commitIndex = Math.max(s.commitIndex, Math.min(m.leaderCommit, lastNew));
  const answer = { type: 'AppendEntriesResponse' as const, term: s.term, success: true, matchIndex: lastNew, rejectedIndex: 0, conflictTerm: 0, conflictIndex: 0, seq: m.seq };
  if (fresh === 0 && s.durableTerm === s.term) fx.sendNow(from, { ...answer, matchIndex: Math.min(lastNew, s.durableIndex) });
  else fx.send(from, answer);
}

/**
 * What this node's snapshot covers is committed, hence in the leader's log too (Leader
 * Completeness): a request that starts inside it is cut to start at the snapshot's end.
 */
function trimToSnapshot(s: RaftState, m: AppendEntries): AppendEntries {
  const base = s.log.snapshotIndex;
  if (m.prevLogIndex >= base) return m;
  return { ...m, prevLogIndex: base, prevLogTerm: s.log.snapshotTerm, entries: m.entries.filter((e) => e.index > base) };
}

/**
 * Leader side of an AppendEntries reply. Success moves `match` (and may commit);
 * a rejection moves `next` back using the conflict hint: past the follower's whole
 * conflicting term, or to its end when its log is shorter (§5.3, "fast back-tracking").
 */
export function handleAppendResponse(s: RaftState, from: NodeId, m: AppendEntriesResponse, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  const L = s.role;
  const pr = L.progress.get(from);
  if (!pr || isStaleTermRefusal(m)) return;
  // Any answer of this term shows the follower still accepts this leader.
  pr.heardFrom(s.now);
  resumeSnapshotTransfer(s, from, pr, fx);
  if (m.seq > pr.ackedSeq && m.seq <= L.seq) pr.ackedSeq = m.seq;
  confirmReads(s, L, fx);
  if (m.success) {
    if (m.matchIndex > s.log.lastIndex) return; // cannot be an answer to this leader
    pr.acknowledge(m.matchIndex, m.seq);
    pr.noteCatchUp(s.now, s.log.lastIndex);
    if (pr.probing && m.matchIndex >= pr.next - 1) pr.becomeReplicating();
    else if (pr.probeMissing(m.seq)) pr.resendMissingProbe(); // sent again just below
    maybeCommit(s, fx);
    sendAppend(s, from, pr, fx);
    maybeSendCommit(s, from, pr, fx);
    maybeSendTimeoutNow(s, fx);
    forgetRemoved(s);
    return;
  }
  // A rejection at or below match is stale — unless it answers a later round than the one
  // that set match and says the follower's log is shorter: its disk lost entries.
  if (m.rejectedIndex <= pr.match) {
    const lost = m.seq > pr.matchSeq && m.conflictTerm === 0 && m.conflictIndex - 1 < pr.match;
    if (!lost) return;
    pr.forgetLost(m.conflictIndex - 1);
    sendAppend(s, from, pr, fx);
    return;
  }
  // A rejection of a probe we no longer wait for is stale too.
  if (pr.probing && m.rejectedIndex !== pr.next - 1) return;
  let next: number;
  if (m.conflictTerm === 0) {
    next = m.conflictIndex;
  } else {
    const last = s.log.lastIndexOfTerm(m.conflictTerm);
    next = last > 0 ? last + 1 : m.conflictIndex;
  }
  pr.becomeProbing(Math.min(next, m.rejectedIndex));
  sendAppend(s, from, pr, fx);
}

/**
 * Whether an answer refuses an AppendEntries of an earlier term (`refuseStale`), which a
 * leader re-elected since may receive in its new term: it answers a message this
 * leadership never sent, so it is no answer to any of its rounds — counted as one, it
 * would confirm reads and extend the lease for a round the follower never saw (round
 * numbers restart with each leadership), and taken as a rejection it sent the follower's
 * progress to index 0, stalling it (simulator seeds 92 and 717 with --groups). Its term
 * is all it says, and the term rules have already handled that.
 */
export function isStaleTermRefusal(m: AppendEntriesResponse): boolean {
  return !m.success && m.conflictIndex === 0;
}

/** Leader side of an InstallSnapshot reply. */
export function handleInstallSnapshotResponse(s: RaftState, from: NodeId, m: InstallSnapshotResponse, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  const pr = s.role.progress.get(from);
  // The driver sends whatever snapshot is current when a transfer starts: at least the one asked for.
  if (!pr?.snapshot || m.lastIncludedIndex < pr.snapshot.index) return;
  if (m.chunk === 0 && pr.snapshot.chunk === 0) pr.snapshot.index = m.lastIncludedIndex;
  if (m.lastIncludedIndex !== pr.snapshot.index) return;
  pr.heardFrom(s.now);
  pr.silentTicks = 0;
  const t = pr.snapshot;
  if (m.installed) {
    pr.snapshot = null;
    pr.snapshotAbandonsInARow = 0;
    pr.acknowledge(m.lastIncludedIndex, s.role.seq); // answers to anything sent before now are older
    pr.becomeReplicating();
    maybeCommit(s, fx);
    sendAppend(s, from, pr, fx);
    return;
  }
  // A parked transfer starts over on any answer: its reader is gone (see `parkTransfer`).
  if (t.parked) return resumeParkedTransfer(s, from, pr, fx);
  if (!m.success) return restartTransfer(s, from, pr, fx);
  if (m.chunk !== t.chunk) return; // a duplicate or stale acknowledgement
  t.stalledTicks = 0;
  t.resends = 0;
  // Restoring its state machine from the last chunk: not stuck, the install's answer will come.
  if (m.installing) return;
  t.chunk++;
  t.resendAtTick = false;
  sendAwaitedChunk(s, from, t, fx);
}

/**
 * Advances the commit index to the highest index stored durably on a majority — but only
 * if that entry is of the current term: entries of earlier terms commit only indirectly
 * (§5.4.2, Figure 8). Returns whether the commit index moved.
 */
export function maybeCommit(s: RaftState, fx: Effects): boolean {
  if (s.role.name !== 'leader') return false;
  const progress = s.role.progress;
  const candidate = quorumValue(currentConfig(s), (v) => (v === s.id ? s.durableIndex : (progress.get(v)?.match ?? 0)));
  if (candidate > s.commitIndex && s.log.termAt(candidate) === s.term) {
    s.commitIndex = candidate;
    for (const [peer, pr] of s.role.progress) maybeSendCommit(s, peer, pr, fx);
    releaseReadsBeforeCommit(s, s.role, fx);
    onConfigCommitted(s, fx);
    return true;
  }
  return false;
}

/**
 * Messages to `peer` may have been lost (`messagesLost`): a leader forgets what it had in
 * flight there and probes it afresh from after `match` (a probe awaited is sent again),
 * at its next heartbeat tick rather than after `stallTicks`. Nothing is sent now: a
 * transport that reports every loss at once cannot make the leader resend in a loop. A
 * follower taking a snapshot is sent its awaited chunk again at that tick instead
 * (`onSnapshotMessagesLost`).
 *
 * Over TCP a message is lost only with its connection, so this report is what ends a
 * stream early; a follower merely slow to answer is left alone (see `stallTicks`).
 */
export function handleMessagesLost(s: RaftState, peer: NodeId): void {
  if (s.role.name !== 'leader') return;
  const pr = s.role.progress.get(peer);
  if (!pr) return;
  if (pr.snapshot) return onSnapshotMessagesLost(pr.snapshot);
  if (!pr.hasOutstanding) return;
  pr.becomeProbing(pr.probing ? pr.next : pr.match + 1);
}

/**
 * The leader's periodic duty: a heartbeat to every follower, and a fresh probe for any
 * follower that made no progress for `stallTicks` ticks while something was outstanding
 * (the message or its answer was lost, and the transport did not say so: see
 * `handleMessagesLost`).
 */
export function leaderTick(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  const L = s.role;
  for (const pr of L.progress.values()) pr.ticksSinceContact++;
  if (s.options.checkQuorum && !hearsFromQuorum(s, L)) {
    const report = quorumLostReport(s, L, (id) => !answeredLately(s, L, id));
    becomeFollower(s, s.term, null, fx);
    fx.report(report);
    return;
  }
  checkTransferDeadline(s, fx);
  for (const [peer, pr] of L.progress) {
    pr.silentTicks++;
    checkSnapshotTransfer(s, peer, pr, fx);
    retryEntryRead(s, pr);
    if (pr.hasOutstanding && ++pr.stalledTicks >= s.options.stallTicks) {
      // A lost probe is sent again as it was; a stalled stream restarts after `match`.
      pr.becomeProbing(pr.probing ? pr.next : pr.match + 1);
    }
  }
  startRound(s, L, fx);
  for (const [peer, pr] of L.progress) sendAppend(s, peer, pr, fx);
}

/**
 * CheckQuorum (§6.2): whether a majority, this leader included, answered within the
 * minimum election timeout. A leader that fails it steps down rather than keep clients
 * waiting on an office it may no longer hold. A new leader gets one timeout of grace.
 *
 * A follower counts as silent only when both its time and its ticks are up:
 * `electionTimeoutMin` since it last answered, and `checkQuorumTicks` heartbeat ticks.
 * After this node's event loop stalls (a long turn, a starved process), the clock has
 * moved on but the tick that fires first runs before the answers that arrived
 * meanwhile are read; time alone would depose a healthy leader for its own stall (etcd
 * counts ticks only, for the same reason). Leases do not rest on this: `leaseHolds`
 * checks its own window, from when the answered round started.
 */
function hearsFromQuorum(s: RaftState, L: LeaderState): boolean {
  if (s.now - L.since < s.options.electionTimeoutMin) return true;
  return quorumReached(currentConfig(s), (v) => v === s.id || answeredLately(s, L, v));
}

/** Whether follower `id` counts as answering for CheckQuorum (see `hearsFromQuorum`). */
function answeredLately(s: RaftState, L: LeaderState, id: NodeId): boolean {
  const pr = L.progress.get(id);
  return pr !== undefined && (s.now - pr.lastContact < s.options.electionTimeoutMin || pr.ticksSinceContact < s.options.checkQuorumTicks);
}
