import { SchedulerAction, SchedulerLike, Subscription, VirtualTimeScheduler } from 'rxjs';
import { EMPTY_DATA, Entry, EntryKind } from '../../src/messages/entry';
import type { AppendEntries, NodeId } from '../../src/messages/types';
import { CommitNotices } from '../../src/streams/commitNotices';

/** A turn scheduler on virtual time: a turn asked for at virtual ms t runs at t + 1. */
function turnsOf(scheduler: VirtualTimeScheduler): SchedulerLike {
  return {
    now: () => scheduler.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
      return scheduler.schedule<T>(work as (this: SchedulerAction<T>, state?: T) => void, delay + 1, state);
    },
  };
}

/** Runs the turns up to and including turn `n` (virtual ms n). */
function runTurns(scheduler: VirtualTimeScheduler, n: number): void {
  scheduler.maxFrames = n;
  scheduler.flush();
}

function append(term: number, leaderCommit: number, seq: number, entries = 0): AppendEntries {
  const list: Entry[] = Array.from({ length: entries }, (_, i) => ({ index: leaderCommit + i + 1, term, kind: EntryKind.Command, data: EMPTY_DATA }));
  return { type: 'AppendEntries', term, leaderId: 'n1', prevLogIndex: leaderCommit, prevLogTerm: term, entries: list, leaderCommit, seq };
}

function setup(leadingTerm = 2) {
  const scheduler = new VirtualTimeScheduler();
  const sent: [NodeId, AppendEntries][] = [];
  const leads = { term: leadingTerm };
  const notices = new CommitNotices(turnsOf(scheduler), (to, m) => sent.push([to, m]), (term) => term === leads.term);
  return { scheduler, sent, leads, notices };
}

describe('CommitNotices', () => {
  test('a held notice is sent two turns later, not one', () => {
    const { scheduler, sent, notices } = setup();
    const notice = append(2, 5, 7);
    notices.hold('n2', notice);
    expect(sent).toEqual([]);
    runTurns(scheduler, 1);
    expect(sent).toEqual([]);
    runTurns(scheduler, 2);
    expect(sent).toEqual([['n2', notice]]);
    runTurns(scheduler, 100);
    expect(sent).toHaveLength(1);
  });

  test('a newer notice for the same peer replaces the older one; notices for other peers go in the same flush', () => {
    const { scheduler, sent, notices } = setup();
    notices.hold('n2', append(2, 5, 7));
    notices.hold('n3', append(2, 5, 7));
    notices.hold('n2', append(2, 6, 8));
    runTurns(scheduler, 2);
    expect(sent).toEqual([
      ['n2', append(2, 6, 8)],
      ['n3', append(2, 5, 7)],
    ]);
  });

  test('an AppendEntries to the peer carrying at least the same commit index and round makes the notice redundant', () => {
    const { scheduler, sent, notices } = setup();
    notices.hold('n2', append(2, 5, 7));
    notices.hold('n3', append(2, 5, 7));
    runTurns(scheduler, 1);
    notices.sending('n2', append(2, 5, 7, 3)); // the next batch for n2: carries commit 5
    runTurns(scheduler, 2);
    expect(sent).toEqual([['n3', append(2, 5, 7)]]);
  });

  test('an AppendEntries that carries less (older commit, older round, other term) leaves the notice to be sent', () => {
    const { scheduler, sent, notices } = setup();
    notices.hold('n2', append(2, 5, 7));
    notices.sending('n2', append(2, 4, 9)); // older commit index
    notices.sending('n2', append(2, 6, 6)); // older heartbeat round
    notices.sending('n2', append(3, 6, 9)); // another term
    notices.sending('n3', append(2, 9, 9)); // another peer
    runTurns(scheduler, 2);
    expect(sent).toEqual([['n2', append(2, 5, 7)]]);
  });

  test('a held notice is not sent once this node no longer leads in its term', () => {
    const { scheduler, sent, leads, notices } = setup(2);
    notices.hold('n2', append(2, 5, 7));
    runTurns(scheduler, 1);
    leads.term = 3; // stepped down, or a new term began
    runTurns(scheduler, 2);
    expect(sent).toEqual([]);
  });

  test('clear drops the held notices (the node stops); holding afterwards works again', () => {
    const { scheduler, sent, notices } = setup();
    notices.hold('n2', append(2, 5, 7));
    runTurns(scheduler, 1);
    notices.clear();
    runTurns(scheduler, 10);
    expect(sent).toEqual([]);
    const now = scheduler.now(); // the clock stands where the last action ran
    notices.hold('n3', append(2, 6, 8));
    runTurns(scheduler, now + 1);
    expect(sent).toEqual([]);
    runTurns(scheduler, now + 2);
    expect(sent).toEqual([['n3', append(2, 6, 8)]]);
  });

  test('a notice held while a flush is pending goes with that flush (held at most two turns)', () => {
    const { scheduler, sent, notices } = setup();
    notices.hold('n2', append(2, 5, 7));
    runTurns(scheduler, 1);
    notices.hold('n3', append(2, 5, 7));
    runTurns(scheduler, 2);
    expect(sent.map(([to]) => to)).toEqual(['n2', 'n3']);
    // After the flush, a new notice waits its own two turns.
    notices.hold('n2', append(2, 6, 8));
    runTurns(scheduler, 3);
    expect(sent).toHaveLength(2);
    runTurns(scheduler, 4);
    expect(sent).toHaveLength(3);
  });
});
