import { Subject, VirtualTimeScheduler } from 'rxjs';
import type { Effect } from '../../src/core/effects';
import type { RaftState } from '../../src/core/state';
import { LeaderOverloadedError, NotLeaderError, ProposalDroppedError, RequestTimeoutError } from '../../src/errors';
import { EntryKind } from '../../src/messages/entry';
import type { RaftMessage } from '../../src/messages/types';
import { ApplyBarrier } from '../../src/streams/applyBarrier';
import type { ClientRequest, PendingRead } from '../../src/streams/clientIntake';
import { CommitNotices } from '../../src/streams/commitNotices';
import type { DurableStep } from '../../src/streams/durableWrites';
import { EffectDriver } from '../../src/streams/effectDriver';
import type { MembershipRequests } from '../../src/streams/membershipRequests';
import { OpenRequests } from '../../src/streams/openRequests';
import { PendingProposal, ProposalTracker } from '../../src/streams/proposals';
import type { SnapshotDriver } from '../../src/streams/snapshots';
import type { LeaderSend } from '../../src/states';
import { makeState } from '../core/helpers';

const TIMEOUT = 500;

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const durableSteps = new Subject<DurableStep>();
  const steps: DurableStep[] = [];
  /** What the driver handed on, in order: writes, releases, AppendEntries and entries to apply. */
  const order: string[] = [];
  durableSteps.subscribe((s) => {
    steps.push(s);
    order.push('write' in s ? s.write.type : `release ${s.release.message.type}`);
  });
  const tracker = new ProposalTracker();
  const requests = new OpenRequests<ClientRequest>(scheduler, TIMEOUT);
  const barrier = new ApplyBarrier(scheduler, TIMEOUT);
  const heldNotices: string[] = [];
  const notices = new CommitNotices(scheduler, (to) => heldNotices.push(to), () => true);
  const notMine = { onEffect: () => false } as unknown;
  const chunkRequests: Effect[] = [];
  const replicated: { send: LeaderSend; s?: RaftState }[] = [];
  const driver = new EffectDriver({
    ...{ durableSteps, notices, tracker, deadlines: { add: () => undefined }, requests, barrier, applier: { push: (entries) => order.push(`apply ${entries.map((e) => e.index).join(',')}`), appliedUpTo: 0, originalOf: () => undefined } },
    ...{ membership: notMine as MembershipRequests, snapshots: notMine as SnapshotDriver, roles: { snapshotTransfer: (r) => chunkRequests.push(r), readEntries: (r) => chunkRequests.push(r), replicate: (send, s) => {
      replicated.push({ send, s });
      order.push(`replicate ${send.message.type}`);
    } } },
    termRecovery: () => undefined, reportElection: () => undefined,
  });
  const state = makeState({ id: 'n2', term: 3 });
  state.leaderId = 'n1';
  const run = (...effects: Effect[]) => driver.carryOut(effects, state);
  return { scheduler, steps, order, tracker, requests, barrier, run, state, chunkRequests, replicated };
}

