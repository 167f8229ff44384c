/**
 * Quiescence (issue 19; `core/quiescence.ts`, docs/notes/quiescence.md), rule by rule:
 * feed one event, compare the effects.
 */
import type { Effect } from '../../src/core/effects';
import type { LeaderState, RaftState } from '../../src/core/state';
import { step } from '../../src/core/step';
import type { AppendEntries, RaftMessage } from '../../src/messages/types';
import { command, elect, makeState, msg, ok, sent } from './helpers';

const QUIESCE = { quiesce: true, checkQuorum: true };

function leaderState(s: RaftState): LeaderState {
  if (s.role.name !== 'leader') throw new Error(`${s.id} is a ${s.role.name}`);
  return s.role;
}

/** `from` answers the leader's current round, holding its whole log. */
function answer(s: RaftState, from: string): Effect[] {
  return msg(s, from, { ...ok(s.term, s.log.lastIndex), seq: leaderState(s).seq });
}

/** n1 leads term 1 of n1, n2, n3; its no-op is durable; n2 and n3 have answered. Returns the effects of the last answer. */
function idleLeader(options: Record<string, unknown> = QUIESCE): { s: RaftState; last: Effect[] } {
  const s = makeState({ options });
  elect(s);
  step(s, { kind: 'persisted', index: 1, term: 1 });
  answer(s, 'n2');
  const last = answer(s, 'n3');
  return { s, last };
}

const heartbeat = (fields: Partial<AppendEntries> & { term: number }): AppendEntries => ({
  type: 'AppendEntries', leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 1, ...fields,
});

const messages = (fx: Effect[]): RaftMessage[] => sent(fx).map((m) => m.message);

describe('a leader goes quiet', () => {
  test('at the end of the turn in which the last follower answered the latest round: one heartbeat flagged quiesce to each follower', () => {
    const { s, last } = idleLeader();
    expect(s.quiet).toBe(true);
    // (n3 also gets the commit notice its answer earned; the driver drops it for the quiesce heartbeat, which carries the same.)
    expect(sent(last).filter((m) => m.message.type === 'AppendEntries' && m.message.quiesce)).toEqual([
      { to: 'n2', afterPersist: false, message: expect.objectContaining({ type: 'AppendEntries', quiesce: true, prevLogIndex: 1, leaderCommit: 1, entries: [] }) },
      { to: 'n3', afterPersist: false, message: expect.objectContaining({ type: 'AppendEntries', quiesce: true, prevLogIndex: 1, leaderCommit: 1, entries: [] }) },
    ]);
  });

  test('a quiet leader ticks without sending anything, and its followers\' answers to the last round do not wake it', () => {
    const { s } = idleLeader();
    expect(step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list).toEqual([]);
    expect(answer(s, 'n2')).toEqual([]);
    expect(s.quiet).toBe(true);
  });

  test('not while a follower has not answered the latest round, nor with quiescence off', () => {
    const s = makeState({ options: QUIESCE });
    elect(s);
    step(s, { kind: 'persisted', index: 1, term: 1 });
    answer(s, 'n2'); // n3 silent: committed by a majority, but n3 lags
    expect(s.commitIndex).toBe(1);
    expect(s.quiet).toBe(false);
    expect(idleLeader({ checkQuorum: true }).s.quiet).toBe(false);
  });

  test('not while an entry is uncommitted or a read waits', () => {
    const { s } = idleLeader();
    step(s, { kind: 'propose', commands: [command(7)], tokens: ['t'], requestId: 1 }); // wakes it
    expect(s.quiet).toBe(false);
    answer(s, 'n2');
    answer(s, 'n3'); // both hold entry 2, but it is not durable here: not committed
    expect(s.quiet).toBe(false);
    step(s, { kind: 'read', requestId: 2, lease: false });
    step(s, { kind: 'persisted', index: 2, term: 1 }); // commits; the read still waits for its round
    expect(s.quiet).toBe(false);
    answer(s, 'n2'); // the read's round answered by a majority: served
    answer(s, 'n3'); // nothing left to do, but clients asked within this heartbeat interval
    expect(s.quiet).toBe(false);
    idleInterval(s);
    expect(s.quiet).toBe(true);
  });

  test('not between the rounds of a busy group: only after a whole heartbeat interval without client work', () => {
    const { s } = idleLeader();
    const write = (n: number) => {
      step(s, { kind: 'propose', commands: [command(n)], tokens: [`t${n}`], requestId: n });
      step(s, { kind: 'persisted', index: s.log.lastIndex, term: 1 });
      answer(s, 'n2');
      return answer(s, 'n3'); // committed everywhere: a pause before the client's next write
    };
    for (let n = 10; n < 14; n++) {
      if (n === 12) step(s, { kind: 'heartbeatTick', epoch: s.epoch }); // a tick inside the busy interval
      const fx = write(n);
      expect(s.quiet).toBe(false);
      expect(messages(fx).filter((m) => m.type === 'AppendEntries' && m.quiesce)).toEqual([]);
    }
    // One tick ends the interval of the last write; after the next, a whole interval was idle.
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    answer(s, 'n2');
    answer(s, 'n3');
    expect(s.quiet).toBe(false);
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    answer(s, 'n2');
    const last = answer(s, 'n3');
    expect(s.quiet).toBe(true);
    expect(messages(last).filter((m) => m.type === 'AppendEntries' && m.quiesce)).toHaveLength(2);
  });

  test('a proposal forwarded by a follower is client work too', () => {
    const { s } = idleLeader();
    step(s, { kind: 'wake' });
    msg(s, 'n2', { type: 'ProposeRequest', term: 1, requestId: 5, commands: [command(5)] });
    step(s, { kind: 'persisted', index: s.log.lastIndex, term: 1 });
    answer(s, 'n2');
    answer(s, 'n3');
    expect(s.log.lastIndex).toBe(2);
    expect(s.commitIndex).toBe(2);
    expect(s.quiet).toBe(false);
  });
});

