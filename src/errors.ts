/**
 * Named errors raised by rxraft. Each carries the data a caller needs to react.
 *
 * @example
 * try { await node.propose(cmd); }
 * catch (e) { if (e instanceof NotLeaderError) retryOn(e.leaderId); }
 */

import { RaftError } from './messages/errors';

// The two errors that messages/ raises live there (messages/ imports nothing else of src/);
// the public API names them here with the others.
export { RaftError, InvalidMessageError } from './messages/errors';

/**
 * The node is not the leader. `leaderId` is the leader it knows of, if any.
 *
 * @example
 * try { await node.propose(cmd); }
 * catch (e) { if (e instanceof NotLeaderError) retryVia(e.leaderId); } // null: no leader known yet, retry later
 */
export class NotLeaderError extends RaftError {
  constructor(readonly leaderId: string | null, readonly term: number) {
    super(leaderId ? `not the leader; the leader is ${leaderId} (term ${term})` : `not the leader; no leader known (term ${term})`);
  }
}

/**
 * The proposal may have been appended, and nobody can tell whether it will commit:
 * leadership was lost after it was appended, or the node it was forwarded to answered
 * that it no longer leads (it may have appended it before). The outcome is unknown; a
 * retry is safe only with a client session. `index` is 0 when the position is not known.
 *
 * @example
 * // Retry with the same session: applied at most once, whichever attempt commits.
 * const session = { clientId: 'client-7', seq: 42 };
 * try { await node.propose(cmd, { session }); }
 * catch (e) { if (e instanceof ProposalDroppedError) await node.propose(cmd, { session }); }
 */
export class ProposalDroppedError extends RaftError {
  constructor(readonly index: number, readonly term: number, reason: string) {
    super(`${index > 0 ? `proposal at index ${index} (term ${term})` : 'proposal'} dropped: ${reason}; it may or may not commit`);
  }
}

/**
 * The leader refused a proposal: with it, the commands in its log not yet committed
 * would hold more than `maxUncommittedBytes` (followers are slow or out of reach). Of
 * the proposals of one turn, the first ones that fit may have been taken and the rest
 * refused. Nothing of this one was appended: retry later. `limit` is known when the
 * proposal was made on the leader itself.
 *
 * @example
 * try { await node.propose(cmd); }
 * catch (e) { if (e instanceof LeaderOverloadedError) await backOff(); } // nothing appended: safe to retry
 */
export class LeaderOverloadedError extends RaftError {
  constructor(readonly leaderId: string | null, readonly limit: number | null) {
    super(`leader ${leaderId ?? '(unknown)'} refused the proposal: ${limit ?? 'its limit of'} bytes of its log are not committed yet; retry later`);
  }
}

/**
 * The node was stopped (or failed) before the request completed, or a call came after it stopped.
 *
 * @example
 * await node.stop();
 * await node.read(); // rejects with NodeStoppedError
 */
export class NodeStoppedError extends RaftError {
  constructor(readonly nodeId: string) {
    super(`node ${nodeId} is stopped`);
  }
}

/**
 * `stop()` stopped the node (or host) — every timer cancelled, every waiting call
 * settled, its streams complete — but what it closes did not finish closing within
 * `stopTimeout`: `pending` names each part still closing (`'storage'`, `'transport'`;
 * a host's groups as `'<group> storage'`), left to finish in the background. Nothing
 * acknowledged is lost (the node acknowledges only what storage made durable), but a
 * file lock or a socket may still be held: exit the process rather than open the same
 * storage again in it.
 *
 * @example
 * await node.stop().catch((e) => {
 *   if (e instanceof StopTimeoutError) log.error(`${e.pending.join(', ')} still closing after ${e.after} ms`);
 *   process.exit(1);
 * });
 */
export class StopTimeoutError extends RaftError {
  constructor(readonly id: string, readonly pending: readonly string[], readonly after: number) {
    super(`${id} stopped, but its ${pending.join(', ')} did not close within ${after} ms; left closing in the background`);
  }
}

/**
 * Storage failed; the node stopped (fail-stop) and acknowledged nothing more. It is
 * reported on `errors$`, and what was pending rejects with it.
 *
 * @example
 * node.errors$.subscribe((e) => { if (e instanceof StorageFailedError) process.exitCode = 1; }); // stopped for good: let the supervisor restart it
 */
