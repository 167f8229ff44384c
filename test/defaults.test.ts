import { Subject } from 'rxjs';
import { immediateScheduler } from '../src/defaults';
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
