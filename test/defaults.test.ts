import { Subject, Subscription } from 'rxjs';
import { defaultScheduler, immediateScheduler } from '../src/defaults';
import { batchPerTurn } from '../src';

describe('immediateScheduler', () => {
  it('ends a turn after the I/O phase: values from separate callbacks share a batch', async () => {
    const source = new Subject<number>();
    const batches: number[][] = [];
    source.pipe(batchPerTurn(immediateScheduler)).subscribe((b) => batches.push(b));
    // Two "callbacks" of one phase, each with its own microtasks in between.
    await Promise.resolve().then(() => source.next(1));
    await Promise.resolve().then(() => source.next(2));
    await new Promise((r) => setImmediate(r));
    source.next(3);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('runs the zero-delay work of one check phase together, before the microtasks it queued', async () => {
    // Two nodes' turns ending in the same phase: their sends (flushed on a microtask) and
    // writes must find both turns done, so they leave in one frame and one storage batch.
    const log: string[] = [];
    immediateScheduler.schedule(() => {
      log.push('turn a');
      queueMicrotask(() => log.push('flush after a'));
    });
    immediateScheduler.schedule(() => {
      log.push('turn b');
      queueMicrotask(() => log.push('flush after b'));
    });
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['turn a', 'turn b', 'flush after a', 'flush after b']);
  });

  it('leaves work scheduled during a phase for the next phase, in order', async () => {
    const log: string[] = [];
    immediateScheduler.schedule(() => {
      log.push('a');
      immediateScheduler.schedule(() => log.push('c (next phase)'));
      queueMicrotask(() => immediateScheduler.schedule(() => log.push('d (next phase)')));
    });
    immediateScheduler.schedule(() => log.push('b'));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b']);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b', 'c (next phase)', 'd (next phase)']);
  });

  it('does not run cancelled work, and honours delays', async () => {
    let ran = 0;
    immediateScheduler.schedule(() => ran++).unsubscribe();
    const later: Subscription[] = [];
    immediateScheduler.schedule(() => later[0].unsubscribe()); // cancels work due in the same phase, before it runs
    later.push(immediateScheduler.schedule(() => (ran += 100)));
    immediateScheduler.schedule(() => (ran += 10));
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(10);
    const start = Date.now();
    await new Promise<void>((resolve) => immediateScheduler.schedule(() => resolve(), 20));
    expect(Date.now() - start).toBeGreaterThanOrEqual(15);
  });
});

describe('defaultScheduler', () => {
  it('keeps time with a monotonic clock: a wall clock stepped back does not move it', async () => {
    const before = defaultScheduler.now();
    const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() - 3_600_000); // an hour back
    try {
      expect(defaultScheduler.now()).toBeGreaterThanOrEqual(before);
      const t0 = defaultScheduler.now();
      await new Promise<void>((resolve) => defaultScheduler.schedule(() => resolve(), 10));
      expect(defaultScheduler.now() - t0).toBeGreaterThanOrEqual(9);
    } finally {
      wall.mockRestore();
    }
  });
});