export class StorageFailedError extends RaftError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }

  /**
   * `error` as a storage failure: itself if it already is one, else wrapped, its message
   * after `doing`.
   *
   * @example
   * storage.append(entries).catch((e) => failStop(StorageFailedError.of(e, 'appending entries')));
   */
  static of(error: unknown, doing: string): StorageFailedError {
    return error instanceof StorageFailedError ? error : new StorageFailedError(`${doing} failed: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

/**
 * `Storage.readEntries` was asked for a range it cannot serve: not a range of positive
 * integers, or not wholly inside the durable log (`available` is what it holds now,
 * null when it holds no entry). `compacted` says the start of the range was compacted
 * away (a snapshot covers it: send that instead); otherwise the range runs past the
 * durable end or is malformed.
 *
 * @example
 * try { await storage.readEntries(5, 9, 1 << 20); }
 * catch (e) { if (e instanceof EntryRangeError && e.compacted) sendSnapshot(); }
 */
export class EntryRangeError extends RaftError {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly available: { readonly first: number; readonly last: number } | null,
    readonly compacted: boolean,
    detail: string,
  ) {
    const holds = available ? `holds ${available.first}..${available.last}` : 'holds no entry';
    super(`cannot read entries [${from}, ${to}): ${detail} (the durable log ${holds})`);
  }
}

/**
 * A payload exceeds the configured maximum size: a command over `maxCommandBytes`
 * (`propose` rejects with it), or a message over the TCP transport's `maxFrameBytes`
 * (reported on `errors$`, the message dropped).
 *
 * @example
 * await node.propose(new Uint8Array(2 << 20)); // rejects: PayloadTooLargeError { size: 2097152, limit: 1048576 }
 */
export class PayloadTooLargeError extends RaftError {
  constructor(readonly size: number, readonly limit: number) {
    super(`payload of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/**
 * A membership change was refused (a leadership transfer under way, a learner still
 * catching up, a change that would leave no voter, ...), or its final configuration did
 * not commit here within `requestTimeout` × 5 (then it may still commit). `reason` says
 * which. A change asked of a node that does not lead rejects with `NotLeaderError` instead.
 *
 * @example
 * try { await leader.promote('n4'); }
 * catch (e) { if (e instanceof MembershipChangeError) log.warn(e.reason); }
 */
export class MembershipChangeError extends RaftError {
  constructor(readonly reason: string) {
    super(`membership change failed: ${reason}`);
  }
}

/**
 * A leadership transfer was refused or did not complete within an election timeout.
 *
 * @example
 * await leader.transferLeadership('n3').catch((e) => { if (e instanceof LeadershipTransferError) log.warn(e.reason); });
 */
export class LeadershipTransferError extends RaftError {
  constructor(readonly reason: string) {
    super(`leadership transfer failed: ${reason}`);
  }
}

/**
 * A message arrived from a node that is not a member of the cluster; it was dropped and
 * reported on `errors$`.
 *
 * @example
 * node.errors$.pipe(filter((e): e is UnknownPeerError => e instanceof UnknownPeerError)).subscribe((e) => log.warn(`stray node ${e.peerId}`));
 */
export class UnknownPeerError extends RaftError {
  constructor(readonly peerId: string) {
    super(`message from unknown peer ${JSON.stringify(peerId).slice(0, 80)} ignored`);
  }
}

/**
 * A forwarded proposal or a read got no answer within `requestTimeout`, or this node did
 * not apply the result in time (a leader's own proposal: not applied within
 * `requestTimeout` × 5 of its append). For a proposal the outcome is unknown (it may still commit).
 *
 * @example
 * try { await node.read(); }
 * catch (e) { if (e instanceof RequestTimeoutError) console.warn(`${e.what} unanswered after ${e.after} ms`); }
 */
export class RequestTimeoutError extends RaftError {
  constructor(readonly what: 'propose' | 'read', readonly after: number) {
    super(what === 'propose' ? `proposal unanswered after ${after} ms; it may or may not commit` : `read unanswered after ${after} ms`);
  }
}

/**
 * The storage has a log but lost its hard state (term and vote), and no configuration in
 * the log names another member to recover it from (a single-node cluster): the node may
 * have voted in a term it no longer knows and nobody can tell it which, so it refuses to
 * start. With other members it starts instead and recovers the term from them (see
 * `HardStateRecoveryStalledError`). Delete its data and bootstrap it again.
 *
 * @example
 * await node.ready; // rejects with HardStateLostError (also reported on errors$)
 */
export class HardStateLostError extends RaftError {
  constructor(readonly nodeId: string) {
    super(
      `node ${nodeId}: the hard state (term and vote) is missing beside a log, and no configuration in the log names another member ` +
        'to recover the term from; refusing to start: delete its data and bootstrap it again',
    );
  }
}

/**
 * Reported on `errors$` (once) by a node recovering a lost hard state, when some members
 * have not reported their term after several election timeouts. The node stays safe: it
 * neither votes nor campaigns nor takes entries until every member of every
 * configuration in its log has answered. Bring the `missing` members back (or, if they
 * are gone for good, remove this node and add it again with empty storage).
 *
 * @example
 * node.errors$.pipe(filter((e): e is HardStateRecoveryStalledError => e instanceof HardStateRecoveryStalledError)).subscribe((e) => alert(e.missing));
 */
export class HardStateRecoveryStalledError extends RaftError {
  constructor(readonly nodeId: string, readonly missing: readonly string[]) {
    super(`node ${nodeId}: recovering its lost hard state, still waiting for the term of ${missing.join(', ')}; it neither votes nor takes entries until they answer`);
  }
}

/**
 * An option of `createRaftNode` (or of `new MemoryHub`) is unusable. Thrown at once, by
 * the call that got it, before anything starts. `option` names the option at fault (for a
 * rule between two options, both, as `heartbeatInterval / electionTimeout`); the message
 * names the rule and the values given.
 *
 * @example
 * try { createRaftNode({ ...options, heartbeatInterval: 500 }); }
 * catch (e) { if (e instanceof InvalidOptionsError) console.error(e.option, e.message); }
 * // e.option: 'heartbeatInterval / electionTimeout.min'
 * // e.message: 'invalid option heartbeatInterval / electionTimeout.min: heartbeatInterval (500) must be at most electionTimeout.min / 2 (75), ...'
 */
export class InvalidOptionsError extends RaftError {
  constructor(readonly option: string, readonly reason: string) {
    super(`invalid option ${option}: ${reason}`);
  }
}

/**
 * The application's `stateMachine.apply` threw or failed for entry `index`. The state
 * machine can no longer be trusted, so the node stopped (fail-stop); restart it to
 * replay the log from its last snapshot. It is reported on `errors$`, and what was
 * pending rejects with it.
 *
 * @example
 * node.errors$.subscribe((e) => { if (e instanceof ApplyFailedError) log.error(e.cause, `apply failed at ${e.index}`); });
 */
export class ApplyFailedError extends RaftError {
  constructor(readonly index: number, cause: unknown) {
    super(`stateMachine.apply failed at index ${index}: ${cause instanceof Error ? cause.message : String(cause)}; the node stopped`, { cause });
  }
}
