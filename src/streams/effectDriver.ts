import type { Effect } from '../core/effects';
import type { ElectionReport } from '../core/electionReports';
import type { RaftState } from '../core/state';
import { LeaderOverloadedError, NotLeaderError, ProposalDroppedError, RaftError } from '../errors';
import type { Applier } from './applier';
import type { AppendEntries } from '../messages/types';
import type { Entry } from '../messages/entry';
import { firstIndexOf } from '../messages/entryRun';
import type { RoleSwitch } from '../states/roleSwitch';
import type { ApplyBarrier } from './applyBarrier';
import type { ClientRequest, PendingRead } from './clientIntake';
import type { CommitNotices } from './commitNotices';
import type { DurableStep } from './durableWrites';
import type { MembershipRequests } from './membershipRequests';
import type { OpenRequests } from './openRequests';
import type { PendingProposal, ProposalTracker } from './proposals';
import type { ProposalDeadlines } from './proposalDeadlines';
import { MicrotaskQueue } from './microtaskQueue';
import type { SnapshotDriver } from './snapshots';
import type { Inlet } from '../operators/inlet';

/** What the effect driver hands each effect to. */
export interface EffectDriverDeps {
  /** Writes and sends, in order (carried out by `durableWrites`). */
  readonly durableSteps: Pick<Inlet<DurableStep>, 'next'>;
  readonly notices: CommitNotices;
  readonly tracker: ProposalTracker;
  /** The deadline of this leader's own proposals. */
  readonly deadlines: Pick<ProposalDeadlines, 'add'>;
  readonly requests: OpenRequests<ClientRequest>;
  readonly barrier: ApplyBarrier;
  readonly membership: MembershipRequests;
  readonly snapshots: SnapshotDriver;
  /** The role pipelines: the leader's AppendEntries and snapshot chunks go to that follower's `replicateTo`. */
  readonly roles: Pick<RoleSwitch, 'replicate' | 'snapshotTransfer' | 'readEntries'>;
  /** How far the application has applied (ahead of the engine's `appliedIndex` until it hears), and session duplicates. */
  readonly applier: Pick<Applier, 'push' | 'appliedUpTo' | 'originalOf'>;
  /** The progress of a lost hard state's recovery (`core/termRecovery.ts`). */
  readonly termRecovery: (effect: Extract<Effect, { type: 'termsRecovered' | 'termRecoveryStalled' }>) => void;
  /** Why an election started, a vote was granted or a leader stepped down (`RaftNode.elections$`). */
  readonly reportElection: (report: ElectionReport) => void;
}

/**
 * Routes the effects of one turn, in the order the rules produced them, to the part of
 * the runtime that carries each out: writes and sends to `durableWrites` (persist, then
 * send what depended on it), the leader's AppendEntries and snapshot chunks to its
 * pipeline for that follower (`replicateTo`), other snapshot and membership effects to
 * their drivers, and the answers to proposals and reads to whoever waits for them — at once when refused, and
 * through the `ApplyBarrier` when they must wait for this node's own apply.
 *
 * @example
 * const driver = new EffectDriver(deps);
 * driver.carryOut(step(state, event).list, state);
 */
export class EffectDriver {
  /** Entries to apply once the log write of their turn has started (see `carryOut`), in order. */
  private readonly applyLater = new MicrotaskQueue<readonly Entry[]>((entries) => this.deps.applier.push(entries));
  /** The turn being carried out starts a log write that nothing earlier holds up. */
  private writeStarts = false;

  constructor(private readonly deps: EffectDriverDeps) {}

