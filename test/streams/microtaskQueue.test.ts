import { MicrotaskQueue } from '../../src/streams/microtaskQueue';

describe('MicrotaskQueue', () => {
  test('hands values on in order at the next microtask, not from add', async () => {
    const out: number[] = [];
    const later = new MicrotaskQueue<number>((n) => out.push(n));
    later.add(1);
    later.add(2);
    expect(out).toEqual([]);
    expect(later.pending).toBe(true);
    await Promise.resolve();
    expect(out).toEqual([1, 2]);
    expect(later.pending).toBe(false);
  });

  test('a value added while values are handed on goes behind them, in the same run', async () => {
    const out: number[] = [];
    const later: MicrotaskQueue<number> = new MicrotaskQueue<number>((n) => {
      out.push(n);
      if (n === 1) later.add(3);
    });
    later.add(1);
    later.add(2);
    await Promise.resolve();
    expect(out).toEqual([1, 2, 3]);
    expect(later.pending).toBe(false);
  });
});
