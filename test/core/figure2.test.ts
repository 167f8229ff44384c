/**
 * One test per rule of the Raft paper's Figure 2 ("the condensed summary"), named after
 * it: feed the rules an event, compare the state and the effects.
 */
import { step } from '../../src/core/step';
import type { AppendEntries } from '../../src/messages/types';
import { EntryKind } from '../../src/messages/entry';
import { command, elect, entriesAt, logTerms, makeState, msg, ok, sent, types } from './helpers';

function appendEntries(fields: Partial<AppendEntries> & { term: number }): AppendEntries {
  return { type: 'AppendEntries', leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 0, ...fields };
}


describe('Figure 2, Rules for Servers — all servers', () => {
  test('§5.1 if a message has term T > currentTerm: set currentTerm = T, convert to follower', () => {
    const s = makeState({ log: [1] });
    elect(s);
    const fx = msg(s, 'n3', ok(7, 0));
    expect(s.term).toBe(7);
    expect(s.role.name).toBe('follower');
    expect(s.votedFor).toBeNull();
    expect(fx[0]).toEqual({ type: 'saveHardState', hardState: { term: 7, votedFor: null } });
  });

  test('§5.1 a request with a stale term is refused and told the current term', () => {
    const s = makeState({ term: 5 });
    expect(sent(msg(s, 'n2', { type: 'RequestVote', term: 4, candidateId: 'n2', lastLogIndex: 9, lastLogTerm: 4, leadershipTransfer: false }))).toEqual([
      { to: 'n2', message: { type: 'RequestVoteResponse', term: 5, voteGranted: false }, afterPersist: true },
    ]);
    const [reply] = sent(msg(s, 'n2', appendEntries({ term: 4 })));
    expect(reply.message).toMatchObject({ type: 'AppendEntriesResponse', term: 5, success: false });
    expect(s.term).toBe(5);
  });
});

describe('Figure 2, Rules for Servers — followers', () => {
  test('§5.2 if the election timeout elapses without contact: convert to candidate', () => {
    const s = makeState({ term: 2, log: [1, 2] });
    const fx = step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list;
    expect(s.role.name).toBe('candidate');
    expect(types(fx)).toEqual(['saveHardState', 'send RequestVote to n2', 'send RequestVote to n3']);
  });

  test('§5.2 a timer of an earlier role epoch is ignored (the role that set it is gone)', () => {
    const s = makeState({});
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }); // candidate of term 1
    const stale = s.epoch;
    msg(s, 'n2', appendEntries({ term: 1 })); // back to follower: a new epoch
    expect(step(s, { kind: 'electionTimeout', epoch: stale, forced: true }).list).toEqual([]);
    expect(s.role.name).toBe('follower');
  });

  test('§5.2 learning of a newer term alone does not restart the election timer', () => {
    const s = makeState({ term: 1, log: [1] }); // n3's empty log below does not get its vote
    const { epoch, electionDeadline } = s;
    s.now = 100;
    msg(s, 'n3', { type: 'RequestVote', term: 5, candidateId: 'n3', lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false });
    expect(s.term).toBe(5);
    expect(s.epoch).toBe(epoch); // the same follower timer keeps running...
    expect(s.electionDeadline).toBe(electionDeadline);
    msg(s, 'n2', { type: 'RequestVote', term: 6, candidateId: 'n2', lastLogIndex: 9, lastLogTerm: 9, leadershipTransfer: false });
    expect(s.electionDeadline).toBe(100 + 225); // ...unless a vote is granted
  });

  test('§5.2 hearing from the current leader resets the election timer', () => {
    const s = makeState({ term: 1 });
    s.now = 100;
    msg(s, 'n2', appendEntries({ term: 1 }));
    expect(s.electionDeadline).toBe(100 + 225);
    expect(s.leaderId).toBe('n2');
  });
});

