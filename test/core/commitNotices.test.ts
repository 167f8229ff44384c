/**
 * Who gets a commit notice (an empty AppendEntries sent because the commit index moved)
 * with `eagerCommitNotices` false: only a follower that waits for it — it forwarded the
 * command, or asked for a read, or is removed by the entry. Every other follower hears
 * the commit index with the next AppendEntries or heartbeat. At one HTTP client the next proposal comes a little after
 * the notice would have gone, and each notice cost a frame, an answer and a wakeup of
 * both nodes per write that nobody waited on.
 */
import type { Effect } from '../../src/core/effects';
import { step } from '../../src/core/step';
import type { AppendEntries, RaftMessage } from '../../src/messages/types';
import { command, elect, makeState, msg, ok } from './helpers';

/** The messages sent to `to` in these effects, in order, and whether each is a notice. */
function to(effects: readonly Effect[], peer: string): { message: RaftMessage; notice: boolean }[] {
  return effects.flatMap((e) => (e.type === 'send' && e.to === peer ? [{ message: e.message, notice: e.notice === true }] : []));
}

/** A three-node leader (n1) whose no-op at 1 is durable on itself and out to n2 and n3. */
function leader(forward = false, eagerCommitNotices = false) {
  const s = makeState({ options: { forward, eagerCommitNotices } });
  elect(s);
  step(s, { kind: 'persisted', index: 1, term: s.term });
  return s;
}

describe('with eagerCommitNotices false, commit notices go to the followers that wait for them', () => {
  test('by default (eager) every idle follower is told at once', () => {
    const s = leader(false, true);
    expect(to(msg(s, 'n2', ok(s.term, 1)), 'n2')).toEqual([{ message: expect.objectContaining({ entries: [], leaderCommit: 1 }), notice: true }]);
  });

  test('a follower that waits for nothing gets no notice: it hears the commit index with the next heartbeat', () => {
    const s = leader();
    const committing = msg(s, 'n2', ok(s.term, 1));
    expect(s.commitIndex).toBe(1);
    expect(to(committing, 'n2')).toEqual([]);
    expect(to(committing, 'n3')).toEqual([]);
    const tick = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    expect(to(tick, 'n2').map((m) => (m.message as AppendEntries).leaderCommit)).toEqual([1]);
  });

  test('a follower that forwarded a command gets a notice once that command commits', () => {
    const s = leader(true);
    msg(s, 'n2', ok(s.term, 1)); // the no-op commits
    const forwarded = msg(s, 'n2', { type: 'ProposeRequest', term: s.term, requestId: 7, commands: [command(9)] });
    expect(to(forwarded, 'n2').map((m) => m.message.type)).toEqual(['AppendEntries', 'ProposeResponse']);
    step(s, { kind: 'persisted', index: 2, term: s.term });
    const committing = msg(s, 'n2', ok(s.term, 2));
    expect(s.commitIndex).toBe(2);
    expect(to(committing, 'n2')).toEqual([{ message: expect.objectContaining({ type: 'AppendEntries', entries: [], leaderCommit: 2 }), notice: true }]);
    // n3 forwarded nothing: no notice for it (and its AppendEntries are still in flight).
    expect(to(committing, 'n3')).toEqual([]);
    // Told once: a later commit that n2 does not wait for sends it nothing.
    step(s, { kind: 'propose', commands: [command(10)], tokens: [0], requestId: 1 });
    step(s, { kind: 'persisted', index: 3, term: s.term });
    expect(to(msg(s, 'n2', ok(s.term, 3)), 'n2')).toEqual([]);
  });

  test('a follower asking for a read hears a commit index at least its read index by the time it is answered', () => {
    const s = leader();
    msg(s, 'n2', ok(s.term, 1));
    msg(s, 'n3', ok(s.term, 1));
    const asked = msg(s, 'n2', { type: 'ReadIndexRequest', term: s.term, requestId: 3, lease: false });
    const tick = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list; // the confirming round, if not sent yet
    const round = [...asked, ...tick].filter((e) => e.type === 'send' && e.to === 'n2' && e.message.type === 'AppendEntries');
    expect(round.length).toBeGreaterThan(0);
    const seq = (round[round.length - 1] as { message: AppendEntries }).message.seq;
    const answered = msg(s, 'n2', { ...ok(s.term, 1), seq });
    const all = to([...asked, ...tick, ...answered], 'n2');
    const response = all.findIndex((m) => m.message.type === 'ReadIndexResponse');
    expect(response).toBeGreaterThanOrEqual(0);
    const readIndex = (all[response].message as { readIndex: number }).readIndex;
    expect(readIndex).toBe(1);
    const told = all.filter((m) => m.message.type === 'AppendEntries').map((m) => (m.message as AppendEntries).leaderCommit);
    expect(Math.max(...told)).toBeGreaterThanOrEqual(readIndex);
  });

  test('a follower answered from the lease, at a commit index it has not heard, gets a notice with the answer', () => {
    const s = makeState({ options: { checkQuorum: true, eagerCommitNotices: false } });
    elect(s);
    step(s, { kind: 'persisted', index: 1, term: s.term });
    const seq = s.role.name === 'leader' ? s.role.seq : 0;
    msg(s, 'n3', { ...ok(s.term, 1), seq });
    msg(s, 'n2', { ...ok(s.term, 1), seq }); // commits 1 (n2 waits for nothing: no notice)
    expect(s.commitIndex).toBe(1);
    const asked = msg(s, 'n2', { type: 'ReadIndexRequest', term: s.term, requestId: 3, lease: true });
    const all = to(asked, 'n2');
    // Answered at once from the lease (no round), and told the commit index it must apply.
    expect(all.map((m) => m.message.type)).toEqual(['ReadIndexResponse', 'AppendEntries']);
    expect((all[0].message as { readIndex: number }).readIndex).toBe(1);
    expect(all[1]).toEqual({ message: expect.objectContaining({ entries: [], leaderCommit: 1 }), notice: true });
  });
});