  /**
   * Carries out one turn's effects in order, with two exceptions that shorten a write's
   * path and change nothing the rules rely on:
   * - in a turn that writes and sends only AppendEntries (a leader's proposals), the
   *   AppendEntries go first: the followers' copies leave before the leader starts its
   *   own write, which runs in parallel either way (DESIGN.md, "Write in parallel"). A
   *   turn that sends anything else keeps the rules' order (see `appendsFirst`);
   * - entries to apply in a turn that starts a log write with nothing ahead of it are
   *   applied right after that write has started (the storage starts it at the end of
   *   the turn, a microtask), not before — a follower's answer waits for its write, never
   *   for the application. Later entries queue behind them, so the order holds.
   */
  carryOut(effects: readonly Effect[], s: RaftState): void {
    this.writeStarts = false;
    const early = appendsFirst(effects);
    if (early) for (const effect of effects) if (isLeaderAppend(effect)) this.replicate(effect, s);
    for (const effect of effects) if (!early || !isLeaderAppend(effect)) this.carry(effect, s);
  }

  private carry(effect: Effect, s: RaftState): void {
    const d = this.deps;
    if (d.membership.onEffect(effect, s) || d.snapshots.onEffect(effect)) return;
    switch (effect.type) {
      case 'saveHardState':
        d.durableSteps.next({ write: effect });
        break;
      case 'persistEntries':
        d.durableSteps.next({ write: effect });
        if (firstIndexOf(effect.entries) === s.durableIndex + 1) this.writeStarts = true;
        break;
      case 'send':
        if (isLeaderAppend(effect)) this.replicate(effect, s);
        else d.durableSteps.next({ release: { to: effect.to, message: effect.message }, afterWrites: effect.afterPersist });
        break;
      case 'sendSnapshotChunk':
      case 'parkSnapshotTransfer':
        d.roles.snapshotTransfer(effect);
        break;
      case 'readEntries':
        d.roles.readEntries(effect, s);
        break;
      case 'apply':
        if (this.writeStarts || this.applyLater.pending) this.applyLater.add(effect.entries);
        else d.applier.push(effect.entries);
        break;
      case 'termsRecovered':
      case 'termRecoveryStalled':
        d.termRecovery(effect);
        break;
      case 'electionReport':
        d.reportElection(effect.report);
        break;
      case 'proposalsAppended':
        d.tracker.track(effect.tokens as PendingProposal[], effect.firstIndex, effect.term);
        if (s.plantedBug !== 'no-proposal-deadline') d.deadlines.add(effect.firstIndex, effect.tokens.length, effect.term);
        break;
      case 'proposalsRefused':
        for (const p of effect.tokens as PendingProposal[]) p.reject(refusal(s, effect.overloaded, s.options.maxUncommittedBytes));
        break;
      case 'proposalsForwarded':
        d.requests.open(effect.requestId, { kind: 'propose', waiters: effect.tokens as PendingProposal[] });
        break;
      case 'forwardAnswered':
        this.forwardAnswered(effect, s);
        break;
      case 'readReady': {
        const request = d.requests.close(effect.requestId);
        if (request?.kind === 'read') this.awaitApplied(effect.index, request.waiters);
        break;
      }
      case 'readFailed': {
        const request = d.requests.close(effect.requestId);
        if (request?.kind === 'read') for (const r of request.waiters) r.reject(new NotLeaderError(s.leaderId, s.term));
        break;
      }
    }
  }

  /**
   * A leader's AppendEntries: a commit notice is held (`CommitNotices`, which may drop it
   * for an AppendEntries that carries as much); the rest go to that follower's pipeline at
   * once. The rules never mark one `afterPersist` (`Effects.send` does not take an
   * AppendEntries), so none has to wait behind this node's writes in `durableWrites`.
   */
  private replicate(effect: LeaderSendEffect, s: RaftState): void {
    if (effect.notice) return this.deps.notices.hold(effect.to, effect.message);
    this.deps.notices.sending(effect.to, effect.message);
    this.deps.roles.replicate(effect, s);
  }

  /**
   * The leader answered forwarded proposals: refused ones fail now; appended ones settle
   * when this node applies them, or fail with `RequestTimeoutError` after `requestTimeout`
   * (they may still commit).
   */
  private forwardAnswered(effect: Extract<Effect, { type: 'forwardAnswered' }>, s: RaftState): void {
    const d = this.deps;
    const request = d.requests.close(effect.requestId);
    if (request?.kind !== 'propose') return;
    if (!effect.success) {
      for (const p of request.waiters) p.reject(forwardRefusal(s, effect));
      return;
    }
    const first = effect.firstIndex;
    const last = first + request.waiters.length - 1;
    d.tracker.track(request.waiters, first, effect.term);
    this.settleApplied(s, first, last);
    d.barrier.wait(last, 'propose', {
      resolve: () => undefined, // the tracker settled each one as it was applied
      reject: (error) => {
        // Only these proposals: a newer leader may have given one of the indexes to another since.
        d.tracker.forgetAppended(first, last, effect.term, () => error);
      },
    });
  }