/** Two heartbeat ticks, each round answered by both followers: a whole interval without client work. */
function idleInterval(s: RaftState): void {
  for (let tick = 0; tick < 2; tick++) {
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    answer(s, 'n2');
    answer(s, 'n3');
  }
}

describe('a follower goes quiet', () => {
  test('on its leader\'s quiesce heartbeat of its term when its log ends at the commit index: no election deadline', () => {
    const s = makeState({ term: 1, log: [1], options: QUIESCE });
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 }));
    step(s, { kind: 'persisted', index: 1, term: 1 });
    expect(s.electionDeadline).toBeLessThan(Infinity);
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, seq: 2, quiesce: true }));
    expect(s.quiet).toBe(true);
    expect(s.electionDeadline).toBe(Infinity);
  });

  test('a lagging follower ignores the flag and keeps its timer', () => {
    const s = makeState({ term: 1, log: [1], options: QUIESCE });
    // The leader committed 2; this follower holds only 1 (it answers with a rejection instead).
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2, quiesce: true }));
    expect(s.quiet).toBe(false);
    expect(s.electionDeadline).toBeLessThan(Infinity);
  });

  test('a late heartbeat of an older round does not wake it; any other message does, and it wakes its leader with WakeUp', () => {
    const s = makeState({ term: 1, log: [1], options: QUIESCE });
    step(s, { kind: 'persisted', index: 1, term: 1 });
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, seq: 3, quiesce: true }));
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, seq: 2 })); // delivered late
    expect(s.quiet).toBe(true);
    expect(s.electionDeadline).toBe(Infinity);
    const fx = msg(s, 'n3', { type: 'PreVote', term: 2, candidateId: 'n3', lastLogIndex: 1, lastLogTerm: 1 });
    expect(s.quiet).toBe(false);
    expect(s.electionDeadline).toBeLessThan(Infinity);
    expect(sent(fx)).toContainEqual({ to: 'n2', afterPersist: true, message: { type: 'WakeUp', term: 1 } });
  });

  test('the host\'s wake-up (a suspected failure) re-arms its timer', () => {
    const s = makeState({ term: 1, log: [1], options: QUIESCE });
    step(s, { kind: 'persisted', index: 1, term: 1 });
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, seq: 3, quiesce: true }));
    s.now = 10_000;
    const fx = step(s, { kind: 'wake' });
    expect(s.electionDeadline).toBe(10_000 + 225);
    expect(messages(fx.list)).toEqual([{ type: 'WakeUp', term: 1 }]);
    s.now = 10_000 + 225;
    expect(messages(step(s, { kind: 'electionTimeout', epoch: s.epoch }).list).map((m) => m.type)).toEqual(['RequestVote', 'RequestVote']); // PreVote is off in these rules' options
  });
});

