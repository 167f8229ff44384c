import type { NodeId, RaftMessage } from '../messages/types';
import { setElectionRange } from './electionDeadline';
import { Effects } from './effects';
import { handlePreVote, handlePreVoteResponse, handleRequestVote, handleVoteResponse, handleHardStateSaved, ignoresVoteRequest } from './election';
import type { RaftEvent } from './events';
import { handleTimeoutNow, mayCampaign, stepChangeConfig, stepTransfer } from './membership';
import { handleInstallSnapshot, onSnapshotChunkStored, onSnapshotReadFailed, onSnapshotTaken } from './snapshots';
import { handleProposeRequest, handleProposeResponse, stepPropose } from './proposals';
import { handleReadIndexRequest, handleReadIndexResponse, stepRead } from './reads';
import { handleAppendEntries, handleAppendResponse, handleInstallSnapshotResponse, handleMessagesLost, leaderTick, maybeCommit } from './replication';
import { becomeFollower, campaign } from './roles';
import { askTerms, handleTermQuery, handleTermReport, onTermsSaved, recoveringTerms } from './termRecovery';
import { handleApplied, maybeApply } from './apply';
import { handleEntriesRead } from './entryReads';
import { maybeEvict } from './logCache';
import { maybeQuiesce, maybeQuiesceFollower, maybeWake, noteTick } from './quiescence';
import { RaftState } from './state';
import { campaignReport, higherTermReport } from './electionReports';

/**
 * The node's single entry point into the Raft rules: applies one event to the state and
 * returns what the driver must do about it. Synchronous and free of IO (the time of the
 * event is `s.now`, set by the driver), so every rule is tested by feeding an event and
 * comparing the effects.
 *
 * @example
 * const fx = step(state, { kind: 'electionTimeout', epoch: state.epoch, forced: true });
 * fx.list; // [{ type: 'send', message: { type: 'PreVote', ... } }, ...]
 */
export function step(s: RaftState, event: RaftEvent): Effects {
  const fx = new Effects();
  maybeWake(s, event, fx);
  switch (event.kind) {
    case 'message':
      stepMessage(s, event.from, event.message, fx);
      break;
    case 'electionTimeout':
      stepElectionTimeout(s, event, fx);
      break;
    case 'heartbeatTick':
      if (event.epoch === s.epoch && !s.quiet) heartbeatTick(s, fx);
      break;
    case 'propose':
      stepPropose(s, event.commands, event.tokens, event.requestId, fx);
      break;
    case 'read':
      stepRead(s, event.requestId, event.lease, fx);
      break;
    case 'changeConfig':
      stepChangeConfig(s, event.requestId, event.change, fx);
      break;
    case 'transferLeadership':
      stepTransfer(s, event.requestId, event.to, fx);
      break;
    case 'persisted':
      stepPersisted(s, event.index, event.term, fx);
      break;
    case 'setElectionRange':
      setElectionRange(s, event.range);
      break;
    case 'repaired':
      s.repair = null;
      break;
    case 'hardStateSaved':
      if (event.term > s.durableTerm) s.durableTerm = event.term;
      handleHardStateSaved(s, event.term, event.votedFor, fx);
      onTermsSaved(s, event.term, event.votedFor, fx);
      break;
    case 'snapshotTaken':
      onSnapshotTaken(s, event.index, event.term, event.compactUpTo);
      break;
    case 'snapshotChunkStored':
      onSnapshotChunkStored(s, event.from, event.meta, event.chunk, event.done, fx);
      break;
    case 'applied':
      handleApplied(s, event.index);
      break;
    case 'snapshotReadFailed':
    case 'entriesRead':
    case 'messagesLost':
      stepReplicationNews(s, event, fx);
      break;
  }
  afterEvent(s, fx);
  return fx;
}

/** The election timer ran out (unless it is stale): a voter campaigns, saying why; a node recovering its terms asks for them again. */
function stepElectionTimeout(s: RaftState, event: Extract<RaftEvent, { kind: 'electionTimeout' }>, fx: Effects): void {
  if (event.epoch !== s.epoch || (s.now < s.electionDeadline && !event.forced)) return; // a stale timer
  if (recoveringTerms(s)) return askTerms(s, fx);
  if (s.role.name === 'leader' || !mayCampaign(s) || s.repair) return;
  const report = campaignReport(s, { preVote: s.options.preVote, transfer: false });
  campaign(s, fx);
  fx.report(report);
}

/** What the runtime tells a leader about replicating to one follower: storage reads done or failed, messages lost on the way. */
function stepReplicationNews(s: RaftState, event: Extract<RaftEvent, { kind: 'snapshotReadFailed' | 'entriesRead' | 'messagesLost' }>, fx: Effects): void {
  if (event.kind === 'snapshotReadFailed') onSnapshotReadFailed(s, event.to, fx);
  else if (event.kind === 'entriesRead') handleEntriesRead(s, event, fx);
  else handleMessagesLost(s, event.to);
}

/** A leader's tick: counted towards quiescence (`noteTick`), then its periodic duty. */
function heartbeatTick(s: RaftState, fx: Effects): void {
  noteTick(s);
  leaderTick(s, fx);
}

