/**
 * A node whose storage lost writes it may have acknowledged (RaftState.repair) neither
 * votes nor campaigns until the cluster has repaired it (issue 18): its vote could elect
 * a leader that lacks a committed entry only its lost acknowledgement made committed.
 */
import { step } from '../../src/core/step';
import { makeState, msg, sent, types } from './helpers';

function damaged() {
  const s = makeState({ term: 2, log: [1, 2], options: { preVote: true } });
  s.startedAt = -1000;
  s.repair = { reason: 'log cut from index 3' };
  return s;
}

test('it refuses RequestVote, whatever the candidate\'s log, yet follows the newer term', () => {
  const s = damaged();
  const fx = msg(s, 'n2', { type: 'RequestVote', term: 3, candidateId: 'n2', lastLogIndex: 9, lastLogTerm: 2, leadershipTransfer: false });
  expect(sent(fx)[0].message).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: false });
  expect(s.term).toBe(3);
  expect(s.votedFor).toBeNull();
});

test('it refuses pre-votes', () => {
  const s = damaged();
  const fx = msg(s, 'n2', { type: 'PreVote', term: 3, candidateId: 'n2', lastLogIndex: 9, lastLogTerm: 2 });
  expect(sent(fx)[0].message).toMatchObject({ type: 'PreVoteResponse', voteGranted: false });
});

test('its election timer does not make it campaign, and TimeoutNow is ignored', () => {
  const s = damaged();
  expect(step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list).toEqual([]);
  expect(msg(s, 'n2', { type: 'TimeoutNow', term: 2 })).toEqual([]);
  expect(s.role.name).toBe('follower');
});

test('once repaired it votes and campaigns as any voter', () => {
  const s = damaged();
  step(s, { kind: 'repaired' });
  expect(s.repair).toBeNull();
  expect(types(step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true }).list)).toEqual(['send PreVote to n2', 'send PreVote to n3']);
});
