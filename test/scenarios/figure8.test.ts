/**
 * Raft paper, Figure 8: a leader may not conclude that an entry of an earlier term is
 * committed once it is stored on a majority — a later leader can still overwrite it. Only
 * entries of the leader's current term are committed by counting replicas (§5.4.2).
 */
import { filter, firstValueFrom } from 'rxjs';
import { step } from '../../src/core/step';
import { makeState } from '../core/helpers';
import { seededCluster } from './seededCluster';

test('Figure 8 (rule): replicas of an older-term entry on a majority do not commit it', () => {
  const s = makeState({ voters: ['s1', 's2', 's3', 's4', 's5'], id: 's1', term: 3, log: [1, 2] });
  step(s, { kind: 'electionTimeout', epoch: s.epoch }); // term 4
  step(s, { kind: 'voteSaved', term: 4, votedFor: 's1' });
  for (const v of ['s2', 's3']) step(s, { kind: 'message', from: v, message: { type: 'RequestVoteResponse', term: 4, voteGranted: true } });
  expect(s.role.name).toBe('leader'); // log is now [1, 2, 4(no-op)]
  step(s, { kind: 'persisted', index: 3, term: 4 });
  const ack = (from: string, matchIndex: number) =>
    step(s, { kind: 'message', from, message: { type: 'AppendEntriesResponse', term: 4, success: true, matchIndex, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 0 } });
  ack('s2', 2);
  ack('s3', 2);
  expect(s.commitIndex).toBe(0); // index 2 (term 2) is on s1, s2, s3 — still not committed
  ack('s2', 3);
  ack('s3', 3);
  expect(s.commitIndex).toBe(3); // the term-4 entry commits, and index 2 with it
});

test('Figure 8 (cluster): an entry of term 2 stored on a majority is overwritten by a later leader, and nobody ever applied it', async () => {
  const slow = { min: 5_000, max: 6_000 };
  const cluster = await seededCluster([
    { id: 's1', log: [1, 2], term: 3, electionTimeout: { min: 10, max: 10 } },
    { id: 's2', log: [1, 2], term: 3, electionTimeout: slow },
    { id: 's3', log: [1, 2], term: 3, electionTimeout: slow },
    { id: 's4', log: [1], term: 3, electionTimeout: slow },
    { id: 's5', log: [1, 3], term: 3, electionTimeout: { min: 60, max: 60 } },
  ]);
  // s1 wins term 4, then is cut off before its first AppendEntries arrives anywhere.
  cluster.nodes.get('s1')!.role$.subscribe((role) => {
    if (role === 'leader') cluster.hub.isolate('s1');
  });
  const s5 = cluster.nodes.get('s5')!;
  const s5Leads = firstValueFrom(s5.leader$.pipe(filter((l) => l?.self === true)));
  await cluster.clock.advance(300);
  expect((await s5Leads)!.term).toBe(5);
  cluster.hub.heal();
  await cluster.clock.advance(500);

  for (const id of ['s1', 's2', 's3', 's4', 's5']) {
    expect(cluster.terms(id)).toEqual([1, 3, 5]); // s5's entry of term 3 replaced s1's entry of term 2
    expect(cluster.committed.get(id)!.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 3]]);
  }
  await cluster.stop();
});
