/**
 * Answers reach a node's rules only through the role pipeline that asked for them
 * (issue 16): a follower's AppendEntries answers through the leader's pipeline for that
 * follower, a campaign's vote answers through that campaign's pipeline. An answer that
 * arrives when no such pipeline runs — from a follower removed from the configuration,
 * or to a campaign that is over — is dropped, never stepped. The answers here carry a
 * higher term, so stepping one would be visible: the node would move to that term (and
 * a leader would step down).
 */
import { TestCluster } from '../../src/testing';
import type { RaftMessage } from '../../src/messages/types';
import { outcome } from './outcome';

const appendAnswer = (term: number): RaftMessage => ({ type: 'AppendEntriesResponse', term, success: false, matchIndex: 0, rejectedIndex: 1, conflictIndex: 1, conflictTerm: 0, seq: 1 });

test('a removed follower\'s late answers are not stepped: the leader keeps its term and its leadership', async () => {
  const c = new TestCluster({ nodes: 4, seed: 1601 });
  const leader = await c.waitForLeader();
  const removed = ['n1', 'n2', 'n3', 'n4'].find((id) => id !== leader)!;
  await c.propose(leader, 'before');
  const change = await outcome(c, c.node(leader).removeMember(removed));
  expect(change.ok).toBe(true);
  await c.waitFor(() => !c.node(leader).followers()!.some((f) => f.id === removed)); // its pipeline is gone
  c.crash(removed);
  const { term } = c.replication(leader);
  c.hub.inject(removed, leader, appendAnswer(term + 5));
  c.hub.inject(removed, leader, { type: 'InstallSnapshotResponse', term: term + 5, lastIncludedIndex: 1, chunk: 0, success: false, installed: false });
  await c.clock.advance(20);
  expect(c.replication(leader)).toMatchObject({ role: 'leader', term });
  expect(c.committedData(leader)).toContain('before');
  await c.propose(leader, 'after'); // still leading, with the three members left
  await c.stop();
});

test('a past campaign\'s vote answers are not stepped, by its leader or by a follower', async () => {
  const c = new TestCluster({ nodes: 3, seed: 1602 });
  const leader = await c.waitForLeader();
  const [follower, other] = ['n1', 'n2', 'n3'].filter((id) => id !== leader);
  const { term } = c.replication(leader);
  // answers to the campaign that made `leader` lead, and to an earlier one of `follower`, arriving late
  c.hub.inject(other, leader, { type: 'RequestVoteResponse', term: term + 3, voteGranted: false });
  c.hub.inject(other, follower, { type: 'RequestVoteResponse', term: term + 3, voteGranted: false });
  c.hub.inject(other, follower, { type: 'PreVoteResponse', term: term + 4, voteGranted: false });
  await c.clock.advance(20);
  expect(c.replication(leader)).toMatchObject({ role: 'leader', term });
  expect(c.replication(follower)).toMatchObject({ role: 'follower', term, leaderId: leader });
  await c.propose(leader, 'still leading');
  await c.stop();
});
