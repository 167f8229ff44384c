/**
 * Handing committed entries to the application and taking back its acknowledgement
 * (DESIGN.md invariant 8): the engine hands out entries that are committed and durable
 * here as one `apply` effect per step, within a budget beyond the acknowledged index,
 * and advances `appliedIndex` only on the runtime's `applied` event.
 */
import type { Effect } from '../../src/core/effects';
import { step } from '../../src/core/step';
import { EntryKind } from '../../src/messages/entry';
import type { AppendEntries } from '../../src/messages/types';
import { entriesAt, makeState, msg } from './helpers';

function appendEntries(fields: Partial<AppendEntries> & { term: number }): AppendEntries {
  return { type: 'AppendEntries', leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0, ...fields };
}

/** The indexes of the `apply` effects, one array per effect. */
function applied(effects: readonly Effect[]): number[][] {
  return effects.flatMap((e) => (e.type === 'apply' ? [e.entries.map((x) => x.index)] : []));
}

describe('apply effect and applied event', () => {
  test('entries committed and durable are handed out once, as the last effect of the step; appliedIndex waits for the acknowledgement', () => {
    const s = makeState({ log: [1, 1, 1] }); // durable at start
    const fx = msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 3 }));
    expect(applied(fx)).toEqual([[1, 2, 3]]);
    expect(fx[fx.length - 1].type).toBe('apply');
    expect(s.applyingIndex).toBe(3);
    expect(s.appliedIndex).toBe(0);
    // The same commit index again hands out nothing twice.
    expect(applied(msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 3 })))).toEqual([]);
    expect(applied(step(s, { kind: 'applied', index: 2 }).list)).toEqual([]);
    expect(s.appliedIndex).toBe(2);
    step(s, { kind: 'applied', index: 3 });
    expect(s.appliedIndex).toBe(3);
  });

  test('a committed entry that is not yet durable here is not handed out until storage reports it', () => {
    const s = makeState({ log: [1] });
    const fx = msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: entriesAt(2, [1, 1]), leaderCommit: 3 }));
    expect(fx.map((e) => e.type)).toContain('persistEntries');
    expect(applied(fx)).toEqual([[1]]);
    expect(applied(step(s, { kind: 'persisted', index: 3, term: 1 }).list)).toEqual([[2, 3]]);
    expect(s.applyingIndex).toBe(3);
  });

  test('at most maxApplyingEntries are handed out beyond the acknowledged index; each acknowledgement releases more', () => {
    const s = makeState({ log: [1, 1, 1, 1, 1], options: { maxApplyingEntries: 2 } });
    expect(applied(msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 5, prevLogTerm: 1, leaderCommit: 5 })))).toEqual([[1, 2]]);
    expect(applied(step(s, { kind: 'applied', index: 1 }).list)).toEqual([[3]]);
    expect(applied(step(s, { kind: 'applied', index: 3 }).list)).toEqual([[4, 5]]);
    expect(s.applyingIndex - s.appliedIndex).toBe(2);
  });

  test('at most maxApplyingBytes of payload are handed out beyond the acknowledged index, but one entry always goes', () => {
    const big = (index: number, bytes: number) => ({ index, term: 1, kind: EntryKind.Command, data: new Uint8Array(bytes) });
    const s = makeState({ log: [], options: { maxApplyingBytes: 10 } });
    msg(s, 'n2', appendEntries({ term: 1, entries: [big(1, 25), big(2, 4), big(3, 4), big(4, 4)] }));
    step(s, { kind: 'persisted', index: 4, term: 1 });
    // Entry 1 is larger than the whole budget: it goes alone.
    expect(applied(msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 4, prevLogTerm: 1, leaderCommit: 4 })))).toEqual([[1]]);
    expect(s.applyingBytes).toBe(25);
    expect(applied(step(s, { kind: 'applied', index: 1 }).list)).toEqual([[2, 3]]); // 8 bytes; a third would be 12
    expect(s.applyingBytes).toBe(8);
    expect(applied(step(s, { kind: 'applied', index: 2 }).list)).toEqual([[4]]);
    expect(s.applyingBytes).toBe(8);
  });

  test('an acknowledgement beyond what was handed out, or a repeat, changes nothing it must not', () => {
    const s = makeState({ log: [1, 1, 1, 1], options: { maxApplyingEntries: 2 } });
    msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 4, prevLogTerm: 1, leaderCommit: 4 }));
    step(s, { kind: 'applied', index: 9 });
    expect(s.appliedIndex).toBe(2); // capped at applyingIndex before the step handed out more
    expect(s.applyingIndex).toBe(4);
    step(s, { kind: 'applied', index: 1 });
    expect(s.appliedIndex).toBe(2);
  });

  test('an installed snapshot counts as applied up to its index: nothing at or below it is handed out afterwards', () => {
    const s = makeState({ log: [1, 1] });
    expect(applied(msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 1 })))).toEqual([[1]]);
    const meta = { index: 10, term: 1, config: { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} } };
    msg(s, 'n2', { type: 'InstallSnapshot', term: 1, leaderId: 'n2', lastIncludedIndex: 10, lastIncludedTerm: 1, config: meta.config, chunk: 0, data: new Uint8Array(0), done: true });
    const fx = step(s, { kind: 'snapshotChunkStored', from: 'n2', meta, chunk: 0, done: true }).list;
    expect(applied(fx)).toEqual([]);
    expect([s.appliedIndex, s.applyingIndex, s.applyingBytes]).toEqual([10, 10, 0]);
    step(s, { kind: 'applied', index: 1 }); // the late acknowledgement of entry 1
    expect(s.appliedIndex).toBe(10);
    const next = msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 10, prevLogTerm: 1, entries: entriesAt(11, [1]), leaderCommit: 11 }));
    expect(applied(next)).toEqual([]); // entry 11 is not durable yet
    expect(applied(step(s, { kind: 'persisted', index: 11, term: 1 }).list)).toEqual([[11]]);
  });
});
