import { Entry } from '../messages/entry';
import type { ForwardedCommand, NodeId, ProposeRequest, ProposeResponse } from '../messages/types';
import { Effects } from './effects';
import { broadcastAppend } from './send';
import { uncommittedBytes } from './uncommittedBytes';
import type { LeaderState, RaftState } from './state';

/**
 * Commands proposed on this node during one turn (`tokens[i]` stands for `commands[i]`).
 * A leader appends them as one batch and streams them to followers — as many of them as
 * fit under `maxUncommittedBytes`, from the first on (`admittedPrefix`): the rest are
 * refused as overloaded. A follower forwards them to the leader it knows (§6.2), or
 * refuses them when forwarding is off or no leader is known.
 *
 * @example
 * // limit 10 bytes, 6 uncommitted: commands of 3, 1 and 2 bytes
 * stepPropose(s, commands, ['a', 'b', 'c'], 1, fx);
 * // proposalsAppended ['a', 'b'] at lastIndex + 1; proposalsRefused ['c'], overloaded
 */
export function stepPropose(
  s: RaftState,
  commands: readonly ForwardedCommand[],
  tokens: readonly unknown[],
  requestId: number,
  fx: Effects,
): void {
  if (s.role.name === 'leader' && !s.role.transfer) {
    const admitted = admittedPrefix(s, s.role, commands);
    if (admitted === commands.length) {
      const firstIndex = appendCommands(s, commands, fx);
      fx.push({ type: 'proposalsAppended', tokens, firstIndex, term: s.term });
      return;
    }
    if (admitted === 0) {
      fx.push({ type: 'proposalsRefused', tokens, overloaded: true });
      return;
    }
    // The tokens stand for the commands one for one: the appended ones first, then the refused.
    const firstIndex = appendCommands(s, commands.slice(0, admitted), fx);
    fx.push({ type: 'proposalsAppended', tokens: tokens.slice(0, admitted), firstIndex, term: s.term });
    fx.push({ type: 'proposalsRefused', tokens: tokens.slice(admitted), overloaded: true });
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
    firstIndex = s.role.transfer ? REFUSED : requestOverloaded(s, s.role, m.commands) ? OVERLOADED : appendCommands(s, m.commands, fx);
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
 * How many of `commands`, from the first on, the leader can take without its uncommitted
 * entries holding more than `maxUncommittedBytes` (etcd's MaxUncommittedEntriesSize); the
 * rest are refused. Without a bound, a client proposing faster than followers persist
 * would grow the leader's log, and its memory, without end. When nothing is uncommitted
 * the first command is always taken, however large, so that the log can make progress;
 * a turn's local commands therefore keep the uncommitted bytes within `maxUncommittedBytes`
 * or one command (forwarded requests: `requestOverloaded`).
 *
 * A prefix, never a selection: a command refused means every later one of the batch is
 * refused too, even one small enough to fit, so of the commands one caller pipelined in a
 * turn the appended ones are always its first ones, never with a hole where one was refused.
 *
 * @example
 * // limit 10, 6 bytes uncommitted: commands of 3, 1, 2 and 1 bytes
 * admittedPrefix(s, L, commands); // 2: 6 + 3 + 1 = 10 fits, + 2 does not (and the 1 after it is not looked at)
 */
function admittedPrefix(s: RaftState, L: LeaderState, commands: readonly ForwardedCommand[]): number {
  const pending = uncommittedBytes(s, L);
  const limit = s.options.maxUncommittedBytes;
  let bytes = pending;
  let admitted = 0;
  for (const c of commands) {
    bytes += c.data.length;
    if (bytes > limit) break;
    admitted++;
  }
  return admitted === 0 && pending === 0 && commands.length > 0 ? 1 : admitted;
}

/**
 * Whether the leader must refuse a forwarded request: not all of its commands fit under
 * `maxUncommittedBytes`, and something is uncommitted. A request is taken or refused
 * whole — it has one answer, which carries no count of commands taken — so when nothing
 * is uncommitted the whole request is taken (at most the follower's batch bytes, or one
 * command larger than that): refusing it would refuse forever a request larger than the limit.
 */
function requestOverloaded(s: RaftState, L: LeaderState, commands: readonly ForwardedCommand[]): boolean {
  return uncommittedBytes(s, L) > 0 && admittedPrefix(s, L, commands) < commands.length;
}

function appendCommands(s: RaftState, commands: readonly ForwardedCommand[], fx: Effects): number {
  const firstIndex = s.log.lastIndex + 1;
  const entries: Entry[] = commands.map((c, i) => ({ index: firstIndex + i, term: s.term, kind: c.kind as Entry['kind'], data: c.data }));
  s.log.append(entries);
  fx.persistEntries(entries);
  broadcastAppend(s, fx);
  return firstIndex;
}
