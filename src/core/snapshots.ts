import type { InstallSnapshot, NodeId } from '../messages/types';
import type { SnapshotMeta } from '../messages/persisted';
import type { ConfigAt } from '../messages/config';
import { resetElectionDeadline } from './electionDeadline';
import { Effects } from './effects';
import { Progress, SnapshotTransfer } from './progress';
import { RaftState } from './state';

/**
 * Log compaction and InstallSnapshot (Raft dissertation ch. 5).
 *
 * A leader sends its snapshot to a follower that needs entries it has compacted away,
 * one chunk at a time, each acknowledged before the next (heartbeats keep flowing
 * meanwhile). A chunk that may have been lost (a silence, or a stall while the follower
 * answers heartbeats) is sent again and the transfer goes on where it stopped; one that
 * breaks — a replaced snapshot, a follower that restarted, a failed read — starts over
 * from chunk 0; one to a follower that stopped answering waits for its next answer to
 * start over (it is parked), so a follower that is down costs no reads; one whose
 * awaited chunk goes unacknowledged through `SNAPSHOT_CHUNK_RESENDS` resends is given up
 * (parked, and started over only after a wait that doubles each time). The
 * follower stores chunks in a staging area and, on the last, makes the snapshot current
 * and restores its state machine from it; only then does it answer "installed".
 */

/** The configuration in effect at `index`: the latest one at or before it. */
export function configAt(s: RaftState, index: number): ConfigAt {
  let found = s.configs[0];
  for (const c of s.configs) if (c.index <= index) found = c;
  return found;
}

/**
 * How far a snapshot at `index` may cut the log (the last index discarded). Normally
 * `keepEntries` behind it. A leader also keeps what a live follower (heard from within
 * an election timeout) still needs: everything from its match, or from the index of the
 * snapshot it is being sent; that first entry's term is the next prevLogTerm. Otherwise,
 * when writes outpace a transfer, the follower ends each transfer behind the leader's
 * next compaction and is sent snapshot after snapshot. At most `catchUpEntries` are kept
 * behind the snapshot for such a follower; a silent one holds nothing back. Whatever
 * the reason, the entries kept behind the snapshot hold at most `keepBytes` of payload:
 * counted in entries alone, large entries would let the kept tail (and the node's
 * memory) reach `catchUpEntries` times the entry size. A follower that needs more than
 * that is sent a snapshot.
 *
 * @example
 * compactionPoint(s, 50_000, { keepEntries: 1_000, catchUpEntries: 100_000, keepBytes: 32 << 20 }); // 49_000, or less for a follower catching up
 */
export function compactionPoint(s: RaftState, index: number, policy: { readonly keepEntries: number; readonly catchUpEntries: number; readonly keepBytes: number }): number {
  let point = index - policy.keepEntries;
  if (s.role.name === 'leader') {
    const floor = index - Math.max(policy.keepEntries, policy.catchUpEntries);
    for (const pr of s.role.progress.values()) {
      if (s.now - pr.lastContact >= s.options.electionTimeoutMin) continue;
      // The entry at the follower's last index stays too: its term is the next AppendEntries' prevLogTerm.
      point = Math.max(floor, Math.min(point, (pr.snapshot ? pr.snapshot.index : pr.match) - 1));
    }
  }
  return Math.max(0, point, byteFloor(s, index, point, policy.keepBytes));
}

/**
 * The lowest cut at or above `point` whose kept tail (cut, index] holds at most `keepBytes`
 * of payload in memory: entries evicted from memory (before `RaftLog.cachedFrom`, read
 * back from storage when needed) cost it nothing.
 */
function byteFloor(s: RaftState, index: number, point: number, keepBytes: number): number {
  let cut = index;
  let bytes = 0;
  while (cut > point) {
    if (cut < s.log.cachedFrom) return point;
    const size = s.log.sizeAt(cut);
    if (size === undefined || bytes + size > keepBytes) break;
    bytes += size;
    cut--;
  }
  return cut;
}

/**
 * The follower needs entries before the leader's log start: switch it to a snapshot
 * transfer. With `parked` (it answered nothing since its last probe: it may be down) the
 * transfer waits for its next answer before the first chunk is read (`parkTransfer`).
 */
