import { Effect } from '../../src/core/effects';
import { RaftState } from '../../src/core/state';
import { EntryKind, type Entry } from '../../src/messages/entry';
import { encodeConfig } from '../../src/messages/config';
import { EntryRun } from '../../src/messages/entryRun';
import { entryRunOf } from '../../src/messages/receivedAppendEntries';
import type { AppendEntries } from '../../src/messages/types';
import { receivedOverWire } from '../../src/testing/entryRunDelivery';
import { entriesAt, logTerms, makeState, msg, sent, types } from './helpers';

/*
 * An AppendEntries read from TCP carries its entries as a run of the received block
 * (`ReceivedAppendEntries`, `EntryRun`): the follower's rules read terms from the block and
 * append it without an object per entry. Every rule of the receiver (Figure 2) must come
 * out exactly as for the same entries handed over as a list.
 */

function appendEntries(fields: Partial<AppendEntries> & { term: number }): AppendEntries {
  return { type: 'AppendEntries', leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0, ...fields };
}

/** The same request handed to two nodes in the same state: as a list to one, as a run to the other. */
function both(log: number[], term: number, request: AppendEntries): { list: { s: RaftState; fx: Effect[] }; run: { s: RaftState; fx: Effect[] } } {
  const a = makeState({ term, log });
  const b = makeState({ term, log });
  return { list: { s: a, fx: msg(a, 'n2', request) }, run: { s: b, fx: msg(b, 'n2', receivedOverWire(request)) } };
}

/** Effects with persisted entries as plain objects, so a run and a list compare. */
function comparable(effects: readonly Effect[]): unknown[] {
  return effects.map((e) => {
    if (e.type !== 'persistEntries') return e;
    const list = e.entries instanceof EntryRun ? e.entries.entries() : e.entries;
    return { type: e.type, entries: list.map(({ index, term, kind, data }) => ({ index, term, kind, data: Array.from(data) })) };
  });
}

function entriesOf(s: RaftState): { index: number; term: number; kind: number; data: number[] }[] {
  const out = [];
  for (let i = s.log.cachedFrom; i <= s.log.lastIndex; i++) {
    const e = s.log.entry(i)!;
    out.push({ index: e.index, term: e.term, kind: e.kind, data: Array.from(e.data) });
  }
  return out;
}

function expectSame(log: number[], term: number, request: AppendEntries): { list: { s: RaftState; fx: Effect[] }; run: { s: RaftState; fx: Effect[] } } {
  const r = both(log, term, request);
  expect(comparable(r.run.fx)).toEqual(comparable(r.list.fx));
  expect(entriesOf(r.run.s)).toEqual(entriesOf(r.list.s));
  expect(r.run.s.commitIndex).toBe(r.list.s.commitIndex);
  expect(r.run.s.log.heldBytes).toBe(r.list.s.log.heldBytes);
  return r;
}

afterEach(() => jest.restoreAllMocks());