describe('Figure 2, Rules for Servers — candidates', () => {
  test('§5.2 on conversion: increment currentTerm, vote for self, send RequestVote to all other servers', () => {
    const s = makeState({ term: 3, log: [1, 3] });
    const fx = step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list;
    expect(s.term).toBe(4);
    expect(s.votedFor).toBe('n1');
    expect(fx[0]).toEqual({ type: 'saveHardState', hardState: { term: 4, votedFor: 'n1' } });
    expect(sent(fx).map((m) => m.message)).toEqual([
      { type: 'RequestVote', term: 4, candidateId: 'n1', lastLogIndex: 2, lastLogTerm: 3, leadershipTransfer: false },
      { type: 'RequestVote', term: 4, candidateId: 'n1', lastLogIndex: 2, lastLogTerm: 3, leadershipTransfer: false },
    ]);
    // Asking may precede the durable vote; counting it may not.
    expect(sent(fx).every((m) => !m.afterPersist)).toBe(true);
    expect(s.role).toMatchObject({ name: 'candidate', votes: new Set() });
    step(s, { kind: 'hardStateSaved', term: 4, votedFor: 'n1' });
    expect(s.role).toMatchObject({ name: 'candidate', votes: new Set(['n1']) });
  });

  test('§5.2 a candidate does not win before its own vote is durable', () => {
    const s = makeState({ voters: ['n1', 'n2', 'n3'] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    msg(s, 'n2', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(s.role.name).toBe('candidate'); // n2's vote alone is no majority of 3
    step(s, { kind: 'hardStateSaved', term: 0, votedFor: null }); // an older save
    expect(s.role.name).toBe('candidate');
    step(s, { kind: 'hardStateSaved', term: 1, votedFor: 'n1' });
    expect(s.role.name).toBe('leader');
  });

  test('§5.2 a candidate takes office only once its own term and vote are durable, even when the others alone are a majority', () => {
    // A leader whose term a crash could take back could win that term again after a
    // restart (the voters already voted for it), with another log: two entries at one (index, term).
    const s = makeState({ voters: ['n1', 'n2', 'n3'] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    msg(s, 'n2', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    msg(s, 'n3', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(s.role.name).toBe('candidate'); // its disk has not saved term 1 yet (it hangs)
    const fx = step(s, { kind: 'hardStateSaved', term: 1, votedFor: 'n1' });
    expect(s.role.name).toBe('leader');
    expect(types(fx.list)).toContain('send AppendEntries to n2');
  });

  test('§5.2 if votes are received from a majority of servers: become leader', () => {
    const s = makeState({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    step(s, { kind: 'hardStateSaved', term: 1, votedFor: 'n1' });
    msg(s, 'n2', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(s.role.name).toBe('candidate');
    msg(s, 'n3', { type: 'RequestVoteResponse', term: 1, voteGranted: false });
    msg(s, 'n2', { type: 'RequestVoteResponse', term: 1, voteGranted: true }); // duplicate counts once
    expect(s.role.name).toBe('candidate');
    msg(s, 'n4', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(s.role.name).toBe('leader');
    expect(s.leaderId).toBe('n1');
  });

  test('§5.2 if AppendEntries is received from the new leader: convert to follower', () => {
    const s = makeState({});
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    msg(s, 'n3', appendEntries({ term: 1, leaderId: 'n3' }));
    expect(s.role.name).toBe('follower');
    expect(s.leaderId).toBe('n3');
    expect(s.term).toBe(1);
  });

  test('§5.2 if the election timeout elapses: start a new election', () => {
    const s = makeState({});
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    expect(s.term).toBe(2);
    expect(s.role.name).toBe('candidate');
    step(s, { kind: 'hardStateSaved', term: 1, votedFor: 'n1' }); // the first election's vote: stale
    expect(s.role).toMatchObject({ name: 'candidate', votes: new Set() });
  });

  test('§5.2 a single-node cluster elects itself once its vote is durable', () => {
    const s = makeState({ voters: ['n1'] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    expect(s.role.name).toBe('candidate');
    step(s, { kind: 'hardStateSaved', term: 1, votedFor: 'n1' });
    expect(s.role.name).toBe('leader');
  });
});

describe('Figure 2, Rules for Servers — leaders', () => {
  test('§5.2 §5.4.2 upon election: append a no-op of the new term and send AppendEntries to each server', () => {
    const s = makeState({ term: 1, log: [1, 1] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    step(s, { kind: 'hardStateSaved', term: s.term, votedFor: 'n1' });
    const fx = msg(s, 'n2', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
    expect(logTerms(s)).toEqual([1, 1, 2]);
    expect(s.log.entry(3)!.kind).toBe(EntryKind.Noop);
    expect(types(fx)).toEqual(['persistEntries', 'send AppendEntries to n2', 'send AppendEntries to n3']);
    const [toN2] = sent(fx);
    expect(toN2.afterPersist).toBe(false); // the leader writes its log in parallel with replication
    expect(toN2.message).toMatchObject({ prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 0 });
  });

  test('§5.2 repeat heartbeats during idle periods to prevent election timeouts', () => {
    const s = makeState({});
    elect(s);
    const fx = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    const heartbeats = sent(fx).filter((m) => m.message.type === 'AppendEntries' && m.message.entries.length === 0);
    expect(heartbeats.map((m) => m.to)).toEqual(['n2', 'n3']);
  });

  test('§5.3 if a command is received from a client: append the entry to the local log and replicate it', () => {
    const s = makeState({});
    elect(s);
    msg(s, 'n2', ok(1, 1));
    const fx = step(s, { kind: 'propose', commands: [command(42), command(42)], tokens: ['a', 'b'], requestId: 1 }).list;
    expect(logTerms(s)).toEqual([1, 1, 1]);
    expect(fx[0]).toMatchObject({ type: 'persistEntries' });
    expect(fx).toContainEqual({ type: 'proposalsAppended', tokens: ['a', 'b'], firstIndex: 2, term: 1 });
    const toN2 = sent(fx).find((m) => m.to === 'n2')!.message as AppendEntries;
    expect(toN2.entries.map((e) => e.index)).toEqual([2, 3]); // one message for the whole batch
  });

  test('§5.3 a non-leader refuses commands', () => {
    const s = makeState({});
    const fx = step(s, { kind: 'propose', commands: [command(1)], tokens: ['t'], requestId: 1 }).list;
    expect(fx).toEqual([{ type: 'proposalsRefused', tokens: ['t'], overloaded: false }]);
  });

  test('§5.3 if successful: update nextIndex and matchIndex for the follower', () => {
    const s = makeState({ term: 1, log: [1] });
    elect(s); // term 2, noop at 2
    msg(s, 'n2', ok(2, 2));
    if (s.role.name !== 'leader') throw new Error();
    const pr = s.role.progress.get('n2')!;
    expect(pr.match).toBe(2);
    expect(pr.next).toBe(3);
    expect(pr.probing).toBe(false);
  });

  test('§5.3 if AppendEntries fails because of log inconsistency: move nextIndex back and retry', () => {
    const s = makeState({ term: 2, log: [1, 1, 2, 2, 2] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }); // term 3
    step(s, { kind: 'hardStateSaved', term: s.term, votedFor: 'n1' });
    msg(s, 'n2', { type: 'RequestVoteResponse', term: 3, voteGranted: true }); // noop at 6
    // n3 holds [1, 1, 1, 1]: rejects prev 5 as shorter; then prev 4 with conflict term 1 from index 1.
    let fx = msg(s, 'n3', { type: 'AppendEntriesResponse', term: 3, success: false, matchIndex: 0, rejectedIndex: 5, conflictIndex: 5, conflictTerm: 0, seq: 0 });
    let retry = sent(fx)[0].message as AppendEntries;
    expect(retry.prevLogIndex).toBe(4);
    fx = msg(s, 'n3', { type: 'AppendEntriesResponse', term: 3, success: false, matchIndex: 0, rejectedIndex: 4, conflictIndex: 1, conflictTerm: 1, seq: 0 });
    retry = sent(fx)[0].message as AppendEntries;
    // The leader's last term-1 entry is at 2, so it resumes right after it: one round trip per term.
    expect(retry.prevLogIndex).toBe(2);
    expect(retry.entries.map((e) => e.index)).toEqual([3, 4, 5, 6]);
  });

  test('§5.3 a stale rejection (an answer to an older probe) does not move nextIndex', () => {
    const s = makeState({ term: 1, log: [1, 1] });
    elect(s); // term 2, noop at 3; probe for n3 at prev 2
    const fx = msg(s, 'n3', { type: 'AppendEntriesResponse', term: 2, success: false, matchIndex: 0, rejectedIndex: 1, conflictIndex: 1, conflictTerm: 0, seq: 0 });
    expect(fx).toEqual([]);
  });

  test('§5.3 §5.4 if N > commitIndex, a majority of matchIndex >= N and log[N].term == currentTerm: commitIndex = N', () => {
    const s = makeState({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'] });
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    step(s, { kind: 'hardStateSaved', term: s.term, votedFor: 'n1' });
    msg(s, 'n2', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    msg(s, 'n3', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    step(s, { kind: 'persisted', index: 1, term: 1 });
    msg(s, 'n2', ok(1, 1));
    expect(s.commitIndex).toBe(0); // 2 of 5
    msg(s, 'n3', ok(1, 1));
    expect(s.commitIndex).toBe(1); // 3 of 5
  });

  test('§5.4.2 the leader counts itself only once its own write is durable', () => {
    const s = makeState({});
    elect(s);
    msg(s, 'n2', ok(1, 1));
    expect(s.commitIndex).toBe(0);
    step(s, { kind: 'persisted', index: 1, term: 1 });
    expect(s.commitIndex).toBe(1);
  });

  test('§5.3 a follower that makes no progress for a while is probed again (lost messages)', () => {
    const s = makeState({});
    elect(s); // probe with the noop to n2 is "lost"
    step(s, { kind: 'heartbeatTick', epoch: s.epoch });
    const fx = step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;
    // The heartbeat and the probe again, at the same place; without the no-op while n2 has answered nothing since the last one.
    const resent = sent(fx).filter((m) => m.to === 'n2' && (m.message as AppendEntries).prevLogIndex === 0);
    expect(resent.map((m) => (m.message as AppendEntries).entries.length)).toEqual([0, 0]);
  });
});

describe('Figure 2, RequestVote RPC — receiver implementation', () => {
  const vote = (term: number, candidateId: string, lastLogIndex: number, lastLogTerm: number) =>
    ({ type: 'RequestVote', term, candidateId, lastLogIndex, lastLogTerm, leadershipTransfer: false }) as const;

  test('1. reply false if term < currentTerm', () => {
    const s = makeState({ term: 3 });
    expect(sent(msg(s, 'n2', vote(2, 'n2', 5, 2)))[0].message).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: false });
  });

  test('2. grant if votedFor is null and the candidate log is at least as up-to-date; save the vote before replying', () => {
    const s = makeState({ term: 1, log: [1, 1] });
    const fx = msg(s, 'n2', vote(1, 'n2', 2, 1));
    expect(types(fx)).toEqual(['saveHardState', 'send RequestVoteResponse to n2']);
    expect(sent(fx)[0]).toEqual({ to: 'n2', message: { type: 'RequestVoteResponse', term: 1, voteGranted: true }, afterPersist: true });
    expect(s.votedFor).toBe('n2');
  });

  test('2. one vote per term: refuse a second candidate, grant the same one again', () => {
    const s = makeState({ term: 1 });
    msg(s, 'n2', vote(1, 'n2', 0, 0));
    expect((sent(msg(s, 'n3', vote(1, 'n3', 0, 0)))[0].message as { voteGranted: boolean }).voteGranted).toBe(false);
    expect((sent(msg(s, 'n2', vote(1, 'n2', 0, 0)))[0].message as { voteGranted: boolean }).voteGranted).toBe(true);
  });

  test('§5.4.1 refuse a candidate whose last term is older, or whose log is shorter in the same last term', () => {
    const s = makeState({ term: 3, log: [1, 3, 3] });
    expect((sent(msg(s, 'n2', vote(4, 'n2', 9, 2)))[0].message as { voteGranted: boolean }).voteGranted).toBe(false);
    expect((sent(msg(s, 'n3', vote(4, 'n3', 2, 3)))[0].message as { voteGranted: boolean }).voteGranted).toBe(false);
    expect(s.votedFor).toBeNull();
    expect((sent(msg(s, 'n3', vote(5, 'n3', 1, 4)))[0].message as { voteGranted: boolean }).voteGranted).toBe(true);
  });

  test('a vote request claiming another candidate id than its sender is refused', () => {
    const s = makeState({ term: 1 });
    expect((sent(msg(s, 'n2', vote(1, 'n3', 0, 0)))[0].message as { voteGranted: boolean }).voteGranted).toBe(false);
  });
});

describe('Figure 2, AppendEntries RPC — receiver implementation', () => {
  test('1. reply false if term < currentTerm', () => {
    const s = makeState({ term: 2 });
    const [reply] = sent(msg(s, 'n2', appendEntries({ term: 1 })));
    expect(reply.message).toMatchObject({ success: false, term: 2 });
  });

  test('2. reply false if the log has no entry at prevLogIndex whose term matches prevLogTerm, with a conflict hint', () => {
    const s = makeState({ term: 3, log: [1, 2, 2, 2] });
    const [shorter] = sent(msg(s, 'n2', appendEntries({ term: 3, prevLogIndex: 6, prevLogTerm: 3 })));
    expect(shorter.message).toMatchObject({ success: false, rejectedIndex: 6, conflictTerm: 0, conflictIndex: 5 });
    const [mismatch] = sent(msg(s, 'n2', appendEntries({ term: 3, prevLogIndex: 4, prevLogTerm: 3 })));
    expect(mismatch.message).toMatchObject({ success: false, rejectedIndex: 4, conflictTerm: 2, conflictIndex: 2 });
  });

  test('3. if an existing entry conflicts with a new one (same index, different terms), delete it and all that follow', () => {
    const s = makeState({ term: 3, log: [1, 2, 2, 2] });
    const fx = msg(s, 'n2', appendEntries({ term: 3, prevLogIndex: 2, prevLogTerm: 2, entries: entriesAt(3, [3]) }));
    expect(logTerms(s)).toEqual([1, 2, 3]);
    expect(fx).toContainEqual({ type: 'persistEntries', entries: entriesAt(3, [3]) });
  });

  test('4. append any new entries not already in the log; a stale request never truncates', () => {
    const s = makeState({ term: 1 });
    msg(s, 'n2', appendEntries({ term: 1, entries: entriesAt(1, [1, 1, 1]) }));
    expect(logTerms(s)).toEqual([1, 1, 1]);
    const fx = msg(s, 'n2', appendEntries({ term: 1, entries: entriesAt(1, [1]) })); // older, shorter duplicate
    expect(logTerms(s)).toEqual([1, 1, 1]);
    expect(types(fx)).not.toContain('persistEntries');
    // Nothing new to write: answered at once, claiming only what is durable — nothing yet.
    expect(sent(fx)[0]).toMatchObject({ afterPersist: false, message: { success: true, matchIndex: 0 } });
    step(s, { kind: 'persisted', index: 3, term: 1 });
    const again = msg(s, 'n2', appendEntries({ term: 1, entries: entriesAt(1, [1]) }));
    expect(sent(again)[0]).toMatchObject({ afterPersist: false, message: { success: true, matchIndex: 1 } });
  });

  test('5. if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)', () => {
    const s = makeState({ term: 1, log: [1, 1, 1, 1] });
    msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: entriesAt(2, [1]), leaderCommit: 4 }));
    expect(s.commitIndex).toBe(2); // entries 3 and 4 are not proven to match the leader's
    msg(s, 'n2', appendEntries({ term: 1, prevLogIndex: 4, prevLogTerm: 1, leaderCommit: 4 }));
    expect(s.commitIndex).toBe(4);
  });

  test('the acknowledgement leaves only after the appended entries are durable', () => {
    const s = makeState({ term: 1 });
    const fx = msg(s, 'n2', appendEntries({ term: 1, entries: entriesAt(1, [1]) }));
    expect(types(fx)).toEqual(['persistEntries', 'send AppendEntriesResponse to n2']);
    expect(sent(fx)[0].afterPersist).toBe(true);
  });

  test('a leader that would truncate a committed entry is refused by a broken-invariant error', () => {
    const s = makeState({ term: 1 });
    msg(s, 'n2', appendEntries({ term: 1, entries: entriesAt(1, [1, 1]), leaderCommit: 2 }));
    expect(() => msg(s, 'n3', appendEntries({ term: 2, leaderId: 'n3', entries: entriesAt(1, [2]) }))).toThrow(/committed/);
  });
});