export function startSnapshotTransfer(s: RaftState, peer: NodeId, pr: Progress, fx: Effects, parked = false): void {
  pr.reading = null; // a read in flight is dropped when it answers
  pr.clearReadAhead();
  pr.snapshot = { index: s.log.snapshotIndex, term: s.log.snapshotTerm, chunk: 0, stalledTicks: 0, resends: 0, parked: false, holdTicks: 0 };
  pr.snapshotTransfers++;
  if (parked) parkTransfer(peer, pr.snapshot, fx);
  else sendAwaitedChunk(s, peer, pr.snapshot, fx, true);
}

/** Asks the driver to send `peer` the chunk its transfer awaits; `start`: chunk 0 of a new transfer, read afresh. */
export function sendAwaitedChunk(s: RaftState, peer: NodeId, t: SnapshotTransfer, fx: Effects, start = false): void {
  fx.push({ type: 'sendSnapshotChunk', to: peer, index: t.index, term: t.term, chunk: t.chunk, leaderTerm: s.term, start });
}

/**
 * Sends the awaited chunk again: it, or its acknowledgement, may have been lost. The
 * runtime keeps the chunk it sent last, so this reads nothing and the transfer goes on
 * where it stopped (a chunk that did arrive is acknowledged again) — chunk 0 too: only a
 * `start` opens a new reader. After `SNAPSHOT_CHUNK_RESENDS` resends with no chunk
 * acknowledged the transfer is given up instead (`abandonTransfer`).
 */
function resendAwaitedChunk(s: RaftState, peer: NodeId, pr: Progress, t: SnapshotTransfer, fx: Effects): void {
  t.stalledTicks = 0;
  t.resendAtTick = false;
  if (t.resends >= SNAPSHOT_CHUNK_RESENDS) return abandonTransfer(peer, pr, t, fx);
  t.resends++;
  pr.snapshotChunksResent++;
  sendAwaitedChunk(s, peer, t, fx);
}

/**
 * Gives a transfer up: the follower answers, but its awaited chunk went unacknowledged
 * through every resend, so this transfer cannot complete now (say, its transport refuses
 * the chunk). It is parked — its reader released, nothing sent — and counted in
 * `snapshotTransfersAbandoned`. The follower's answers start it over only after
 * `holdTicks`: `SNAPSHOT_STALL_TICKS` after the first give-up, doubled with each one
 * since the follower last installed a snapshot, up to `SNAPSHOT_HOLD_DOUBLINGS` times.
 * Started over at its next answer, a follower that answers every heartbeat would have
 * the snapshot read again and the same chunk resent, without end.
 */
function abandonTransfer(peer: NodeId, pr: Progress, t: SnapshotTransfer, fx: Effects): void {
  pr.snapshotTransfersAbandoned++;
  pr.snapshotAbandonsInARow++;
  t.abandoned = true;
  t.holdTicks = SNAPSHOT_STALL_TICKS * 2 ** Math.min(pr.snapshotAbandonsInARow - 1, SNAPSHOT_HOLD_DOUBLINGS);
  parkTransfer(peer, t, fx);
}

/**
 * The transport says messages to the follower may have been lost (`messagesLost`; over
 * TCP, a connection closed with them): the chunk in flight may have been one. It is sent
 * again at the next heartbeat tick (`checkSnapshotTransfer`) rather than after
 * `SNAPSHOT_STALL_TICKS`, if the follower answered anything since the tick before; a
 * silent one is left to the silence and stall rules. Nothing is sent now: a transport
 * that reports every loss at once cannot make the leader resend in a loop, and the
 * resends count towards `SNAPSHOT_CHUNK_RESENDS`. A parked transfer stays parked.
 */
export function onSnapshotMessagesLost(t: SnapshotTransfer): void {
  if (!t.parked) t.resendAtTick = true;
}

/**
 * A heartbeat tick (`leaderTick` counts it in `silentTicks` first). A transfer that makes
 * no progress for `SNAPSHOT_STALL_TICKS` ticks sends its awaited chunk again if the
 * follower answered anything meanwhile: it is there, so the chunk or its answer was lost
 * (a lossy link loses a chunk now and then; starting over each time, a large snapshot
 * might never arrive). If it answered nothing, the transfer is parked (`parkTransfer`).
 * After a loss report the chunk goes again at this tick (`onSnapshotMessagesLost`). One
 * whose read failed right after it started over is started over again (see
 * `onSnapshotReadFailed`). A parked transfer waits for the follower's answer; a given-up
 * one counts down its `holdTicks` meanwhile.
 */
