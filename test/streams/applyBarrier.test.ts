import { VirtualTimeScheduler } from 'rxjs';
import { RequestTimeoutError } from '../../src/errors';
import { ApplyBarrier } from '../../src/streams/applyBarrier';

function recorder() {
  const events: string[] = [];
  return { events, settle: (name: string) => ({ resolve: () => events.push(`${name} ok`), reject: (e: Error) => events.push(`${name} ${e.name}`) }) };
}

describe('ApplyBarrier', () => {
  it('answers each wait once its index is applied, at once if it already is', () => {
    const scheduler = new VirtualTimeScheduler();
    const barrier = new ApplyBarrier(scheduler, 100, 5);
    const { events, settle } = recorder();
    barrier.wait(5, 'read', settle('r5'));
    barrier.wait(9, 'read', settle('r9'));
    barrier.wait(7, 'propose', settle('p7'));
    expect(events).toEqual(['r5 ok']);
    barrier.advance(8);
    expect(events).toEqual(['r5 ok', 'p7 ok']);
    barrier.advance(9);
    expect(events).toEqual(['r5 ok', 'p7 ok', 'r9 ok']);
    expect(barrier.size).toBe(0);
  });

  it('fails a wait with RequestTimeoutError after the timeout, and forgets it', () => {
    const scheduler = new VirtualTimeScheduler();
    const barrier = new ApplyBarrier(scheduler, 100);
    const errors: Error[] = [];
    barrier.wait(3, 'read', { resolve: () => errors.push(new Error('resolved')), reject: (e) => errors.push(e) });
    scheduler.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RequestTimeoutError);
    expect(barrier.size).toBe(0);
    barrier.advance(3);
    expect(errors).toHaveLength(1);
  });

  it('fails every pending wait when the node stops, and cancels their timers', () => {
    const scheduler = new VirtualTimeScheduler();
    const barrier = new ApplyBarrier(scheduler, 100);
    const { events, settle } = recorder();
    barrier.wait(3, 'read', settle('a'));
    barrier.wait(4, 'propose', settle('b'));
    const stopped = new Error('stopped');
    stopped.name = 'NodeStoppedError';
    barrier.rejectAll(stopped);
    scheduler.flush();
    expect(events).toEqual(['a NodeStoppedError', 'b NodeStoppedError']);
  });
});
