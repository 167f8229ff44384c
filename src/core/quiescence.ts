import type { AppendEntries, NodeId, RaftMessage } from '../messages/types';
import { resetElectionDeadline, setElectionDeadline } from './electionDeadline';
import { Effects } from './effects';
import { failoverDeadline } from './failoverOrder';
import type { RaftEvent } from './events';
import { startRound } from './reads';
import { heartbeatMessage } from './send';
import { quorumReached } from './quorum';
import { parkTransfer } from './snapshots';
import { currentConfig, LeaderState, RaftState } from './state';

/*
 * Quiescence (issue 19; docs/notes/quiescence.md): an idle group with a healthy quorum
 * stops its heartbeats and election timers, so a host of many idle groups does almost
 * nothing. A leader goes quiet at the end of a turn that leaves nothing to do; its last
 * heartbeat, flagged `quiesce`, lets each caught-up follower stop its election timer.
 * Anything of the group wakes it again: the leader then starts a fresh round (which wakes
 * its followers) and counts no lease from before it; a follower draws a new deadline.
 * Whether a quiet leader's voters are still there is the host's business
 * (`HostLiveness`): it wakes its groups when a peer host stops answering.
 */

/**
 * Whether this leader may go quiet now: quiescence is on, no client work reached it for a
 * whole heartbeat interval (`quiesceAfterTicks` ticks), and nothing is under way —
 * no read waits, no transfer, no repair; every entry is durable here and committed; every
 * follower (voters, learners, members being removed) holds the whole log, has nothing in
 * flight, no snapshot or entry read under way, and answered the latest round — except
 * followers whose hosts are silent (`silentPeers`) and that have not answered it for the
 * minimum election timeout, as long as this leader and the voters that did all that make a
 * quorum; the configuration is not joint.
 *
 * Going quiet without a silent host's followers keeps a group with a dead member from
 * heartbeating until that host returns (CockroachDB quiesces with non-live replicas too).
 * It asks nothing new of CheckQuorum while quiet: the voters counted answered this
 * leader's latest round, and while it stays quiet their hosts keep answering pings and
 * neither restart nor stop a group, or the host wakes it (`HostLiveness`); the silent
 * host's return wakes it too, and it then catches those followers up.
 *
 * @example
 * if (canQuiesce(s, s.role)) quiesce(s, s.role, fx);
 */
export function canQuiesce(s: RaftState, L: LeaderState): boolean {
  const last = s.log.lastIndex;
  if (!s.options.quiesce || s.quiet || s.repair || L.transfer || L.reads.length > 0 || L.readsBeforeCommit.length > 0) return false;
  if (L.idleTicks < s.options.quiesceAfterTicks) return false;
  if (s.commitIndex !== last || s.durableIndex !== last || currentConfig(s).oldVoters !== undefined) return false;
  let skipped = false;
  for (const peer of L.progress.keys()) {
    if (caughtUp(s, L, peer)) continue;
    if (!isGone(s, L, peer)) return false;
    skipped = true;
  }
  return !skipped || quorumReached(currentConfig(s), (v) => v === s.id || caughtUp(s, L, v));
}

/**
 * Whether follower `id` may be left behind by a quiet leader: its host is silent, and it
 * has not answered this leader for the minimum election timeout either (a follower that
 * answers is caught up first, whatever the host was told).
 */
function isGone(s: RaftState, L: LeaderState, id: NodeId): boolean {
  const pr = L.progress.get(id);
  return s.silentPeers.includes(id) && pr !== undefined && s.now - pr.lastContact >= s.options.electionTimeoutMin;
}

/** Whether follower `id` holds the whole log, has nothing under way, and answered the latest round. */
function caughtUp(s: RaftState, L: LeaderState, id: NodeId): boolean {
  const pr = L.progress.get(id);
  return pr !== undefined && pr.match === s.log.lastIndex && !pr.probing && !pr.hasOutstanding && !pr.snapshot && !pr.reading && pr.ackedSeq === L.seq;
}

/**
 * A leader goes quiet: one last heartbeat of the current round to every follower, flagged
 * `quiesce`, then no ticks until something wakes it. Called at the end of a step.
 *
 * A snapshot transfer to a follower it goes quiet without (a silent host's) is parked
 * now (`parkTransfer`): without ticks it would never stall, and its reader of the
 * snapshot (a file handle) would stay open until the group wakes. It starts over when
 * that follower answers, as any parked transfer.
 *
 * @example
 * maybeQuiesce(s, fx); // fx.list: one AppendEntries { quiesce: true } per follower, or nothing
 */
export function maybeQuiesce(s: RaftState, fx: Effects): void {
  if (s.quiet && s.role.name !== 'leader') s.electionDeadline = Infinity; // a quiet follower has no timer, whatever the step did
  if (s.role.name !== 'leader' || !canQuiesce(s, s.role)) return;
  s.quiet = true;
  const L = s.role;
  for (const [peer, pr] of L.progress) {
    fx.sendNow(peer, heartbeatMessage(s, pr, L.seq, true));
    pr.commitSent = s.commitIndex;
    if (pr.snapshot && !pr.snapshot.parked) parkTransfer(peer, pr.snapshot, fx);
  }
}

/**
 * A follower that got its leader's `quiesce` heartbeat (already handled as a heartbeat:
 * term rules, consistency check, commit) goes quiet if it holds exactly what the leader
 * committed, durably, and is not under repair: no election deadline until woken. Any other
 * case keeps its timer (a lagging follower never goes quiet).
 *
 * @example
 * maybeQuiesceFollower(s, heartbeat); // s.electionDeadline === Infinity when it went quiet
 */
