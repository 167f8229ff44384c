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

  test('its microtask runs in the order it was queued among other microtasks', async () => {
    const out: string[] = [];
    const later = new MicrotaskQueue<string>((v) => out.push(v));
    queueMicrotask(() => out.push('before'));
    later.add('queued');
    queueMicrotask(() => out.push('after'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toEqual(['before', 'queued', 'after']);
  });

  test('a throw while handing on is thrown from a microtask of its own, and the queue goes on', async () => {
    const thrown: (() => void)[] = [];
    const spy = jest.spyOn(globalThis, 'queueMicrotask').mockImplementation((f) => void thrown.push(f));
    try {
      const out: number[] = [];
      const later = new MicrotaskQueue<number>((n) => {
        if (n === 1) throw new Error('deliver failed');
        out.push(n);
      });
      later.add(1);
      await Promise.resolve();
      expect(thrown).toHaveLength(1);
      expect(() => thrown[0]()).toThrow('deliver failed');
      expect(later.pending).toBe(false);
      later.add(2);
      await Promise.resolve();
      expect(out).toEqual([2]);
    } finally {
      spy.mockRestore();
    }
  });
});