  /**
   * Proposals tracked after their indexes were already applied here settle at once
   * (the applier may be ahead of the engine's `appliedIndex`: it has not heard yet).
   */
  private settleApplied(s: RaftState, from: number, to: number): void {
    const { tracker, applier } = this.deps;
    for (let i = from; i <= Math.min(to, applier.appliedUpTo); i++) {
      const term = s.log.termAt(i);
      // Compacted before the answer came: which command the entry held is no longer known here.
      if (term === undefined) tracker.forget(i, (index, t) => new ProposalDroppedError(index, t, 'compacted before the leader answered'));
      else tracker.applied(i, term, applier.originalOf(i));
    }
  }

  /** A read the leader confirmed at `index` is answered once this node has applied it. */
  private awaitApplied(index: number, waiters: readonly PendingRead[]): void {
    this.deps.barrier.wait(index, 'read', {
      resolve: () => {
        for (const r of waiters) r.resolve({ index });
      },
      reject: (error) => {
        for (const r of waiters) r.reject(error);
      },
    });
  }
}

/** A `send` effect whose message is a leader's AppendEntries. */
type LeaderSendEffect = Extract<Effect, { type: 'send' }> & { readonly message: AppendEntries };

function isLeaderAppend(effect: Effect): effect is LeaderSendEffect {
  return effect.type === 'send' && effect.message.type === 'AppendEntries';
}

/**
 * Whether a turn's AppendEntries may go before its writes: it writes, sends AppendEntries
 * and sends nothing else. Why not every turn: sent ahead of the other messages of their
 * turn as well (which ones matter is not known: answers to forwarded proposals, reads and
 * votes, a TimeoutNow go out that way), the host simulator
 * (3 hosts x 4 groups, seed 1) committed 75 entries instead of 267 with as many
 * elections — not understood yet; in these turns it gives the same runs as before.
 */
function appendsFirst(effects: readonly Effect[]): boolean {
  let appends = false;
  let writes = false;
  for (const e of effects) {
    if (e.type === 'send') {
      if (!isLeaderAppend(e)) return false;
      appends = true;
    } else if (e.type === 'persistEntries' || e.type === 'saveHardState') writes = true;
  }
  return appends && writes;
}

/**
 * What a refused forwarded proposal tells its caller. Only an overloaded leader's refusal
 * is certain that nothing was appended: the leader decided it on the first copy of the
 * request and answers every copy the same (`LeaderOverloadedError`). Any other refusal
 * comes from a node that does not lead now — it may answer a copy of a request that it
 * appended while it still led (the network may duplicate a request, and its first answer
 * may be lost), and that entry may still commit. So the outcome is unknown
 * (`ProposalDroppedError`), never `NotLeaderError`, which would invite a retry that
 * applies the command twice (found by the simulator, seed 7352).
 */
function forwardRefusal(s: RaftState, effect: Extract<Effect, { type: 'forwardAnswered' }>): RaftError {
  if (effect.overloaded) return new LeaderOverloadedError(s.leaderId, null); // the leader's limit is not known here
  return new ProposalDroppedError(0, effect.term, `the node it was forwarded to did not lead when it answered (it may have appended it before)`);
}

/**
 * Why a proposal was refused with nothing appended: the leader was over its
 * `maxUncommittedBytes` (`limit`, when known), or no leader could take it.
 */
function refusal(s: RaftState, overloaded: boolean, limit: number | null): RaftError {
  return overloaded ? new LeaderOverloadedError(s.leaderId, limit) : new NotLeaderError(s.leaderId, s.term);
}
