import { Subscription, VirtualTimeScheduler } from 'rxjs';
import type { RaftEvent } from '../../src/core/events';
import type { RaftState } from '../../src/core/state';
import { DurableCompletions } from '../../src/streams/durableWrites';

/** The fields of a node's state the hold looks at. */
type Shape = { role: string; quiet: boolean; commitIndex: number; durableIndex: number };
const stateOf = (x: Shape) => ({ role: { name: x.role }, quiet: x.quiet, commitIndex: x.commitIndex, durableIndex: x.durableIndex }) as unknown as RaftState;
const persisted = (index: number): RaftEvent => ({ kind: 'persisted', index, term: 1 });

function setup(shape: Shape) {
  const scheduler = new VirtualTimeScheduler();
  const owner = new Subscription();
  const released: RaftEvent[] = [];
  let state: RaftState | null = stateOf(shape);
  const completions = new DurableCompletions({ later: (work) => scheduler.schedule(work, 50), owner, state: () => state, release: (e) => released.push(e) });
  return { scheduler, owner, released, completions, stop: () => (state = null) };
}

const follower: Shape = { role: 'follower', quiet: false, commitIndex: 5, durableIndex: 5 };

describe('DurableCompletions: a follower’s completion waits for its next turn when stepping it now changes nothing', () => {
  it('holds a follower’s persisted and hands it to the next turn, in order, once', () => {
    const h = setup(follower);
    expect(h.completions.reported(persisted(6))).toBe(true);
    expect(h.completions.reported(persisted(7))).toBe(true);
    expect(h.completions.take()).toEqual([persisted(6), persisted(7)]);
    expect(h.completions.take()).toEqual([]);
  });

  it('steps it now when it may matter: a leader (its own write counts toward commit), a candidate, a quiet follower, or one whose apply waits for this write', () => {
    for (const shape of [{ ...follower, role: 'leader' }, { ...follower, role: 'candidate' }, { ...follower, quiet: true }, { ...follower, commitIndex: 6 }]) {
      expect(setup(shape).completions.reported(persisted(6))).toBe(false);
    }
  });

  it('never holds a hard state’s completion (a candidate counts its own vote with it), nor once the node stopped', () => {
    const h = setup(follower);
    expect(h.completions.reported({ kind: 'hardStateSaved', term: 2, votedFor: 'n1' })).toBe(false);
    h.stop();
    expect(h.completions.reported(persisted(6))).toBe(false);
  });

  it('feeds what no turn took within the wait to the loop, with one timer for all', () => {
    const h = setup(follower);
    h.completions.reported(persisted(6));
    h.completions.reported(persisted(7));
    h.scheduler.flush();
    expect(h.released).toEqual([persisted(6), persisted(7)]);
    expect(h.completions.take()).toEqual([]);
  });

  it('ends its timer with the node’s subscriptions', () => {
    const h = setup(follower);
    h.completions.reported(persisted(6));
    h.owner.unsubscribe();
    h.scheduler.flush();
    expect(h.released).toEqual([]);
  });
});
