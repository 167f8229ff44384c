/**
 * Leader election and basic replication scenarios of etcd-io/raft's raft_test.go,
 * ported to rxraft/testing: one test per rule, citing the Raft paper (§5) or the
 * dissertation. Elections start only by `campaign` (etcd's MsgHup); a "down" node of
 * etcd's tests is an isolated one here.
 *
 * Differences from etcd, where rxraft follows the paper:
 * - A candidate refused by a majority stays a candidate until its timer runs out (§5.2);
 *   etcd steps down at once. Rows that expect etcd's follower expect a candidate here.
 * - A candidate's log is compared with the voter's whatever the voter's role; etcd's
 *   TestRecvMsgVote rows for a leader/candidate voter are covered by "a server that
 *   already voted in this term refuses".
 *
 * Not ported:
 * - TestProgressLeader, TestProgressResumeByHeartbeatResp, TestProgressPaused,
 *   TestProgressFlowControl, TestUncommittedEntryLimit, TestMsgAppRespWaitReset,
 *   TestLeaderAppResp, TestSendAppendForProgress*, TestRecvMsgUnreachable,
 *   TestFastLogRejection, TestLogReplicationWithReorderedMessage: etcd's flow control
 *   internals (message counts per tick, MsgUnreachable, its exact probe hints) —
 *   rxraft's window and hints are tested in test/core.
 * - TestPastElectionTimeout, TestStepIgnoreOldTermMsg, TestHandleMsgApp,
 *   TestHandleHeartbeat, TestHandleHeartbeatResp, TestStateTransition,
 *   TestCandidateSelfVoteAfterLostElection*, TestCandidateDeliversPreCandidateSelfVote*,
 *   TestLeaderMsgAppSelfAckAfterTermChange, TestRaftFreesReadOnlyMem: they drive etcd's
 *   step functions, tick counters and self-addressed messages, which rxraft has no
 *   equivalent of (its own vote counts on `hardStateSaved`, tested in test/core).
 * - TestCampaignWhileLeader, TestPreCampaignWhileLeader: covered by "a leader ignores
 *   campaign" below (one test, both modes).
 * - TestRestore*, TestProvideSnap, TestIgnoreProvidingSnap, TestRestoreFromSnapMsg,
 *   TestSlowNodeRestore, TestStepConfig, TestStepIgnoreConfig, TestNewLeaderPendingConfig,
 *   TestAddNode*, TestRemoveNode, TestRemoveLearner, TestPromotable, TestRaftNodes,
 *   TestCommitAfterRemoveNode, TestConfChange*CheckBeforeCampaign: snapshot restore and
 *   configuration changes through etcd's ConfChange API (rxraft's are tested in
 *   test/scenarios/membership.test.ts and snapshots.test.ts).
 */
import { matching, TestCluster } from '../../src/testing';
import { campaign, cluster, elect, heartbeat, MIN_TIMEOUT, proposeLater, roles, seeded, taken, terms } from './script';

const PRE_VOTE = { preVote: true };

/** A cluster whose nodes in `down` are cut off from everyone. */
async function withDown(size: number, down: string[], options = {}): Promise<TestCluster> {
  const c = await cluster(size, options);
  for (const id of down) c.hub.isolate(id);
  return c;
}