describe('a quiet leader wakes', () => {
  test('on a proposal: a fresh round to every follower, then the entry', () => {
    const { s } = idleLeader();
    const seq = leaderState(s).seq;
    const fx = step(s, { kind: 'propose', commands: [command(7)], tokens: ['t'], requestId: 1 });
    expect(s.quiet).toBe(false);
    const out = messages(fx.list) as AppendEntries[];
    expect(out.filter((m) => m.entries.length === 0 && m.seq === seq + 1)).toHaveLength(2); // the new round's heartbeats
    expect(out.filter((m) => m.entries.length === 1)).toHaveLength(2);
  });

  test.each([
    ['a WakeUp from a follower', (s: RaftState) => msg(s, 'n2', { type: 'WakeUp', term: s.term })],
    ['the host\'s wake-up', (s: RaftState) => step(s, { kind: 'wake' }).list],
    ['a transfer request', (s: RaftState) => step(s, { kind: 'transferLeadership', requestId: 1, to: 'n2' }).list],
  ])('on %s: a fresh round', (_, event) => {
    const { s } = idleLeader();
    const seq = leaderState(s).seq;
    const fx = event(s);
    expect(s.quiet).toBe(false);
    expect(messages(fx).filter((m) => m.type === 'AppendEntries' && m.seq === seq + 1).map((m) => m.type)).toHaveLength(2);
  });

  test('it serves no lease read from a round before it went quiet: the read waits for the fresh round\'s answers', () => {
    const { s } = idleLeader();
    s.now += 10; // well inside the lease of the last round (electionTimeoutMin 150 - drift 30)
    const fx = step(s, { kind: 'read', requestId: 9, lease: true });
    expect(fx.list.some((e) => e.type === 'readReady')).toBe(false);
    expect(leaderState(s).reads).toHaveLength(1);
    const served = answer(s, 'n2'); // a majority (with the leader) answered the fresh round
    expect(served).toContainEqual({ type: 'readReady', requestId: 9, index: 1 });
    // Now the lease dates from the fresh round: the next lease read is served at once.
    expect(step(s, { kind: 'read', requestId: 10, lease: true }).list).toContainEqual({ type: 'readReady', requestId: 10, index: 1 });
  });

  test('CheckQuorum after waking: the followers\' answers before quiescence count for checkQuorumTicks ticks, then silence deposes it', () => {
    const { s } = idleLeader();
    s.now += 60_000; // a long quiet: its followers' last answers are a minute old
    step(s, { kind: 'wake' });
    for (let tick = 0; tick < 2; tick++) {
      step(s, { kind: 'heartbeatTick', epoch: s.epoch });
      expect(s.role.name).toBe('leader');
    }
    step(s, { kind: 'heartbeatTick', epoch: s.epoch }); // the third tick (checkQuorumTicks = 3) without an answer
    expect(s.role.name).toBe('follower');
  });

  test('an answer from a follower in the fresh round keeps it in office', () => {
    const { s } = idleLeader();
    s.now += 60_000;
    step(s, { kind: 'wake' });
    answer(s, 'n2');
    for (let tick = 0; tick < 5; tick++) step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    expect(s.role.name).toBe('leader');
  });
});

