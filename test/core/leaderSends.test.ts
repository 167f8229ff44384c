/**
 * The leader's AppendEntries are never `afterPersist`: the runtime sends them through the
 * follower's `replicateTo` pipeline at once, past this node's pending writes (the leader
 * replicates while its own write runs and counts itself only once it is durable). If a
 * rule ever asked one to wait for the writes, that routing would break invariant 2 —
 * these tests, and the type of `Effects.send`, keep it from happening.
 */
import type { Effect } from '../../src/core/effects';
import { Effects } from '../../src/core/effects';
import { EntryKind } from '../../src/messages/entry';
import type { AppendEntries } from '../../src/messages/types';
import { step } from '../../src/core/step';
import { elect, makeState, msg, ok } from './helpers';

const appendsIn = (effects: readonly Effect[]) => effects.filter((e): e is Extract<Effect, { type: 'send' }> => e.type === 'send' && e.message.type === 'AppendEntries');

describe('a leader\'s AppendEntries leave at once, never after its writes', () => {
  test('in every way a leader sends them: on election, proposals, answers (accepted and rejected), heartbeats, commit notices and probes', () => {
    const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1, 1] });
    const effects: Effect[] = [];
    const collect = (fx: readonly Effect[]) => effects.push(...fx);
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    step(s, { kind: 'voteSaved', term: s.term, votedFor: s.id });
    collect(msg(s, 'n2', { type: 'RequestVoteResponse', term: s.term, voteGranted: true })); // leader: no-op at 3, sent to n2 and n3
    collect(step(s, { kind: 'persisted', index: 3, term: s.term }).list);
    collect(msg(s, 'n2', ok(s.term, 3))); // commits: a commit notice
    collect(msg(s, 'n3', { type: 'AppendEntriesResponse', term: s.term, success: false, matchIndex: 0, rejectedIndex: 3, conflictIndex: 1, conflictTerm: 0, seq: 0 })); // a probe back
    collect(step(s, { kind: 'propose', commands: [{ kind: EntryKind.Command, data: new Uint8Array([1]) }], tokens: [0], requestId: 1 }).list);
    collect(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list);
    const appends = appendsIn(effects);
    expect(new Set(appends.map((e) => e.to))).toEqual(new Set(['n2', 'n3']));
    expect(appends.some((e) => e.notice)).toBe(true);
    expect(appends.some((e) => (e.message as AppendEntries).entries.length > 0)).toBe(true);
    expect(appends.filter((e) => e.afterPersist)).toEqual([]);
    expect(effects.some((e) => e.type === 'persistEntries')).toBe(true); // there were writes they could have waited for
  });

  test('the rules cannot ask for one to wait: Effects.send does not take an AppendEntries', () => {
    const s = makeState({});
    elect(s);
    const fx = new Effects();
    const heartbeat = { type: 'AppendEntries', term: s.term, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0 } as unknown as AppendEntries;
    // @ts-expect-error — an AppendEntries goes out with sendNow or sendNotice only
    fx.send('n2', heartbeat);
    fx.sendNow('n2', heartbeat);
    expect(fx.list.map((e) => e.type === 'send' && e.afterPersist)).toEqual([true, false]);
  });
});
