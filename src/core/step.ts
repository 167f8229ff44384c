import { EntryKind, Entry } from '../messages/entry';
import type { NodeId, RaftMessage } from '../messages/types';
import { Effects } from './effects';
import { handleRequestVote, handleVoteResponse } from './election';
import type { RaftEvent } from './events';
import { broadcastAppend, handleAppendEntries, handleAppendResponse, leaderTick, maybeCommit } from './replication';
import { becomeCandidate, becomeFollower } from './roles';
import type { RaftState } from './state';

/**
 * The node's single entry point into the Raft rules: applies one event to the state and
 * returns what the driver must do about it. Synchronous and free of IO, so every rule is
 * tested by feeding an event and comparing the effects.
 *
 * @example
 * const fx = step(state, { kind: 'electionTimeout', epoch: state.epoch });
 * fx.list; // [{ type: 'saveHardState', ... }, { type: 'send', message: { type: 'RequestVote', ... } }, ...]
 */
export function step(s: RaftState, event: RaftEvent): Effects {
  const fx = new Effects();
  switch (event.kind) {
    case 'message':
      stepMessage(s, event.from, event.message, fx);
      break;
    case 'electionTimeout':
      if (event.epoch === s.epoch && s.role.name !== 'leader' && s.voters.includes(s.id)) becomeCandidate(s, fx);
      break;
    case 'heartbeatTick':
      if (event.epoch === s.epoch) leaderTick(s, fx);
      break;
    case 'propose':
      stepPropose(s, event.commands, event.tokens, fx);
      break;
    case 'persisted':
      stepPersisted(s, event.index, event.term);
      break;
  }
  return fx;
}

/**
 * The term rules, once for every message before the role sees it (§5.1): a newer term
 * makes this node a follower of that term; a message of an older term is answered with
 * the current term (requests) or ignored (responses).
 */
function stepMessage(s: RaftState, from: NodeId, m: RaftMessage, fx: Effects): void {
  if (m.term > s.term) {
    becomeFollower(s, m.term, m.type === 'AppendEntries' ? from : null, fx);
  } else if (m.term < s.term) {
    if (m.type === 'RequestVote') fx.send(from, { type: 'RequestVoteResponse', term: s.term, voteGranted: false });
    if (m.type === 'AppendEntries') {
      fx.send(from, {
        type: 'AppendEntriesResponse',
        term: s.term,
        success: false,
        matchIndex: 0,
        rejectedIndex: m.prevLogIndex,
        conflictIndex: 0,
        conflictTerm: 0,
      });
    }
    return;
  }
  switch (m.type) {
    case 'RequestVote':
      handleRequestVote(s, from, m, fx);
      break;
    case 'RequestVoteResponse':
      handleVoteResponse(s, from, m, fx);
      break;
    case 'AppendEntries':
      if (s.role.name === 'leader') throw new Error(`two leaders in term ${s.term}: ${s.id} and ${from}`);
      if (s.role.name === 'candidate') becomeFollower(s, s.term, from, fx);
      handleAppendEntries(s, from, m, fx);
      break;
    case 'AppendEntriesResponse':
      handleAppendResponse(s, from, m, fx);
      break;
  }
}

/** A leader appends the turn's commands as one batch and streams them to followers. */
function stepPropose(s: RaftState, commands: readonly Uint8Array[], tokens: readonly unknown[], fx: Effects): void {
  if (s.role.name !== 'leader') {
    fx.push({ type: 'proposalsRefused', tokens });
    return;
  }
  const firstIndex = s.log.lastIndex + 1;
  const entries: Entry[] = commands.map((data, i) => ({ index: firstIndex + i, term: s.term, kind: EntryKind.Command, data }));
  s.log.append(entries);
  fx.persistEntries(entries);
  fx.push({ type: 'proposalsAppended', tokens, firstIndex, term: s.term });
  broadcastAppend(s, fx);
}

/**
 * Local durability: entries up to `index` are on disk, if the log still holds that entry
 * with that term (a truncation may have replaced it meanwhile; by the Log Matching
 * property, a matching (index, term) means the whole prefix matches). A leader counts
 * itself toward the majority only now (invariant 2).
 */
function stepPersisted(s: RaftState, index: number, term: number): void {
  if (index <= s.durableIndex || s.log.termAt(index) !== term) return;
  s.durableIndex = index;
  maybeCommit(s);
}
