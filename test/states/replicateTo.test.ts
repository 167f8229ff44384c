/**
 * The leader's pipeline for one follower (`replicateTo`), on virtual time: the leader's
 * AppendEntries to that follower leave through it in order, the follower's answers come
 * out of it as events, and both stop with it — when the follower is removed or the role
 * ends — so a late answer is dropped by unsubscription, not by a check.
 */
import { NEVER, Observable, of, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { RaftEvent } from '../../src/core/events';
import type { AppendEntries, NodeId, RaftMessage } from '../../src/messages/types';
import type { EntryReadRequest, FollowerRequest, InboundMessage, LeaderSend, RoleContext } from '../../src/states';
import { leader } from '../../src/states/leader';
import { replicateTo } from '../../src/states/replicateTo';
import { routeByPeer } from './routeByPeer';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A transport that records what is sent, with the virtual time it was sent at. */
function recorder(s: TestScheduler) {
  const sent: { at: number; to: NodeId; seq: number }[] = [];
  return { sent, send: (to: NodeId, m: RaftMessage) => sent.push({ at: s.now(), to, seq: m.type === 'AppendEntries' ? m.seq : -1 }) };
}

function context(s: TestScheduler, parts: { followers$?: Observable<readonly NodeId[]>; sends$: Observable<LeaderSend>; responses$: Observable<InboundMessage>; transport: RoleContext['transport'] }): RoleContext {
  return {
    ...{ scheduler: s, heartbeatInterval: 1000, electionDeadline$: NEVER, quiet$: of(false), id: 'n1', followers$: parts.followers$ ?? NEVER },
    ...{ entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) } },
    ...{ requestsTo: () => NEVER, snapshotSource: { readSnapshot: () => null }, transport: parts.transport, ...routeByPeer(parts.sends$, parts.responses$) },
  };
}

const append = (to: NodeId, seq: number): LeaderSend => ({
  to,
  message: { type: 'AppendEntries', term: 3, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq } as unknown as AppendEntries,
});
const answer = (from: NodeId, seq: number): InboundMessage => ({
  kind: 'message',
  from,
  message: { type: 'AppendEntriesResponse', term: 3, success: true, matchIndex: 0, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq },
});
const snapshotAnswer = (from: NodeId): InboundMessage => ({
  kind: 'message',
  from,
  message: { type: 'InstallSnapshotResponse', term: 3, lastIncludedIndex: 5, chunk: 0, success: true, installed: false },
});
const vote = (from: NodeId): InboundMessage => ({ kind: 'message', from, message: { type: 'RequestVoteResponse', term: 3, voteGranted: true } });

describe('replicateTo: one follower\'s sends and answers', () => {
  test('sends that follower\'s AppendEntries at once, in order, and passes its answers on; other followers\' traffic and vote answers pass it by', () => {
    const s = marbles();
    const transport = recorder(s);
    s.run(({ hot, expectObservable }) => {
      const sends$ = hot<LeaderSend>('-a-b-c', { a: append('n2', 1), b: append('n3', 1), c: append('n2', 2) });
      const responses$ = hot<InboundMessage>('--r-s-v-i', { r: answer('n2', 1), s: answer('n3', 1), v: vote('n2'), i: snapshotAnswer('n2') });
      const events: Record<string, RaftEvent> = { r: answer('n2', 1), i: snapshotAnswer('n2') };
      expectObservable(replicateTo(context(s, { sends$, responses$, transport }), 'n2')).toBe('--r-----i', events);
    });
    expect(transport.sent).toEqual([
      { at: 1, to: 'n2', seq: 1 },
      { at: 5, to: 'n2', seq: 2 },
    ]);
  });

  test('a removed follower\'s pipeline stops at once: its late answers are not passed on and nothing more is sent to it; the others go on', () => {
    const s = marbles();
    const transport = recorder(s);
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const followers$ = hot<readonly NodeId[]>('a---b', { a: ['n2', 'n3'], b: ['n3'] });
      const sends$ = hot<LeaderSend>('-a----b-c', { a: append('n2', 1), b: append('n2', 2), c: append('n3', 1) });
      const responses$ = hot<InboundMessage>('--r----l-m', { r: answer('n2', 1), l: answer('n2', 2), m: answer('n3', 1) });
      const ctx = context(s, { followers$, sends$, responses$, transport });
      expectObservable(leader(ctx, 4), '^ 20ms !').toBe('--r------m', { r: answer('n2', 1), m: answer('n3', 1) });
      // n2's and n3's pipelines each listen once, from the start; n2's until its removal at frame 4
      expectSubscriptions(responses$.subscriptions).toBe(['^ 3ms !', '^ 20ms !']);
    });
    expect(transport.sent).toEqual([
      { at: 1, to: 'n2', seq: 1 },
      { at: 8, to: 'n3', seq: 1 },
    ]);
  });

  test('leaving the leader role ends every follower\'s pipeline: answers to the past leadership are dropped and nothing more is sent', () => {
    const s = marbles();
    const transport = recorder(s);
    s.run(({ hot, expectObservable }) => {
      const followers$ = hot<readonly NodeId[]>('a', { a: ['n2', 'n3'] });
      const sends$ = hot<LeaderSend>('-a----b', { a: append('n3', 1), b: append('n3', 2) });
      const responses$ = hot<InboundMessage>('--r----l', { r: answer('n3', 1), l: answer('n3', 2) });
      expectObservable(leader(context(s, { followers$, sends$, responses$, transport }), 4), '^ 4ms !').toBe('--r', { r: answer('n3', 1) });
    });
    expect(transport.sent).toEqual([{ at: 1, to: 'n3', seq: 1 }]);
  });

  test('carries out its follower\'s entry reads, one at a time, and ends once its sends, answers and requests have ended', async () => {
    const sends$ = new Subject<LeaderSend>();
    const responses$ = new Subject<InboundMessage>();
    const requests$ = new Subject<FollowerRequest>();
    const asked: number[] = [];
    const ctx: RoleContext = {
      ...context(new TestScheduler(() => undefined), { sends$, responses$, transport: { send: () => undefined } }),
      requestsTo: () => requests$,
      entrySource: {
        readEntries: async (from) => {
          asked.push(from);
          return [];
        },
      },
    };
    const read = (from: number): EntryReadRequest => ({ type: 'readEntries', to: 'n2', from, end: from + 2, maxBytes: 1024, leaderTerm: 3 });
    const events: RaftEvent[] = [];
    let completed = false;
    replicateTo(ctx, 'n2').subscribe({ next: (e) => events.push(e), complete: () => (completed = true) });
    requests$.next(read(3));
    await Promise.resolve();
    await Promise.resolve();
    requests$.next(read(7));
    await Promise.resolve();
    await Promise.resolve();
    expect(asked).toEqual([3, 7]);
    expect(events).toEqual([
      { kind: 'entriesRead', to: 'n2', from: 3, leaderTerm: 3, entries: [] },
      { kind: 'entriesRead', to: 'n2', from: 7, leaderTerm: 3, entries: [] },
    ]);
    requests$.complete();
    sends$.complete();
    expect(completed).toBe(false); // the answers still come
    responses$.complete();
    expect(completed).toBe(true);
  });
});
