import { Subscription, VirtualTimeScheduler } from 'rxjs';
import { EntryKind } from '../../src/messages/entry';
import { ProposalDeadlines } from '../../src/streams/proposalDeadlines';
import { PendingProposal, ProposalTracker } from '../../src/streams/proposals';

function proposal(outcomes: string[], name: string): PendingProposal {
  return { kind: EntryKind.Command, data: new Uint8Array(1), resolve: () => outcomes.push(`${name} ok`), reject: (e) => outcomes.push(`${name} ${e.name}`), term: 0 };
}

/** Advances virtual time to `at` ms. */
function runTo(scheduler: VirtualTimeScheduler, at: number): void {
  scheduler.schedule(() => undefined, at - scheduler.now()); // the clock stops at the last action run
  scheduler.maxFrames = at;
  scheduler.flush();
}

describe('ProposalDeadlines', () => {
  test("a leader's own proposals not applied within the timeout fail with RequestTimeoutError; applied ones and later ones are left alone", () => {
    const scheduler = new VirtualTimeScheduler(undefined, Infinity);
    const tracker = new ProposalTracker();
    const owner = new Subscription();
    let applied = 0;
    const deadlines = new ProposalDeadlines({ scheduler, timeout: 100, tracker, appliedUpTo: () => applied, owner });
    const outcomes: string[] = [];
    const a = [proposal(outcomes, 'a1'), proposal(outcomes, 'a2')];
    tracker.track(a, 1, 1);
    deadlines.add(1, 2, 1);
    runTo(scheduler, 10);
    const b = [proposal(outcomes, 'b3')];
    tracker.track(b, 3, 1);
    deadlines.add(3, 1, 1);
    tracker.applied(1, 1); // a1 applied; a2 not
    applied = 1;
    runTo(scheduler, 100);
    expect(outcomes).toEqual(['a1 ok', 'a2 RequestTimeoutError']);
    runTo(scheduler, 130); // b3 is due at 110, checked at most every 25 ms
    expect(outcomes).toEqual(['a1 ok', 'a2 RequestTimeoutError', 'b3 RequestTimeoutError']);
    expect(tracker.size).toBe(0);
  });

  test('a batch whose index another proposal holds now, or that was applied, changes nothing; stopping releases the timer', () => {
    const scheduler = new VirtualTimeScheduler(undefined, Infinity);
    const tracker = new ProposalTracker();
    const owner = new Subscription();
    const deadlines = new ProposalDeadlines({ scheduler, timeout: 100, tracker, appliedUpTo: () => 0, owner });
    const outcomes: string[] = [];
    const old = [proposal(outcomes, 'old')];
    tracker.track(old, 5, 1);
    deadlines.add(5, 1, 1);
    tracker.rejectAll(() => new Error('stepped down'));
    const fresh = [proposal(outcomes, 'new')];
    tracker.track(fresh, 5, 2); // a later term's leader (this node again) gave index 5 to another
    runTo(scheduler, 100);
    expect(outcomes).toEqual(['old Error']);
    expect(tracker.size).toBe(1);
    deadlines.add(5, 1, 2);
    owner.unsubscribe();
    runTo(scheduler, 1000);
    expect(outcomes).toEqual(['old Error']);
  });
});