describe('§5.2 elections', () => {
  // [cluster size, nodes down, n1's role and term after campaigning]
  const elections: [number, string[], string, number, string, number][] = [
    [3, [], 'leader', 1, 'leader', 1],
    [3, ['n3'], 'leader', 1, 'leader', 1],
    [3, ['n2', 'n3'], 'candidate', 1, 'precandidate', 0],
    [4, ['n2', 'n3'], 'candidate', 1, 'precandidate', 0],
    [5, ['n2', 'n3'], 'leader', 1, 'leader', 1],
  ];
  test.each(elections)('§5.2: a candidate in a cluster of %i with %j down ends as %s of term %i (etcd TestLeaderElection)', async (size, down, role, term) => {
    const c = await withDown(size, down);
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role, term });
    await c.stop();
  });

  test.each(elections)('§9.6: with PreVote, in a cluster of %i with %j down, an election that cannot win leaves the term alone (etcd TestLeaderElectionPreVote)', async (size, down, _r, _t, role, term) => {
    const c = await withDown(size, down, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT); // past the start-up window in which pre-votes are refused
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role, term });
    await c.stop();
  });

  test('§5.4.1: voters whose logs are further along in the same term refuse; the candidate wins nothing (etcd TestLeaderElection, last row)', async () => {
    const c = await seeded({ n1: {}, n2: { term: 1, log: [1] }, n3: { term: 1, log: [1] }, n4: { term: 1, log: [1, 1] }, n5: {} });
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role: 'candidate', term: 1 });
    await c.stop();
  });

  test('§9.6: with PreVote, a refusal from voters further along in a newer term teaches the pre-candidate that term (etcd TestLeaderElectionPreVote, last row)', async () => {
    const c = await seeded({ n1: {}, n2: { term: 1, log: [1] }, n3: { term: 1, log: [1] }, n4: { term: 1, log: [1, 1] }, n5: {} }, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 1 });
    await c.stop();
  });

  test('§5.2: every node can campaign and be elected in turn, not only from a clean start (etcd TestLeaderCycle)', async () => {
    const c = await cluster(3);
    for (const id of c.ids) {
      await campaign(c, id);
      expect(roles(c)).toEqual(Object.fromEntries(c.ids.map((x) => [x, x === id ? 'leader' : 'follower'])));
    }
    await c.stop();
  });

  test('§9.6: with PreVote every node can be elected in turn, once its leader has been silent for the minimum election timeout (etcd TestLeaderCyclePreVote)', async () => {
    // rxraft's PreVote always honours a live leader (voters refuse while they hear from it),
    // so each round first silences the current leader.
    const c = await cluster(3, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    let leader: string | null = null;
    for (const id of c.ids) {
      if (leader) c.hub.isolate(leader);
      await c.clock.advance(MIN_TIMEOUT);
      await campaign(c, id);
      c.hub.heal();
      await c.clock.advance(20);
      expect(roles(c)).toEqual(Object.fromEntries(c.ids.map((x) => [x, x === id ? 'leader' : 'follower'])));
      leader = id;
    }
    await c.stop();
  });

  // Node 1 led term 1 and replicated an entry to node 2 only; node 3 won term 2 (votes of
  // 4 and 5) and wrote an entry nobody else got. Node 1 can still win term 3, and its
  // older entry then replaces node 3's newer one.
  const history = {
    n1: { term: 1, log: [1] },
    n2: { term: 1, log: [1] },
    n3: { term: 2, log: [2] },
    n4: { term: 2, votedFor: 'n3' },
    n5: { term: 2, votedFor: 'n3' },
  };
  test('§5.4.1: a newly elected leader may lack the highest-term entries; its own log overwrites them (etcd TestLeaderElectionOverwriteNewerLogs)', async () => {
    const c = await seeded(history);
    await campaign(c, 'n1'); // term 2: a majority already voted in term 2
    expect(c.replication('n1')).toMatchObject({ role: 'candidate', term: 2 });
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 3 });
    await c.clock.advance(20);
    for (const id of c.ids) expect(c.logTerms(id)).toEqual([1, 3]);
    await c.stop();
  });

  test('§9.6: the same with PreVote: the first pre-vote is refused with term 2, the second wins term 3 (etcd TestLeaderElectionOverwriteNewerLogsPreVote)', async () => {
    const c = await seeded(history, PRE_VOTE);
    await c.clock.advance(MIN_TIMEOUT);
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 2 });
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 3 });
    await c.clock.advance(20);
    for (const id of c.ids) expect(c.logTerms(id)).toEqual([1, 3]);
    await c.stop();
  });

  test.each(['follower', 'candidate', 'leader'] as const)('§5.1, §5.2: a %s grants a RequestVote of a newer term from an up-to-date candidate, and follows that term (etcd TestVoteFromAnyState)', async (state) => {
    const c = await seeded({ n1: { term: 1 } }, {}, { scripted: ['n2', 'n3'] });
    if (state === 'follower') c.peer('n3').send('n1', heartbeat(1, 'n3'));
    if (state !== 'follower') c.campaign('n1');
    await c.clock.advance(2);
    if (state === 'leader') c.peer('n3').send('n1', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
    await c.clock.advance(5);
    expect(c.replication('n1').role).toBe(state);
    const term = c.replication('n1').term + 1;
    taken(c.peer('n2'), 'RequestVote');
    c.peer('n2').send('n1', { type: 'RequestVote', term, candidateId: 'n2', lastLogIndex: 42, lastLogTerm: term, leadershipTransfer: false });
    await c.clock.advance(5);
    expect(taken(c.peer('n2'), 'RequestVoteResponse').map((e) => e.message)).toEqual([{ type: 'RequestVoteResponse', term, voteGranted: true }]);
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term, votedFor: 'n2' });
    await c.stop();
  });

  // [voter's last entry index (log [2, 2] up to it), candidate's lastLogIndex, lastLogTerm, vote already cast, refused]
  const receives: [number, number, string | null, boolean][] = [
    [0, 0, null, true],
    [0, 1, null, true],
    [0, 2, null, true],
    [0, 3, null, false],
    [1, 0, null, true],
    [1, 1, null, true],
    [1, 2, null, true],
    [1, 3, null, false],
    [2, 0, null, true],
    [2, 1, null, true],
    [2, 2, null, false],
    [2, 3, null, false],
    [3, 0, null, true],
    [3, 1, null, true],
    [3, 2, null, false],
    [3, 3, null, false],
    [3, 2, 'n2', false],
    [3, 2, 'n1', true],
  ];
  test.each(receives)('§5.2, §5.4.1: a voter with log [2, 2] asked by a candidate whose last entry is at %i with term %i (voted: %s) refuses: %s (etcd TestRecvMsgVote)', async (index, logTerm, votedFor, refused) => {
    const term = Math.max(2, logTerm);
    const c = await seeded({ n1: { term, votedFor, log: [2, 2] } }, {}, { scripted: ['n2'] });
    c.peer('n2').send('n1', { type: 'RequestVote', term, candidateId: 'n2', lastLogIndex: index, lastLogTerm: logTerm, leadershipTransfer: false });
    await c.clock.advance(5);
    expect(taken(c.peer('n2'), 'RequestVoteResponse').map((e) => e.message.voteGranted)).toEqual([!refused]);
    await c.stop();
  });

  test('§5.2: candidates whose requests cross: one wins, the other with a shorter log later disrupts it but cannot win (etcd TestDuelingCandidates)', async () => {
    const c = await cluster(3);
    c.hub.partition(['n1'], ['n3']);
    c.campaign('n1');
    c.campaign('n3');
    await c.clock.advance(20);
    expect(roles(c)).toEqual({ n1: 'leader', n2: 'follower', n3: 'candidate' }); // n2 voted for n1 first
    c.hub.heal();
    await campaign(c, 'n3'); // term 2 deposes n1, but n3's log lacks n1's entry: refused
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 2, lastIndex: 1 });
    expect(c.replication('n2')).toMatchObject({ role: 'follower', term: 2, lastIndex: 1 });
    expect(c.replication('n3')).toMatchObject({ role: 'candidate', term: 2, lastIndex: 0 });
    await c.stop();
  });

  test('§5.2: an isolated candidate concedes to the leader of its term once it hears from it, and takes its log (etcd TestCandidateConcede)', async () => {
    const c = await cluster(3);
    c.hub.isolate('n1');
    c.campaign('n1');
    await campaign(c, 'n3');
    expect(c.replication('n3')).toMatchObject({ role: 'leader', term: 1 });
    c.hub.heal();
    proposeLater(c, 'n3', 'force follower');
    await c.clock.advance(30);
    expect(c.replication('n1')).toMatchObject({ role: 'follower', term: 1, leaderId: 'n3' });
    for (const id of c.ids) expect(c.logTerms(id)).toEqual([1, 1]);
    expect(c.committedData('n1')).toEqual(['force follower']);
    await c.stop();
  });

  test.each([false, true])('§5.2: a single node elects itself (preVote %s; etcd TestSingleNodeCandidate, TestSingleNodePreCandidate)', async (preVote) => {
    const c = await cluster(1, { preVote });
    await campaign(c, 'n1');
    expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 1 });
    await c.stop();
  });

  test('§5.2: a leader ignores a campaign: it neither raises its term nor asks for votes (etcd TestCampaignWhileLeader, TestPreCampaignWhileLeader)', async () => {
    for (const preVote of [false, true]) {
      const c = await cluster(1, { preVote });
      await campaign(c, 'n1');
      await campaign(c, 'n1');
      expect(c.replication('n1')).toMatchObject({ role: 'leader', term: 1 });
      await c.stop();
    }
  });

  test('§5.2: a leader receiving an older term\'s AppendEntries ignores it; every log stays the current leader\'s (etcd TestOldMessages)', async () => {
    const c = await cluster(3);
    await elect(c, 'n1');
    await elect(c, 'n2');
    await elect(c, 'n1'); // term 3
    c.hub.inject('n2', 'n1', { ...heartbeat(2, 'n2'), prevLogIndex: 2, prevLogTerm: 2, entries: [{ index: 3, term: 2, kind: 0, data: new Uint8Array([9]) }] });
    proposeLater(c, 'n1', 'somedata');
    await c.clock.advance(30);
    for (const id of c.ids) expect(c.logTerms(id)).toEqual([1, 2, 3, 3]);
    expect(c.committedData('n3')).toEqual(['somedata']);
    await c.stop();
  });

  test('§5.2: a node that learns of a newer term from a RequestVote or AppendEntries steps down whatever its role (etcd TestAllServerStepdown)', async () => {
    for (const state of ['follower', 'precandidate', 'candidate', 'leader'] as const) {
      for (const type of ['RequestVote', 'AppendEntries'] as const) {
        const c = await seeded({ n1: {} }, { preVote: state === 'precandidate' }, { scripted: ['n2', 'n3'] });
        await c.clock.advance(MIN_TIMEOUT);
        if (state !== 'follower') c.campaign('n1');
        await c.clock.advance(2);
        if (state === 'leader') c.peer('n3').send('n1', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
        await c.clock.advance(5);
        expect(c.replication('n1').role).toBe(state);
        c.peer('n2').send(
          'n1',
          type === 'RequestVote' ? { type, term: 3, candidateId: 'n2', lastLogIndex: 0, lastLogTerm: 3, leadershipTransfer: false } : heartbeat(3, 'n2'),
        );
        await c.clock.advance(5);
        expect(c.replication('n1')).toMatchObject({
          role: 'follower',
          term: 3,
          leaderId: type === 'AppendEntries' ? 'n2' : null,
          lastIndex: state === 'leader' ? 1 : 0,
        });
        await c.stop();
      }
    }
  });

  test('§5.1: an isolated candidate of an older term that hears the current leader\'s AppendEntries follows it and takes its term (etcd TestCandidateResetTermMsgApp, TestCandidateResetTermMsgHeartbeat)', async () => {
    const c = await cluster(3);
    await elect(c, 'n1');
    c.hub.isolate('n3');
    await elect(c, 'n2');
    await elect(c, 'n1');
    expect(terms(c, ['n1', 'n2'])).toEqual({ n1: 3, n2: 3 });
    await campaign(c, 'n3');
    expect(c.replication('n3')).toMatchObject({ role: 'candidate', term: 2 });
    c.hub.heal();
    await c.clock.advance(20);
    expect(c.replication('n3')).toMatchObject({ role: 'follower', term: 3, leaderId: 'n1' });
    await c.stop();
  });
});