export function checkSnapshotTransfer(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  const t = pr.snapshot;
  if (!t) return;
  if (t.parked) {
    if (t.holdTicks > 0) t.holdTicks--;
    return;
  }
  if (t.retryAtTick) return restartTransfer(s, peer, pr, fx);
  if (t.resendAtTick && pr.silentTicks <= 1) return resendAwaitedChunk(s, peer, pr, t, fx);
  t.resendAtTick = false;
  if (++t.stalledTicks < SNAPSHOT_STALL_TICKS) return;
  if (pr.silentTicks < t.stalledTicks) resendAwaitedChunk(s, peer, pr, t, fx);
  else parkTransfer(peer, t, fx);
}

/**
 * Parks a transfer: its reader is released and no chunk is read or sent until the
 * follower answers anything (a heartbeat goes to it every tick), which starts the
 * transfer over (`resumeSnapshotTransfer`). A follower that is down then costs no reads
 * of the snapshot, however long it stays down: starting over every
 * `SNAPSHOT_STALL_TICKS` read chunk 0 (and the chunk after it) again each time, without
 * end (issue 17). A quiet leader parks the transfers it keeps (`maybeQuiesce`): it has
 * no ticks left to park them with.
 */
export function parkTransfer(peer: NodeId, t: SnapshotTransfer, fx: Effects): void {
  t.parked = true;
  fx.push({ type: 'parkSnapshotTransfer', to: peer });
}

/**
 * Reading the snapshot for `to` failed (it was replaced meanwhile, or the reader lost its
 * place): the transfer starts over at once — unless it had only just started over, at
 * chunk 0 with no tick since. Then the snapshot cannot be read now at all, and it is
 * tried again at the next heartbeat tick: starting over at once would loop without
 * letting time pass (found by the simulator, a sweep that never ended). A parked
 * transfer ignores it: it starts over when the follower answers.
 */
export function onSnapshotReadFailed(s: RaftState, to: NodeId, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  const pr = s.role.progress.get(to);
  if (!pr?.snapshot || pr.snapshot.parked) return;
  if (pr.snapshot.chunk === 0 && pr.snapshot.stalledTicks === 0) pr.snapshot.retryAtTick = true;
  else restartTransfer(s, to, pr, fx);
}

/**
 * The follower answered (anything but an InstallSnapshot answer). A parked transfer
 * starts over: the follower is back (a given-up one once its `holdTicks` are over). After
 * a silence of two heartbeat ticks or more (a partition, a pause) the chunk in flight was
 * most likely lost with the rest, so it is sent again now rather than after
 * `SNAPSHOT_STALL_TICKS`. Waiting that long would
 * outlast a leadership transfer to this follower, whose deadline is one election
 * timeout. A chunk that did arrive is acknowledged again (a repeat), one from a transfer
 * the follower has forgotten (it restarted) makes it ask for a new transfer. The first
 * answer after no silence changes nothing, so a slow chunk write is never interrupted.
 */
export function resumeSnapshotTransfer(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  const silent = pr.silentTicks >= 2;
  pr.silentTicks = 0;
  const t = pr.snapshot;
  if (!t) return;
  if (t.parked) return resumeParkedTransfer(s, peer, pr, fx);
  if (silent) resendAwaitedChunk(s, peer, pr, t, fx);
}

/** The follower of a parked transfer answered: it starts over, unless it was given up and its `holdTicks` are not over. */
export function resumeParkedTransfer(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (pr.snapshot?.parked && pr.snapshot.holdTicks === 0) restartTransfer(s, peer, pr, fx);
}

/** Ticks without an acknowledged chunk before a transfer's awaited chunk is sent again (the follower answered meanwhile) or the transfer is parked. */
const SNAPSHOT_STALL_TICKS = 10;

/**
 * Resends of the awaited chunk, with no chunk acknowledged since it was first sent, after
 * which the transfer is given up (`abandonTransfer`). A lossy link loses a chunk now and
 * then, not five sends of the same one in a row; a slow follower acknowledges chunks
 * (each acknowledgement starts the count over), and one restoring its state machine from
 * the last chunk says so (`installing`), which starts it over too. Without a bound, a
 * follower that answers heartbeats but can never take the chunk (its transport refuses
 * it, say) would hold a reader of the snapshot (a file handle) and be sent the chunk
 * every `SNAPSHOT_STALL_TICKS` ticks — or every tick, with a transport that reports each
 * loss — for as long as this node leads. It is given up when a sixth is due: 60 ticks
 * after the chunk was first sent without loss reports, 6 with one before every tick.
 */
export const SNAPSHOT_CHUNK_RESENDS = 5;

