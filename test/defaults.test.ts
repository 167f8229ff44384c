import { Subject } from 'rxjs';
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

  it('does not run cancelled work, and honours delays', async () => {
    let ran = 0;
    immediateScheduler.schedule(() => ran++).unsubscribe();
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(0);
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
