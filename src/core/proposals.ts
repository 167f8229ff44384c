import { Entry } from '../messages/entry';
import type { ForwardedCommand, NodeId, ProposeRequest, ProposeResponse } from '../messages/types';
import { Effects } from './effects';
import { broadcastAppend } from './send';
import { uncommittedBytes } from './uncommittedBytes';
import type { LeaderState, RaftState } from './state';

/**
 * Commands proposed on this node during one turn. A leader appends them as one batch and
 * streams them to followers; a follower forwards them to the leader it knows (§6.2), or
 * refuses them when forwarding is off or no leader is known.
 */
export function stepPropose(
  s: RaftState,
  commands: readonly ForwardedCommand[],
  tokens: readonly unknown[],
  requestId: number,
  fx: Effects,
): void {
  if (s.role.name === 'leader' && !s.role.transfer) {
    if (overloaded(s, s.role, commands)) {
      fx.push({ type: 'proposalsRefused', tokens, overloaded: true });
      return;
    }
    const firstIndex = appendCommands(s, commands, fx);
    fx.push({ type: 'proposalsAppended', tokens, firstIndex, term: s.term });
  } else if (s.options.forward && s.role.name === 'follower' && s.leaderId !== null) {
    // Plain commands: the ones proposed here may be richer objects (the runtime passes its pending proposals).
    fx.send(s.leaderId, { type: 'ProposeRequest', term: s.term, requestId, commands: commands.map((c) => ({ kind: c.kind, data: c.data })) });
    fx.push({ type: 'proposalsForwarded', tokens, requestId });
  } else {
    fx.push({ type: 'proposalsRefused', tokens, overloaded: false });
  }
}

/**
 * The leader appends commands a follower forwarded and tells it where they went. A
 * duplicate of a request (the network may deliver one twice) gets the first answer
 * again, never a second append. That holds for refusals too: a request refused while a
 * leadership transfer is under way stays refused after the transfer gives up, because
 * the follower has already told its caller that nothing was appended (`NotLeaderError`),
 * and the caller may have retried elsewhere. The same goes for a request refused because
 * the leader was over `maxUncommittedBytes`.
 */
export function handleProposeRequest(s: RaftState, from: NodeId, m: ProposeRequest, fx: Effects): void {
  if (s.role.name !== 'leader') {
    fx.send(from, { type: 'ProposeResponse', term: s.term, requestId: m.requestId, success: false, firstIndex: 0, overloaded: false });
    return;
  }
  let seen = s.role.forwarded.get(from);
  if (!seen) s.role.forwarded.set(from, (seen = new Map()));
  let firstIndex = seen.get(m.requestId);
  if (firstIndex === undefined) {
    firstIndex = s.role.transfer ? REFUSED : overloaded(s, s.role, m.commands) ? OVERLOADED : appendCommands(s, m.commands, fx);
    seen.set(m.requestId, firstIndex);
    if (seen.size > FORWARDED_MEMORY) seen.delete(seen.keys().next().value!);
  }
  if (firstIndex === REFUSED || firstIndex === OVERLOADED) {
    const refusal = { type: 'ProposeResponse', term: s.term, requestId: m.requestId, success: false, firstIndex: 0, overloaded: firstIndex === OVERLOADED } as const;
    fx.send(from, refusal);
  } else {
    fx.sendNow(from, { type: 'ProposeResponse', term: s.term, requestId: m.requestId, success: true, firstIndex, overloaded: false });
    // The follower answers its callers once it applies these: it gets a notice when they commit.
    const pr = s.role.progress.get(from);
    if (pr) pr.commitWanted = Math.max(pr.commitWanted, firstIndex + m.commands.length - 1);
  }
}

/** A remembered request that was refused (no entry has index 0). */
const REFUSED = 0;
/** A remembered request refused because the leader was over `maxUncommittedBytes`. */
const OVERLOADED = -1;

/** Forwarded request ids remembered per follower, to answer duplicates without appending again. */
const FORWARDED_MEMORY = 1024;

/** The leader's answer to commands this node forwarded. */
export function handleProposeResponse(m: ProposeResponse, fx: Effects): void {
  fx.push({ type: 'forwardAnswered', requestId: m.requestId, success: m.success, firstIndex: m.firstIndex, term: m.term, overloaded: m.overloaded });
}

/**
 * Whether the leader must refuse `commands`: its uncommitted entries already hold
 * `maxUncommittedBytes` or would with them (etcd's MaxUncommittedEntriesSize). A batch
 * is always taken when nothing is uncommitted, however large, so that it can make
 * progress. Without a bound, a client proposing faster than followers persist would
 * grow the leader's log, and its memory, without end.
 */
function overloaded(s: RaftState, L: LeaderState, commands: readonly ForwardedCommand[]): boolean {
  const pending = uncommittedBytes(s, L);
  if (pending === 0) return false;
  let bytes = pending;
  for (const c of commands) bytes += c.data.length;
  return bytes > s.options.maxUncommittedBytes;
}

function appendCommands(s: RaftState, commands: readonly ForwardedCommand[], fx: Effects): number {
  const firstIndex = s.log.lastIndex + 1;
  const entries: Entry[] = commands.map((c, i) => ({ index: firstIndex + i, term: s.term, kind: c.kind as Entry['kind'], data: c.data }));
  s.log.append(entries);
  fx.persistEntries(entries);
  broadcastAppend(s, fx);
  return firstIndex;
}
