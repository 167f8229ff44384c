/**
 * When election timers run and when vote requests leave (§5.2): the details that decide
 * how fast a cluster replaces a crashed leader (the paper's Figure 16).
 */
import { createRaftNode } from '../../src/node';
import type { RaftMessage } from '../../src/messages/types';
import { seededRandom } from '../../src/random';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { MemoryHub } from '../../src/transports/memoryHub';
import { VirtualClock } from '../../src/testing/virtualClock';
import { logOf } from '../core/helpers';

/** Node n1 (log terms [1, 1], a fixed 100 ms election timeout) and two scripted peers. */
async function scriptedPeers(syncDelay = 1, preVote = false) {
  const clock = new VirtualClock();
  const hub = new MemoryHub({ scheduler: clock.scheduler, random: seededRandom(1) });
  const storage = new MemoryStorage({ scheduler: clock.scheduler, syncDelay });
  void storage.saveHardState({ term: 1, votedFor: null });
  void storage.append(logOf([1, 1]));
  await clock.advance(syncDelay);
  const peers = { n2: hub.connect('n2'), n3: hub.connect('n3') };
  const received: { at: number; message: RaftMessage }[] = [];
  peers.n2.inbound$.subscribe(({ message }) => received.push({ at: clock.now(), message }));
  const node = createRaftNode({
    id: 'n1', peers: ['n1', 'n2', 'n3'], transport: hub.connect('n1'), storage,
    scheduler: clock.scheduler, turnScheduler: clock.scheduler, random: seededRandom(2),
    electionTimeout: { min: 100, max: 100 }, heartbeatInterval: 50, preVote, checkQuorum: false,
  });
  const start = clock.now();
  const requests = (type: RaftMessage['type']) => received.filter((r) => r.message.type === type).map((r) => ({ at: r.at - start, term: r.message.term }));
  const voteRequests = () => requests('RequestVote');
  return { clock, hub, node, peers, start, voteRequests, requests };
}

test('a candidate that steps down for a newer term it does not vote in keeps its election timer', async () => {
  const t = await scriptedPeers();
  await t.clock.advance(110);
  expect(t.voteRequests()).toEqual([{ at: 101, term: 2 }]); // timed out at 100, asked at once
  // n2, with a shorter log, campaigns in term 3 at 140: n1 refuses and steps down.
  await t.clock.advance(t.start + 140 - t.clock.now());
  t.peers.n2.send('n1', { type: 'RequestVote', term: 3, candidateId: 'n2', lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: false });
  await t.clock.advance(t.start + 260 - t.clock.now());
  // n1 campaigns again when its candidate timer (started at 100) runs out at 200, not at
  // 240 (100 ms after stepping down): losers cannot postpone those who could win.
  expect(t.voteRequests()).toEqual([{ at: 101, term: 2 }, { at: 201, term: 4 }]);
  await t.node.stop();
});

test('a candidate that grants its vote to a newer candidate restarts its election timer', async () => {
  const t = await scriptedPeers();
  await t.clock.advance(t.start + 140 - t.clock.now());
  t.peers.n2.send('n1', { type: 'RequestVote', term: 3, candidateId: 'n2', lastLogIndex: 2, lastLogTerm: 1, leadershipTransfer: false });
  await t.clock.advance(t.start + 300 - t.clock.now());
  expect(t.voteRequests()).toEqual([{ at: 101, term: 2 }, { at: 242, term: 4 }]); // granted at 141, +100
  await t.node.stop();
});

test('a pre-candidate that steps down for a newer term restarts its timer: that election is under way', async () => {
  const t = await scriptedPeers(1, true);
  await t.clock.advance(110);
  expect(t.requests('PreVote')).toEqual([{ at: 101, term: 2 }]); // pre-candidate from 100
  // n2 passed its pre-vote and asks for real votes in term 2; n1 refuses (shorter log).
  await t.clock.advance(t.start + 140 - t.clock.now());
  t.peers.n2.send('n1', { type: 'RequestVote', term: 2, candidateId: 'n2', lastLogIndex: 1, lastLogTerm: 1, leadershipTransfer: false });
  await t.clock.advance(t.start + 300 - t.clock.now());
  // Not at 200 (its pre-candidate timer) but a full timeout after stepping down at 141
  // (arriving 1 ms later), so the election under way is not disturbed by a pre-vote that a
  // follower that has not yet heard from the new leader might still grant.
  expect(t.requests('PreVote')).toEqual([{ at: 101, term: 2 }, { at: 242, term: 3 }]);
  await t.node.stop();
});

test('vote requests leave before the candidate\'s own vote is durable, but it wins only once it is', async () => {
  const t = await scriptedPeers(30); // a 30 ms fsync
  const leaderAt: number[] = [];
  let role = '';
  t.node.role$.subscribe((r) => (role = r));
  t.node.leader$.subscribe((l) => l?.self && leaderAt.push(t.clock.now() - t.start));
  await t.clock.advance(t.start + 102 - t.clock.now());
  expect(t.voteRequests()).toEqual([{ at: 101, term: 2 }]); // not 30 ms later
  t.peers.n2.send('n1', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
  await t.clock.advance(20);
  expect(role).toBe('candidate'); // n2's vote is in; its own is not durable yet
  await t.clock.advance(20);
  expect(leaderAt).toEqual([130]); // elected when its vote (written from 100) became durable
  await t.node.stop();
});