/** What every step ends with: a leader with nothing left to do goes quiet, then committed entries go to the application, then the log's memory is trimmed. */
function afterEvent(s: RaftState, fx: Effects): void {
  maybeQuiesce(s, fx);
  maybeApply(s, fx);
  maybeEvict(s);
}

/**
 * The term rules, once for every message before the role sees it (§5.1): a newer term
 * makes this node a follower of that term; a message of an older term is answered with
 * the current term (requests) or ignored (responses). Pre-votes are exempt: they speak
 * of a term nobody holds yet (§9.6). So is a RequestVote that leader stickiness
 * disregards (§4.2.3): it must not depose the leader this node believes in.
 */
function stepMessage(s: RaftState, from: NodeId, m: RaftMessage, fx: Effects): void {
  if (m.type === 'PreVote') return handlePreVote(s, from, m, fx);
  if (m.type === 'PreVoteResponse') return handlePreVoteResponse(s, from, m, fx);
  // A pure read of the term, and its answer (core/termRecovery.ts): no term rules apply.
  if (m.type === 'TermQuery') return handleTermQuery(s, from, m, fx);
  if (m.type === 'TermReport') return handleTermReport(s, from, m, fx);
  if ((m.type === 'AppendEntries' || m.type === 'InstallSnapshot') && recoveringTerms(s)) return;
  if (m.type === 'RequestVote' && ignoresVoteRequest(s, m)) return;
  if (m.term > s.term) {
    const report = s.role.name === 'leader' ? higherTermReport(s, s.role, from, m) : null;
    becomeFollower(s, m.term, m.type === 'AppendEntries' || m.type === 'InstallSnapshot' ? from : null, fx);
    if (report) fx.report(report);
  } else if (m.term < s.term) {
    refuseStale(s, from, m, fx);
    return;
  }
  switch (m.type) {
    case 'RequestVote':
      return handleRequestVote(s, from, m, fx);
    case 'RequestVoteResponse':
      return handleVoteResponse(s, from, m, fx);
    case 'AppendEntries':
      if (s.role.name === 'leader') throw new Error(`two leaders in term ${s.term}: ${s.id} and ${from}`);
      if (s.role.name !== 'follower') becomeFollower(s, s.term, from, fx);
      handleAppendEntries(s, from, m, fx);
      return maybeQuiesceFollower(s, m);
    case 'AppendEntriesResponse':
      return handleAppendResponse(s, from, m, fx);
    case 'ReadIndexRequest':
      return handleReadIndexRequest(s, from, m, fx);
    case 'ReadIndexResponse':
      return handleReadIndexResponse(m, fx);
    case 'ProposeRequest':
      return handleProposeRequest(s, from, m, fx);
    case 'ProposeResponse':
      return handleProposeResponse(m, fx);
    case 'TimeoutNow':
      return handleTimeoutNow(s, from, m, fx);
    case 'InstallSnapshot':
      if (s.role.name === 'leader') throw new Error(`two leaders in term ${s.term}: ${s.id} and ${from}`);
      if (s.role.name !== 'follower') becomeFollower(s, s.term, from, fx);
      return handleInstallSnapshot(s, from, m, fx);
    case 'InstallSnapshotResponse':
      return handleInstallSnapshotResponse(s, from, m, fx);
    case 'WakeUp':
      return; // it woke this node if it was quiet (maybeWake); nothing else to do
  }
}

/** Tells the sender of a stale request the current term, so it steps down. */
function refuseStale(s: RaftState, from: NodeId, m: RaftMessage, fx: Effects): void {
  switch (m.type) {
    case 'RequestVote':
      return fx.send(from, { type: 'RequestVoteResponse', term: s.term, voteGranted: false });
    case 'AppendEntries':
      // Marked as answering an earlier term (`isStaleTermRefusal`): conflictIndex 0, which
      // no log comparison gives, and round 0, which no leader sends.
      return fx.send(from, {
        type: 'AppendEntriesResponse',
        term: s.term,
        success: false,
        matchIndex: 0,
        rejectedIndex: m.prevLogIndex,
        conflictIndex: 0,
        conflictTerm: 0,
        seq: 0,
      });
    case 'ReadIndexRequest':
      return fx.send(from, { type: 'ReadIndexResponse', term: s.term, requestId: m.requestId, success: false, readIndex: 0 });
    case 'ProposeRequest':
      return fx.send(from, { type: 'ProposeResponse', term: s.term, requestId: m.requestId, success: false, firstIndex: 0, overloaded: false });
    case 'InstallSnapshot':
      return fx.send(from, {
        type: 'InstallSnapshotResponse',
        term: s.term,
        lastIncludedIndex: m.lastIncludedIndex,
        chunk: m.chunk,
        success: false,
        installed: false,
      });
  }
}

/**
 * Local durability: entries up to `index` are on disk, if the log still holds that entry
 * with that term (a truncation may have replaced it meanwhile; by the Log Matching
 * property, a matching (index, term) means the whole prefix matches). A leader counts
 * itself toward the majority only now (invariant 2).
 */
function stepPersisted(s: RaftState, index: number, term: number, fx: Effects): void {
  if (index <= s.durableIndex || s.log.termAt(index) !== term) return;
  s.durableIndex = index;
  maybeCommit(s, fx);
}
