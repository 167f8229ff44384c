/**
 * The simulator's message-level faults: individual messages held back, faults set off by
 * what a node sends, one-way cuts chosen around the leader.
 */
import { Subject } from 'rxjs';
import type { Envelope, NodeId, RaftMessage } from '../../src/messages/types';
import { seededRandom } from '../../src/random';
import { leaderLinkCut } from '../../src/testing/faultsLinks';
import { LateMessages } from '../../src/testing/faultsMessages';
import { SendTriggers } from '../../src/testing/faultsTriggers';
import type { Transport } from '../../src/transports/transport';
import { SimulatorClock } from '../../src/testing';

const grant: RaftMessage = { type: 'PreVoteResponse', term: 2, voteGranted: true };
const ack: RaftMessage = { type: 'AppendEntriesResponse', term: 2, success: true, matchIndex: 3, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 1 } as unknown as RaftMessage;

/** A transport whose inbound messages the test pushes, recording what the node sends. */
function fakeTransport(): { transport: Transport; inbound: Subject<Envelope>; sent: [NodeId, RaftMessage][] } {
  const inbound = new Subject<Envelope>();
  const sent: [NodeId, RaftMessage][] = [];
  const transport: Transport = {
    inbound$: inbound.asObservable(),
    errors$: new Subject<Error>().asObservable(),
    send: (to, m) => void sent.push([to, m]),
    close: async () => undefined,
  };
  return { transport, inbound, sent };
}

describe('LateMessages', () => {
  test('holds back only the matching kinds, by the rule\'s delay, on the node\'s scheduler', async () => {
    const clock = new SimulatorClock();
    const late = new LateMessages(seededRandom(1));
    const { transport, inbound } = fakeTransport();
    const got: [number, string][] = [];
    late.wrap('n1', transport, clock.scheduler).inbound$.subscribe((e) => got.push([clock.now(), e.message.type]));
    late.set({ kinds: ['PreVoteResponse'], probability: 1, delay: { min: 10, max: 10 } });
    inbound.next({ from: 'n2', to: 'n1', message: grant });
    inbound.next({ from: 'n2', to: 'n1', message: ack });
    expect(got).toEqual([[0, 'AppendEntriesResponse']]); // the grant was overtaken
    await clock.advance(9);
    expect(got).toHaveLength(1);
    await clock.advance(1);
    expect(got).toEqual([[0, 'AppendEntriesResponse'], [10, 'PreVoteResponse']]);
    expect(late.held).toBe(1);
  });

  test('a rule scoped to one receiver or one sender leaves the others alone; no rule, no delay', async () => {
    const clock = new SimulatorClock();
    const late = new LateMessages(seededRandom(2));
    const a = fakeTransport();
    const got: string[] = [];
    late.wrap('n1', a.transport, clock.scheduler).inbound$.subscribe((e) => got.push(`${e.from}:${clock.now()}`));
    late.set({ kinds: ['PreVoteResponse'], to: 'n9', probability: 1, delay: { min: 5, max: 5 } });
    a.inbound.next({ from: 'n2', to: 'n1', message: grant });
    late.set({ kinds: ['PreVoteResponse'], from: 'n3', probability: 1, delay: { min: 5, max: 5 } });
    a.inbound.next({ from: 'n2', to: 'n1', message: grant });
    a.inbound.next({ from: 'n3', to: 'n1', message: grant });
    late.set(null);
    a.inbound.next({ from: 'n3', to: 'n1', message: grant });
    await clock.advance(5);
    expect(got).toEqual(['n2:0', 'n2:0', 'n3:0', 'n3:5']);
  });

  test('holdNext holds exactly one message of that kind from that sender', async () => {
    const clock = new SimulatorClock();
    const late = new LateMessages(seededRandom(3));
    const { transport, inbound } = fakeTransport();
    const got: number[] = [];
    late.wrap('n1', transport, clock.scheduler).inbound$.subscribe(() => got.push(clock.now()));
    late.holdNext('n2', 'PreVoteResponse', 7);
    inbound.next({ from: 'n3', to: 'n1', message: grant });
    inbound.next({ from: 'n2', to: 'n1', message: grant });
    inbound.next({ from: 'n2', to: 'n1', message: grant });
    await clock.advance(7);
    expect(got).toEqual([0, 0, 7]);
  });

  test('unsubscribing (the node stopped) cancels what was held; bad rules are refused', async () => {
    const clock = new SimulatorClock();
    const late = new LateMessages(seededRandom(4));
    const { transport, inbound } = fakeTransport();
    const got: number[] = [];
    const sub = late.wrap('n1', transport, clock.scheduler).inbound$.subscribe(() => got.push(clock.now()));
    late.set({ kinds: ['PreVoteResponse'], probability: 1, delay: { min: 5, max: 5 } });
    inbound.next({ from: 'n2', to: 'n1', message: grant });
    sub.unsubscribe();
    await clock.advance(10);
    expect(got).toEqual([]);
    expect(() => late.set({ kinds: ['PreVote'], probability: 2, delay: { min: 1, max: 2 } })).toThrow(RangeError);
    expect(() => late.set({ kinds: ['PreVote'], probability: 1, delay: { min: 3, max: 2 } })).toThrow(RangeError);
  });
});

describe('SendTriggers', () => {
  test('fires once, after the matching message left, never inside send; can be cancelled', async () => {
    const clock = new SimulatorClock();
    const triggers = new SendTriggers();
    const { transport, sent } = fakeTransport();
    const wrapped = triggers.wrap('n1', transport, clock.scheduler);
    const fired: number[] = [];
    triggers.once('n1', 'PreVoteResponse', () => fired.push(sent.length), (m) => m.type === 'PreVoteResponse' && m.voteGranted);
    const cancelled = triggers.once('n1', 'AppendEntriesResponse', () => fired.push(-1));
    cancelled.unsubscribe();
    wrapped.send('n2', { type: 'PreVoteResponse', term: 1, voteGranted: false });
    wrapped.send('n2', ack);
    wrapped.send('n2', grant);
    expect(fired).toEqual([]); // not synchronously
    await clock.advance(0);
    wrapped.send('n2', grant);
    await clock.advance(0);
    expect(fired).toEqual([3]);
    expect(sent).toHaveLength(4);
  });
});

describe('leaderLinkCut', () => {
  test('every shape cuts links that touch the leader, one way, and names them', () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const labels = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const cut = leaderLinkCut(ids, 'n3', seededRandom(seed));
      expect(cut.links.length).toBeGreaterThan(0);
      for (const [from, to] of cut.links) {
        expect(from === 'n3' || to === 'n3').toBe(true);
        expect(from).not.toBe(to);
      }
      labels.add(cut.label.split(':')[0].replace(/n\d/g, 'X'));
    }
    expect([...labels].sort()).toEqual(['X -/-> leader X', 'deaf leader X', 'leader X -/-> X', 'mute leader X']);
    expect(leaderLinkCut(['n1'], 'n1', seededRandom(1)).links).toEqual([]);
  });
});