function outcome<T>(promise: Promise<T>): { value?: T; error?: Error } {
  const result: { value?: T; error?: Error } = {};
  promise.then((v) => (result.value = v), (e: Error) => (result.error = e));
  return result;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function proposal(): { pending: PendingProposal; result: { value?: { index: number; term: number }; error?: Error } } {
  let pending!: PendingProposal;
  const result = outcome(new Promise<{ index: number; term: number }>((resolve, reject) => (pending = { kind: EntryKind.Command, data: new Uint8Array([1]), resolve, reject, term: 0 })));
  return { pending, result };
}

function read(): { pending: PendingRead; result: { value?: { index: number }; error?: Error } } {
  let pending!: PendingRead;
  const result = outcome(new Promise<{ index: number }>((resolve, reject) => (pending = { lease: false, resolve, reject })));
  return { pending, result };
}

const appendEntries = { type: 'AppendEntries' } as RaftMessage;

const entry = (index: number) => ({ index, term: 3, kind: EntryKind.Command, data: new Uint8Array([index]) });

describe('EffectDriver', () => {
  it("carries out a leader's AppendEntries before the writes of a turn that sends nothing else, so its followers' copies leave before its own write starts", () => {
    const { run, order } = setup();
    const append = { type: 'AppendEntries', term: 3, leaderCommit: 0, seq: 1 } as RaftMessage;
    run({ type: 'persistEntries', entries: [entry(1)] }, { type: 'send', to: 'n1', message: append, afterPersist: false }, { type: 'send', to: 'n3', message: append, afterPersist: false });
    expect(order).toEqual(['replicate AppendEntries', 'replicate AppendEntries', 'persistEntries']);
  });

  it('keeps the order of a turn that sends other messages too', () => {
    const { run, order } = setup();
    const append = { type: 'AppendEntries', term: 3, leaderCommit: 0, seq: 1 } as RaftMessage;
    const timeoutNow = { type: 'TimeoutNow', term: 3 } as RaftMessage;
    run({ type: 'persistEntries', entries: [entry(1)] }, { type: 'send', to: 'n3', message: timeoutNow, afterPersist: false }, { type: 'send', to: 'n1', message: append, afterPersist: false });
    expect(order).toEqual(['persistEntries', 'release TimeoutNow', 'replicate AppendEntries']);
  });

  it('applies the entries of a turn that starts a log write only after the write was handed on, on the next microtask, and keeps later entries behind them', async () => {
    const { run, order, state } = setup();
    state.durableIndex = 4;
    const answer = { type: 'AppendEntriesResponse', term: 3 } as RaftMessage;
    run({ type: 'persistEntries', entries: [entry(5)] }, { type: 'send', to: 'n1', message: answer, afterPersist: true }, { type: 'apply', entries: [entry(4)] });
    run({ type: 'apply', entries: [entry(5)] }); // a later turn of the same callback: behind the first
    expect(order).toEqual(['persistEntries', 'release AppendEntriesResponse']);
    await Promise.resolve();
    expect(order).toEqual(['persistEntries', 'release AppendEntriesResponse', 'apply 4', 'apply 5']);
    run({ type: 'apply', entries: [entry(6)] }); // nothing waits any more: at once
    expect(order[order.length - 1]).toBe('apply 6');
  });

  it('applies at once in a turn whose write waits behind an earlier one (the storage is busy: nothing to gain)', () => {
    const { run, order, state } = setup();
    state.durableIndex = 3;
    run({ type: 'persistEntries', entries: [entry(5)] }, { type: 'apply', entries: [entry(3)] });
    expect(order).toEqual(['persistEntries', 'apply 3']);
  });

  it('hands writes and sends to durableWrites in the order the rules produced them, keeping afterPersist', () => {
    const { run, steps } = setup();
    const hardState = { term: 3, votedFor: 'n1' };
    const vote = { type: 'RequestVoteResponse', term: 3, voteGranted: true } as RaftMessage;
    const query = { type: 'TermQuery', term: 3 } as RaftMessage;
    run({ type: 'saveHardState', hardState }, { type: 'send', to: 'n1', message: vote, afterPersist: true }, { type: 'send', to: 'n3', message: query, afterPersist: false });
    expect(steps).toEqual([
      { write: { type: 'saveHardState', hardState } },
      { release: { to: 'n1', message: vote }, afterWrites: true },
      { release: { to: 'n3', message: query }, afterWrites: false },
    ]);
  });

  it("hands the leader's AppendEntries to its per-follower pipelines, in order, with the turn's state, past durableWrites", () => {
    const { run, steps, replicated, state } = setup();
    const toN3 = { type: 'AppendEntries', leaderCommit: 1 } as RaftMessage;
    const toN1 = { type: 'AppendEntries', leaderCommit: 2 } as RaftMessage;
    run({ type: 'persistEntries', entries: [] }, { type: 'send', to: 'n3', message: toN3, afterPersist: false }, { type: 'send', to: 'n1', message: toN1, afterPersist: false });
    expect(replicated).toEqual([
      { send: expect.objectContaining({ to: 'n3', message: toN3 }), s: state },
      { send: expect.objectContaining({ to: 'n1', message: toN1 }), s: state },
    ]);
    expect(steps).toEqual([{ write: { type: 'persistEntries', entries: [] } }]);
  });

  it('hands a snapshot chunk to send to the leader\'s per-follower pipelines, not to durableWrites', () => {
    const { run, steps, chunkRequests } = setup();
    const request: Effect = { type: 'sendSnapshotChunk', to: 'n3', index: 5, term: 2, chunk: 0, leaderTerm: 3, start: true };
    run(request);
    expect(chunkRequests).toEqual([request]);
    expect(steps).toEqual([]);
  });

  it('hands a parked snapshot transfer to the leader\'s per-follower pipelines too (its reader is closed there)', () => {
    const { run, steps, chunkRequests } = setup();
    const request: Effect = { type: 'parkSnapshotTransfer', to: 'n3' };
    run(request);
    expect(chunkRequests).toEqual([request]);
    expect(steps).toEqual([]);
  });

  it('holds a commit notice instead of sending it', () => {
    const { run, steps, replicated } = setup();
    run({ type: 'send', to: 'n3', message: appendEntries, afterPersist: false, notice: true });
    expect(steps).toEqual([]);
    expect(replicated).toEqual([]);
  });

  it('fails refused proposals with NotLeaderError naming the leader, or LeaderOverloadedError with the limit', async () => {
    const { run, state } = setup();
    const a = proposal();
    const b = proposal();
    run({ type: 'proposalsRefused', tokens: [a.pending], overloaded: false }, { type: 'proposalsRefused', tokens: [b.pending], overloaded: true });
    await settle();
    expect(a.result.error).toBeInstanceOf(NotLeaderError);
    expect((a.result.error as NotLeaderError).leaderId).toBe('n1');
    expect(b.result.error).toBeInstanceOf(LeaderOverloadedError);
    expect(b.result.error?.message).toContain(String(state.options.maxUncommittedBytes));
  });

  it('settles forwarded proposals the leader appended once this node applies them', async () => {
    const { run, tracker, barrier } = setup();
    const a = proposal();
    const b = proposal();
    run({ type: 'proposalsForwarded', tokens: [a.pending, b.pending], requestId: 7 });
    run({ type: 'forwardAnswered', requestId: 7, success: true, firstIndex: 10, term: 3, overloaded: false });
    await settle();
    expect(a.result).toEqual({});
    tracker.applied(10, 3);
    tracker.applied(11, 3);
    barrier.advance(11);
    await settle();
    expect(a.result.value).toEqual({ index: 10, term: 3 });
    expect(b.result.value).toEqual({ index: 11, term: 3 });
    expect(barrier.size).toBe(0);
  });

  it('fails forwarded proposals with RequestTimeoutError when this node does not apply them in time', async () => {
    const { run, scheduler } = setup();
    const a = proposal();
    run({ type: 'proposalsForwarded', tokens: [a.pending], requestId: 7 });
    run({ type: 'forwardAnswered', requestId: 7, success: true, firstIndex: 10, term: 3, overloaded: false });
    scheduler.flush();
    await settle();
    expect(a.result.error).toBeInstanceOf(RequestTimeoutError);
  });

  it('fails a refused forwarded proposal with an unknown outcome (it may have been appended), an overloaded refusal with LeaderOverloadedError, and ignores an answer to a request that already timed out', async () => {
    const { run, requests, scheduler } = setup();
    const a = proposal();
    run({ type: 'proposalsForwarded', tokens: [a.pending], requestId: 7 });
    run({ type: 'forwardAnswered', requestId: 7, success: false, firstIndex: 0, term: 3, overloaded: false });
    const c = proposal();
    run({ type: 'proposalsForwarded', tokens: [c.pending], requestId: 9 });
    run({ type: 'forwardAnswered', requestId: 9, success: false, firstIndex: 0, term: 3, overloaded: true });
    await settle();
    expect(a.result.error).toBeInstanceOf(ProposalDroppedError);
    expect(a.result.error).not.toBeInstanceOf(NotLeaderError);
    expect(c.result.error).toBeInstanceOf(LeaderOverloadedError);
    const b = proposal();
    run({ type: 'proposalsForwarded', tokens: [b.pending], requestId: 8 });
    scheduler.flush();
    run({ type: 'forwardAnswered', requestId: 8, success: true, firstIndex: 12, term: 3, overloaded: false });
    await settle();
    expect(b.result.error).toBeInstanceOf(RequestTimeoutError);
    expect(requests.size).toBe(0);
  });

  it('answers a confirmed read once its index is applied here, and fails a read that lost its leader', async () => {
    const { run, requests, barrier } = setup();
    const a = read();
    const b = read();
    requests.open(1, { kind: 'read', waiters: [a.pending] });
    requests.open(2, { kind: 'read', waiters: [b.pending] });
    run({ type: 'readReady', requestId: 1, index: 20 }, { type: 'readFailed', requestId: 2 });
    await settle();
    expect(a.result).toEqual({});
    expect(b.result.error).toBeInstanceOf(NotLeaderError);
    barrier.advance(20);
    await settle();
    expect(a.result.value).toEqual({ index: 20 });
  });
});