/** How often the wait before a given-up transfer starts over doubles: at most `SNAPSHOT_STALL_TICKS` × 2^5 = 320 ticks (16 s at the default 50 ms heartbeat interval). */
const SNAPSHOT_HOLD_DOUBLINGS = 5;

/** Starts a transfer over, with the leader's current snapshot. */
export function restartTransfer(s: RaftState, peer: NodeId, pr: Progress, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  startSnapshotTransfer(s, peer, pr, fx);
}

/**
 * Follower side of InstallSnapshot. A snapshot this node's commit index already covers
 * is acknowledged as installed at once. Otherwise chunks must arrive in order: chunk 0
 * starts a new transfer, the next expected chunk is stored, a repeat of an earlier one
 * is acknowledged again — except while this snapshot's last chunk is being stored and
 * the state machine restored from it, which may take long: the install's own answer
 * ("installed") will come, and an acknowledgement of the repeat would send the leader
 * past the last chunk, where its transfer starts over; the repeat (chunk 0 included) is
 * answered `installing`, so that the leader does not give the transfer up meanwhile —
 * and anything else asks the leader to start over.
 */
export function handleInstallSnapshot(s: RaftState, from: NodeId, m: InstallSnapshot, fx: Effects): void {
  s.leaderId = from;
  s.lastLeaderContact = s.now;
  resetElectionDeadline(s);
  const reply = (success: boolean, installed: boolean) =>
    fx.send(from, { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: m.lastIncludedIndex, chunk: m.chunk, success, installed });
  if (m.lastIncludedIndex <= s.commitIndex) return reply(true, true);
  const incoming = s.incomingSnapshot;
  const same = incoming !== null && incoming.index === m.lastIncludedIndex && incoming.term === m.lastIncludedTerm && incoming.from === from;
  if (same && m.chunk < incoming.next && s.installingSnapshot === incoming.index) {
    return fx.send(from, { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: m.lastIncludedIndex, chunk: m.chunk, success: true, installed: false, installing: true });
  }
  if (m.chunk === 0) {
    s.incomingSnapshot = { from, index: m.lastIncludedIndex, term: m.lastIncludedTerm, next: 1 };
  } else if (same && m.chunk === incoming.next) {
    incoming.next++;
  } else if (same && m.chunk < incoming.next) {
    return reply(true, false);
  } else {
    return reply(false, false);
  }
  const meta: SnapshotMeta = { index: m.lastIncludedIndex, term: m.lastIncludedTerm, config: m.config };
  if (m.done) s.installingSnapshot = meta.index;
  fx.push({
    type: 'storeSnapshotChunk',
    from,
    meta,
    chunk: m.chunk,
    data: m.data,
    done: m.done,
    discardLog: s.log.termAt(meta.index) !== meta.term,
  });
}

/**
 * A received chunk is stored. After the last one the snapshot is current and the state
 * machine restored: the log now starts after it (its matching tail kept), everything up
 * to it is committed and applied, and its configuration is in effect.
 */
export function onSnapshotChunkStored(s: RaftState, from: NodeId, meta: SnapshotMeta, chunk: number, done: boolean, fx: Effects): void {
  const reply = (installed: boolean) =>
    fx.send(from, { type: 'InstallSnapshotResponse', term: s.term, lastIncludedIndex: meta.index, chunk, success: true, installed });
  if (!done) return reply(false);
  s.incomingSnapshot = null;
  s.installingSnapshot = null;
  if (meta.index > s.commitIndex) {
    if (s.log.termAt(meta.index) === meta.term) s.log.compact(meta, meta.index);
    else s.log.reset(meta);
    s.configs = [{ index: meta.index, term: meta.term, config: meta.config }, ...s.configs.filter((c) => c.index > meta.index && c.index <= s.log.lastIndex)];
    s.commitIndex = meta.index;
    // The runtime restored the state machine only after it had finished every entry
    // handed to it (see `Applier.exclusive`); those entries are all below meta.index.
    s.appliedIndex = Math.max(s.appliedIndex, meta.index);
    s.applyingIndex = Math.max(s.applyingIndex, meta.index);
    s.applyingBytes = 0;
    s.durableIndex = Math.max(s.durableIndex, meta.index);
  }
  reply(true);
}

/** This node's own snapshot is durable: drop the entries it covers, beyond the kept tail. */
export function onSnapshotTaken(s: RaftState, index: number, term: number, compactUpTo: number): void {
  s.log.compact({ index, term }, compactUpTo);
  const base = configAt(s, index);
  s.configs = [base, ...s.configs.filter((c) => c.index > index)];
}