describe('AppendEntries received as a run (over TCP) — the receiver rules of Figure 2', () => {
  test('new entries are appended and persisted as the run they came in, no entry object made', () => {
    const made = jest.spyOn(EntryRun.prototype, 'entries');
    const madeOne = jest.spyOn(EntryRun.prototype, 'entry');
    const request = appendEntries({ term: 2, prevLogIndex: 2, prevLogTerm: 1, entries: entriesAt(3, [2, 2, 2]), leaderCommit: 3 });
    const run = both([1, 1], 2, request).run;
    expect(made).not.toHaveBeenCalled();
    expect(madeOne).not.toHaveBeenCalled();
    const persisted = run.fx.find((e) => e.type === 'persistEntries');
    expect(persisted).toBeDefined();
    expect(persisted!.type === 'persistEntries' && persisted!.entries instanceof EntryRun).toBe(true);
    expectSame([1, 1], 2, request);
    expect(logTerms(run.s)).toEqual([1, 1, 2, 2, 2]);
    expect(run.s.commitIndex).toBe(3);
    expect(sent(run.fx)[0]).toMatchObject({ afterPersist: true, message: { success: true, matchIndex: 5 } });
  });

  test('3. a conflicting entry and all that follow are deleted, the rest appended', () => {
    const { run } = expectSame([1, 2, 2, 2], 3, appendEntries({ term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: entriesAt(2, [2, 3]) }));
    expect(logTerms(run.s)).toEqual([1, 2, 3]);
  });

  test('4. entries already held are skipped; a stale, shorter request never truncates', () => {
    const { run } = expectSame([1, 1, 1], 1, appendEntries({ term: 1, entries: entriesAt(1, [1]) }));
    expect(logTerms(run.s)).toEqual([1, 1, 1]);
    expect(types(run.fx)).not.toContain('persistEntries');
    expectSame([1, 1], 1, appendEntries({ term: 1, entries: entriesAt(1, [1, 1, 1, 1]) }));
  });

  test('2. a request whose prevLogIndex does not match is rejected with the same hint', () => {
    const { run } = expectSame([1, 2, 2, 2], 3, appendEntries({ term: 3, prevLogIndex: 4, prevLogTerm: 3, entries: entriesAt(5, [3]) }));
    expect(sent(run.fx)[0].message).toMatchObject({ success: false, rejectedIndex: 4, conflictTerm: 2, conflictIndex: 2 });
  });

  test('5. commitIndex moves to min(leaderCommit, the last new entry)', () => {
    const { run } = expectSame([1, 1, 1, 1], 1, appendEntries({ term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: entriesAt(2, [1]), leaderCommit: 4 }));
    expect(run.s.commitIndex).toBe(2);
  });

  test('a configuration entry in a run takes effect on append, as in a list', () => {
    const config = { voters: ['n1', 'n2', 'n3', 'n4'], learners: [], addresses: {} };
    const entries: Entry[] = [...entriesAt(1, [1]), { index: 2, term: 1, kind: EntryKind.Config, data: encodeConfig(config) }];
    const { run } = expectSame([], 1, appendEntries({ term: 1, entries }));
    expect(run.s.configs[run.s.configs.length - 1]).toMatchObject({ index: 2, term: 1, config });
  });

  test('a leader that would truncate a committed entry is refused as for a list', () => {
    const s = makeState({ term: 1 });
    msg(s, 'n2', receivedOverWire(appendEntries({ term: 1, entries: entriesAt(1, [1, 1]), leaderCommit: 2 })));
    expect(() => msg(s, 'n3', receivedOverWire(appendEntries({ term: 2, leaderId: 'n3', entries: entriesAt(1, [2]) })))).toThrow(/committed/);
  });

  test('a request starting inside the snapshot is cut to the snapshot, entries made for that', () => {
    const setUp = (s: RaftState) => s.log.compact({ index: 2, term: 1 }, 2);
    const request = appendEntries({ term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: entriesAt(1, [1, 1, 1, 1]) });
    const a = makeState({ term: 1, log: [1, 1] });
    const b = makeState({ term: 1, log: [1, 1] });
    setUp(a);
    setUp(b);
    const fxList = msg(a, 'n2', request);
    const fxRun = msg(b, 'n2', receivedOverWire(request));
    expect(comparable(fxRun)).toEqual(comparable(fxList));
    expect(entriesOf(b)).toEqual(entriesOf(a));
    expect(logTerms(b).slice(2)).toEqual([1, 1]);
  });

  test('the message reads as an AppendEntries: its entries are made on the first read, once', () => {
    const request = appendEntries({ term: 1, entries: entriesAt(1, [1, 1]), quiesce: true });
    const m = receivedOverWire(request);
    expect(entryRunOf(m)?.length).toBe(2);
    expect(entryRunOf(request)).toBeUndefined();
    expect(m.entries).toBe(m.entries);
    expect(m.entries.map(({ index, term, kind, data }) => ({ index, term, kind, data }))).toEqual(request.entries);
    expect({ ...m, entries: m.entries }).toMatchObject({ type: 'AppendEntries', term: 1, quiesce: true, entries: m.entries });
    expect('quiesce' in receivedOverWire({ ...request, quiesce: undefined })).toBe(false);
  });
});
