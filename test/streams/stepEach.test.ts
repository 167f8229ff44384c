import { of } from 'rxjs';
import type { Effect } from '../../src/core/effects';
import type { RaftEvent } from '../../src/core/events';
import type { AppendEntries } from '../../src/messages/types';
import { stepEach } from '../../src/streams/stepEach';
import { makeState, sent } from '../core/helpers';

/** A heartbeat from leader n2 of term 2 whose log matches entries 1–2 (term 1). */
const heartbeat: RaftEvent = {
  kind: 'message',
  from: 'n2',
  message: { type: 'AppendEntries', term: 2, leaderId: 'n2', prevLogIndex: 2, prevLogTerm: 1, entries: [], leaderCommit: 0, seq: 0 } as unknown as AppendEntries,
};

function stepped(held: RaftEvent[]): readonly Effect[][] {
  const s = makeState({ term: 2, log: [1, 1] });
  s.durableIndex = 1; // entry 2's write is done, its completion not stepped yet
  const out: (readonly Effect[])[] = [];
  of(heartbeat).pipe(stepEach(s, () => 1000, { take: () => held.splice(0) })).subscribe((effects) => out.push(effects));
  return out as Effect[][];
}

describe('stepEach: completions held for the turn are stepped first', () => {
  it('steps a held persisted before the turn’s event: the heartbeat is answered with the durable log', () => {
    const [effects] = stepped([{ kind: 'persisted', index: 2, term: 1 }]);
    expect(sent(effects).map((m) => (m.message as { matchIndex?: number }).matchIndex)).toEqual([2]);
  });

  it('without it, the answer claims only what the engine knows durable', () => {
    const [effects] = stepped([]);
    expect(sent(effects).map((m) => (m.message as { matchIndex?: number }).matchIndex)).toEqual([1]);
  });
});