export function maybeQuiesceFollower(s: RaftState, m: AppendEntries): void {
  if (!m.quiesce || !s.options.quiesce || s.role.name !== 'follower' || m.term !== s.term || s.repair) return;
  const last = s.log.lastIndex;
  if (last !== m.leaderCommit || s.commitIndex !== last || s.durableIndex !== last || m.prevLogIndex !== last || s.installingSnapshot !== null) return;
  s.quiet = true;
  s.quietRound = m.seq;
  s.electionDeadline = Infinity;
}

/**
 * Wakes a quiet node, before `event` is handled. A leader starts a fresh round at once
 * (its heartbeats wake the followers) and will date a lease only from a round started now
 * or later (`leaseFloor`); its ticks resume. A follower draws a new election deadline and,
 * unless its leader is the one that spoke, sends it a WakeUp: a follower's timer must
 * never run while its leader sends no heartbeats, or it would campaign against a healthy
 * leader. Not woken: a quiet leader by the answers to its own last heartbeat, a quiet
 * follower by a heartbeat of its leader older than the `quiesce` one (delivered late):
 * both say nothing new (`saysNothingNew`). Events that are not work or messages of the
 * group (storage completions, timers) do not wake. A host's wake-up wakes only the nodes
 * it concerns (`concerns`); every node, quiet or not, remembers the silent hosts it names,
 * and a follower told that its leader's host went silent takes its place in the group's
 * failover order (`failoverDeadline`). A quiet follower woken by anything else, while
 * its host still hears its leader's host, counts that as hearing from its leader: it
 * refuses pre-votes for the minimum election timeout, so a voter whose host alone took a
 * busy leader host for dead cannot depose that leader before it answers the WakeUp.
 *
 * @example
 * maybeWake(s, { kind: 'propose', commands, tokens, requestId: 1 }, fx); // s.quiet === false
 */
export function maybeWake(s: RaftState, event: RaftEvent, fx: Effects): void {
  if (s.role.name === 'leader' && isClientWork(event)) s.role.idleTicks = 0;
  if (event.kind === 'wake' && event.silent) s.silentPeers = event.silent;
  const failover = event.kind === 'wake' ? failoverDeadline(s, event) : null;
  if (s.quiet && wakes(s, event)) wake(s, event, fx);
  if (failover !== null) setElectionDeadline(s, failover, true);
}

function wake(s: RaftState, event: RaftEvent, fx: Effects): void {
  s.quiet = false;
  if (s.role.name === 'leader') {
    s.role.leaseFloor = startRound(s, s.role, fx);
    return;
  }
  resetElectionDeadline(s);
  const fromLeader = event.kind === 'message' && event.from === s.leaderId && event.message.term === s.term;
  if (s.leaderId === null || fromLeader) return;
  fx.send(s.leaderId, { type: 'WakeUp', term: s.term });
  // Woken by something else than news of its leader's host, which the host still hears: the leader is as good as heard from.
  if (event.kind !== 'wake' && !s.silentPeers.includes(s.leaderId)) s.lastLeaderContact = s.now;
}

/**
 * A leader's heartbeat tick, before it is handled: one more tick since its last client
 * work (`LeaderState.idleTicks`; counted up to where it no longer matters).
 *
 * @example
 * noteTick(s); // s.role.idleTicks: 0 → 1
 */
export function noteTick(s: RaftState): void {
  if (s.role.name === 'leader' && s.role.idleTicks < s.options.quiesceAfterTicks) s.role.idleTicks++;
}

/** Work a client asked of the group: its own, or forwarded to this leader by a follower. */
function isClientWork(event: RaftEvent): boolean {
  if (event.kind === 'message') return event.message.type === 'ProposeRequest' || event.message.type === 'ReadIndexRequest';
  return event.kind === 'propose' || event.kind === 'read' || event.kind === 'changeConfig' || event.kind === 'transferLeadership';
}

function wakes(s: RaftState, event: RaftEvent): boolean {
  switch (event.kind) {
    case 'message':
      return !saysNothingNew(s, event.from, event.message);
    case 'wake':
      return event.hosts === undefined || concerns(s, event.hosts);
    case 'propose':
    case 'read':
    case 'changeConfig':
    case 'transferLeadership':
      return true;
    default:
      return false;
  }
}

/**
 * Whether a change of these peer hosts concerns this quiet node: for a leader, a follower
 * is there (it may be gone: CheckQuorum must run again; or back: catch it up); for a
 * follower, its leader is there (it may be gone: the election timer must run again). A
 * quiet follower whose leader lives needs no timer, whatever happened to the others.
 */
function concerns(s: RaftState, hosts: readonly NodeId[]): boolean {
  const role = s.role;
  if (role.name === 'leader') return hosts.some((h) => role.progress.has(h));
  return s.leaderId === null || hosts.includes(s.leaderId);
}

/**
 * For a quiet leader: an answer to its last round that says nothing new (success, the
 * whole log, this term and round). For a quiet follower: a heartbeat of its leader in
 * this term from no later round than the `quiesce` one, carrying nothing it lacks.
 */
function saysNothingNew(s: RaftState, from: NodeId, m: RaftMessage): boolean {
  if (m.term !== s.term) return false;
  if (s.role.name === 'leader') {
    return m.type === 'AppendEntriesResponse' && m.success && m.seq === s.role.seq && m.matchIndex === s.log.lastIndex;
  }
  return m.type === 'AppendEntries' && from === s.leaderId && m.seq <= s.quietRound && m.entries.length === 0 && m.leaderCommit <= s.commitIndex;
}