describe('§5.3 replication through leader changes', () => {
  test('§5.3: entries committed by one leader and then another reach every node, in order (etcd TestLogReplication)', async () => {
    const c = await cluster(3);
    await elect(c, 'n1');
    proposeLater(c, 'n1', 'a');
    await c.clock.advance(20);
    for (const id of c.ids) expect(c.replication(id).commitIndex).toBe(2);
    await elect(c, 'n2');
    proposeLater(c, 'n2', 'b');
    await c.clock.advance(30);
    for (const id of c.ids) {
      expect(c.replication(id).commitIndex).toBe(4);
      expect(c.committedData(id)).toEqual(['a', 'b']);
    }
    await c.stop();
  });

  test('§5.3: a single node commits its own entries (etcd TestSingleNodeCommit)', async () => {
    const c = await cluster(1);
    await campaign(c, 'n1');
    proposeLater(c, 'n1', 'a');
    proposeLater(c, 'n1', 'b');
    await c.clock.advance(10);
    expect(c.replication('n1').commitIndex).toBe(3);
    await c.stop();
  });

  /** n1 leads five nodes, then appends two entries only n2 stores. */
  async function twoUncommitted(): Promise<TestCluster> {
    const c = await cluster(5);
    await elect(c, 'n1');
    c.hub.partition(['n1'], ['n3', 'n4', 'n5']);
    proposeLater(c, 'n1', 'a');
    proposeLater(c, 'n1', 'b');
    await c.clock.advance(20);
    expect(c.replication('n1')).toMatchObject({ lastIndex: 3, commitIndex: 1 });
    c.hub.heal();
    return c;
  }

  test('§5.4.2: a new leader does not commit an earlier term\'s entries until an entry of its own term is stored on a majority (etcd TestCannotCommitWithoutNewTermEntry)', async () => {
    const c = await twoUncommitted();
    const appends = c.hub.intercept(matching({ type: 'AppendEntries' }), 'drop');
    await campaign(c, 'n2');
    expect(c.replication('n2')).toMatchObject({ role: 'leader', term: 2, commitIndex: 1 });
    appends.remove();
    proposeLater(c, 'n2', 'c');
    await c.clock.advance(30);
    expect(c.replication('n2').commitIndex).toBe(5); // a, b, the no-op of term 2, c
    await c.stop();
  });

  test('§5.4.2: a new leader\'s no-op commits the entries of earlier terms with it (etcd TestCommitWithoutNewTermEntry)', async () => {
    const c = await twoUncommitted();
    await campaign(c, 'n2', 40);
    expect(c.replication('n1').commitIndex).toBe(4);
    await c.stop();
  });

  const proposals: [number, string[], boolean][] = [
    [3, [], true],
    [3, ['n3'], true],
    [3, ['n2', 'n3'], false],
    [4, ['n2', 'n3'], false],
    [5, ['n2', 'n3'], true],
  ];
  test.each(proposals)('§5.3: in a cluster of %i with %j down, a proposal commits only with a majority up: %s (etcd TestProposal)', async (size, down, commits) => {
    const c = await withDown(size, down);
    await campaign(c, 'n1');
    const p = proposeLater(c, 'n1', 'somedata');
    await c.clock.advance(30);
    expect(p.outcome === 'committed').toBe(commits);
    expect(c.logTerms('n1')).toEqual(commits ? [1, 1] : []);
    await c.stop();
  });

  test.each([[[]], [['n3']]])('§6.2 (dissertation): a proposal made at a follower is forwarded to the leader and committed (%j down; etcd TestProposalByProxy)', async (down: string[]) => {
    const c = await cluster(3);
    await elect(c, 'n1');
    for (const id of down) c.hub.isolate(id);
    const p = proposeLater(c, 'n2', 'somedata');
    await c.clock.advance(30);
    expect(p.outcome).toBe('committed');
    expect(c.replication('n1').commitIndex).toBe(2);
    expect(c.committedData('n2')).toEqual(['somedata']);
    await c.stop();
  });
});