describe('a silent host (HostWakeup: the hosts that changed, and those silent now)', () => {
  /** n1 leads term 1 of n1, n2, n3; only n2 answered, n3 (its host silent or not) not for the minimum election timeout (150). */
  function leaderWithoutN3(silent: string[], after = 150): RaftState {
    const s = makeState({ options: QUIESCE });
    elect(s); // taking office counts as contact
    step(s, { kind: 'wake', hosts: silent, silent });
    step(s, { kind: 'persisted', index: 1, term: 1 });
    s.now += after;
    answer(s, 'n2');
    return s;
  }

  test('a leader goes quiet without a follower whose host is silent, while the others make a quorum', () => {
    expect(leaderWithoutN3([]).quiet).toBe(false);
    expect(leaderWithoutN3(['n3'], 149).quiet).toBe(false); // n3 counts as heard from when n1 took office
    const s = leaderWithoutN3(['n3']);
    expect(s.quiet).toBe(true);
    // ... but not when the answering voters are no quorum: 5 voters, two silent and one lagging.
    const five = makeState({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'], options: QUIESCE });
    step(five, { kind: 'electionTimeout', epoch: five.epoch, forced: true });
    step(five, { kind: 'hardStateSaved', term: five.term, votedFor: five.id });
    for (const v of ['n2', 'n3']) msg(five, v, { type: 'RequestVoteResponse', term: five.term, voteGranted: true });
    expect(five.role.name).toBe('leader');
    step(five, { kind: 'wake', hosts: ['n4', 'n5'], silent: ['n4', 'n5'] });
    step(five, { kind: 'persisted', index: 1, term: 1 });
    five.now += 150;
    answer(five, 'n2');
    expect(five.quiet).toBe(false);
    answer(five, 'n3'); // n1, n2, n3 answered: a quorum of 5
    expect(five.quiet).toBe(true);
  });

  test('a leader that goes quiet without a silent host\'s follower parks the snapshot transfer to it: its reader is released, nothing is read until it answers', () => {
    const s = makeState({ options: QUIESCE });
    elect(s);
    step(s, { kind: 'wake', hosts: ['n3'], silent: ['n3'] });
    step(s, { kind: 'persisted', index: 1, term: 1 });
    // n3 was being sent a snapshot, chunk 4 awaited, when its host went silent (fewer than the 10 ticks that park a stalled transfer).
    leaderState(s).progress.get('n3')!.snapshot = { index: 1, term: 1, chunk: 4, stalledTicks: 3, resends: 0, parked: false, holdTicks: 0 };
    s.now += 150;
    const fx = answer(s, 'n2');
    expect(s.quiet).toBe(true);
    expect(fx.filter((e) => e.type === 'parkSnapshotTransfer' || e.type === 'sendSnapshotChunk')).toEqual([{ type: 'parkSnapshotTransfer', to: 'n3' }]);
    expect(leaderState(s).progress.get('n3')!.snapshot).toMatchObject({ chunk: 4, parked: true });
    // Its host answers again: the group wakes, n3 answers, and the transfer starts over from chunk 0.
    step(s, { kind: 'wake', hosts: ['n3'], silent: [] });
    const back = msg(s, 'n3', { ...ok(s.term, 0), success: false, rejectedIndex: 1, conflictIndex: 1, seq: leaderState(s).seq });
    expect(back.filter((e) => e.type === 'sendSnapshotChunk')).toEqual([expect.objectContaining({ to: 'n3', chunk: 0 })]);
  });

  test('a follower that answers is caught up first, whatever its host was said to be', () => {
    const s = makeState({ options: QUIESCE });
    elect(s);
    step(s, { kind: 'wake', hosts: ['n3'], silent: ['n3'] }); // stale: n3's host answers again, and the leader has not heard yet
    s.now += 150;
    msg(s, 'n3', { ...ok(s.term, 0), success: false, rejectedIndex: 1, conflictIndex: 1, seq: leaderState(s).seq }); // n3 lacks entry 1
    step(s, { kind: 'persisted', index: 1, term: 1 });
    answer(s, 'n2');
    expect(s.quiet).toBe(false);
  });

  test('a leader that went quiet without a silent host\'s follower wakes when that host answers again, and waits for that follower before going quiet again', () => {
    const s = leaderWithoutN3(['n3']);
    const seq = leaderState(s).seq;
    const fx = step(s, { kind: 'wake', hosts: ['n3'], silent: [] });
    expect(s.quiet).toBe(false);
    expect(messages(fx.list).filter((m) => m.type === 'AppendEntries' && m.seq === seq + 1)).toHaveLength(2);
    answer(s, 'n2');
    expect(s.quiet).toBe(false); // n3 is no longer silent: the leader waits for it
    answer(s, 'n3');
    expect(s.quiet).toBe(true);
  });

  test('a wake-up wakes a quiet leader only if a follower is on a host it names', () => {
    const { s } = idleLeader();
    expect(step(s, { kind: 'wake', hosts: ['n9'], silent: ['n9'] }).list).toEqual([]);
    expect(s.quiet).toBe(true);
    step(s, { kind: 'wake', hosts: ['n2'], silent: ['n2', 'n9'] });
    expect(s.quiet).toBe(false);
    expect(s.silentPeers).toEqual(['n2', 'n9']);
  });

  test('a wake-up wakes a quiet follower only if its leader is on a host it names; an awake node remembers the silent hosts', () => {
    const s = makeState({ term: 1, log: [1], options: QUIESCE });
    step(s, { kind: 'persisted', index: 1, term: 1 });
    msg(s, 'n2', heartbeat({ term: 1, prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1, seq: 3, quiesce: true }));
    expect(step(s, { kind: 'wake', hosts: ['n3'], silent: ['n3'] }).list).toEqual([]);
    expect(s.quiet).toBe(true);
    expect(s.electionDeadline).toBe(Infinity);
    step(s, { kind: 'wake', hosts: ['n2'], silent: ['n2', 'n3'] });
    expect(s.quiet).toBe(false);
    expect(s.electionDeadline).toBeLessThan(Infinity);
    step(s, { kind: 'wake', hosts: ['n3'], silent: ['n2'] });
    expect(s.silentPeers).toEqual(['n2']);
  });
});
