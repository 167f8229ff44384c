import { VirtualTimeScheduler } from 'rxjs';
import { Deadlines } from '../../src/streams/deadlines';

/** Runs the scheduler's actions due up to `until` (virtual ms), leaving later ones queued. */
function advanceTo(scheduler: VirtualTimeScheduler, until: number): void {
  scheduler.maxFrames = until;
  scheduler.flush();
}

describe('Deadlines', () => {
  test('a wait that is not cancelled expires after its delay, on the scheduler', () => {
    const scheduler = new VirtualTimeScheduler();
    const deadlines = new Deadlines(scheduler);
    const expired: number[] = [];
    deadlines.after(600, () => expired.push(scheduler.now()));
    advanceTo(scheduler, 599);
    expect(expired).toEqual([]);
    expect(deadlines.size).toBe(1);
    advanceTo(scheduler, 600);
    expect(expired).toEqual([600]);
    expect(deadlines.size).toBe(0);
  });

  test('waits expire in deadline order, each once', () => {
    const scheduler = new VirtualTimeScheduler();
    const deadlines = new Deadlines(scheduler);
    const expired: string[] = [];
    deadlines.after(300, () => expired.push('300'));
    deadlines.after(100, () => expired.push('100'));
    deadlines.after(200, () => expired.push('200'));
    advanceTo(scheduler, 10_000);
    expect(expired).toEqual(['100', '200', '300']);
  });

  test('cancelling before the deadline stops the expiry and forgets the wait; cancelling twice or after expiry is harmless', () => {
    const scheduler = new VirtualTimeScheduler();
    const deadlines = new Deadlines(scheduler);
    const expired: string[] = [];
    const cancelA = deadlines.after(100, () => expired.push('a'));
    const cancelB = deadlines.after(50, () => expired.push('b'));
    advanceTo(scheduler, 60);
    expect(expired).toEqual(['b']);
    cancelA();
    expect(deadlines.size).toBe(0);
    cancelA();
    cancelB();
    advanceTo(scheduler, 10_000);
    expect(expired).toEqual(['b']);
  });

  test('clear cancels every pending wait (the node stops)', () => {
    const scheduler = new VirtualTimeScheduler();
    const deadlines = new Deadlines(scheduler);
    const expired: string[] = [];
    deadlines.after(100, () => expired.push('a'));
    deadlines.after(200, () => expired.push('b'));
    deadlines.clear();
    expect(deadlines.size).toBe(0);
    advanceTo(scheduler, 10_000);
    expect(expired).toEqual([]);
    // Still usable afterwards.
    deadlines.after(10, () => expired.push('c'));
    advanceTo(scheduler, 20_000);
    expect(expired).toEqual(['c']);
  });
});
