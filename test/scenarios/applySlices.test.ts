/**
 * Issue 17: no load may depose a healthy leader. A follower whose commit index jumps by
 * thousands of entries at once (its fsync finished late, or the leader's commit notice
 * came after a stall) used to apply them all in one turn, and its event loop answered
 * nothing meanwhile; under load both followers did so together, and CheckQuorum deposed
 * the leader. The applier now applies at most `APPLY_SLICE` between two turns of the
 * node's `turnScheduler`, so a heartbeat that arrived meanwhile is answered in between.
 */
import type { AppendEntries, AppendEntriesResponse, NodeId, RaftMessage } from '../../src/messages/types';
import { EntryKind } from '../../src/messages/entry';
import type { Transport } from '../../src/transports/transport';
import { APPLY_SLICE } from '../../src/streams/applier';
import { seeded } from '../paper/script';

/** n2's transport, noting how many entries n2 had applied when it answered each AppendEntries (by `seq`). */
function answersNoted(transport: Transport, applied: () => number, noted: Map<number, number>): Transport {
  return Object.assign(Object.create(transport) as Transport, {
    send(to: NodeId, message: RaftMessage) {
      if (message.type === 'AppendEntriesResponse') noted.set((message as AppendEntriesResponse).seq, applied());
      transport.send(to, message);
    },
  });
}

test('a follower given a long backlog to apply at once applies it in slices of APPLY_SLICE and answers a heartbeat in between', async () => {
  const count = 3 * APPLY_SLICE.entries + 10;
  const applied: number[] = [];
  const noted = new Map<number, number>();
  let heartbeat = () => undefined as void;
  const c = await seeded(
    { n2: { term: 1 } },
    {},
    {
      scripted: ['n1'],
      faults: { delay: { min: 0, max: 0 } }, // a message sent now is due now, behind what is already due
      nodeOptionsFor: () => ({
        stateMachine: {
          apply: (e) => {
            applied.push(e.index);
            if (e.index === 1) heartbeat(); // the leader's next heartbeat arrives as n2 starts on the backlog
          },
        },
      }),
      transport: (id, t) => (id === 'n2' ? answersNoted(t, () => applied.length, noted) : t),
    },
  );
  const leader = c.peer('n1');
  const entries = Array.from({ length: count }, (_, i) => ({ index: i + 1, term: 1, kind: EntryKind.Command, data: new Uint8Array([i & 0xff]) }));
  const append: AppendEntries = { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: count, seq: 1 };
  heartbeat = () => leader.send('n2', { ...append, prevLogIndex: count, prevLogTerm: 1, entries: [], seq: 2 });
  leader.send('n2', append); // committed already: n2 applies all of it once it is durable
  await c.clock.advance(10);

  expect(applied).toEqual(entries.map((e) => e.index)); // all of them, in order
  expect(noted.get(1)).toBeDefined();
  expect(noted.get(2)).toBe(APPLY_SLICE.entries); // the heartbeat was answered after one slice, not after the whole backlog
  await c.stop();
});
