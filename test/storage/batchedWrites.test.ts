/**
 * BatchedWrites, the write queue FileStorage and SharedLog share: the calls of one turn
 * leave as one batch, batches never overlap, and after a failure nothing more is written
 * and every waiting call is rejected.
 */
import { BatchedWrites, QueuedCall } from '../../src/storage/batchedWrites';

interface Call extends QueuedCall {
  readonly n: number;
}

function queue(run: (batch: Call[]) => Promise<void>, failure: () => Error | null = () => null) {
  const writes = new BatchedWrites<Call>({ runBatch: run, failure });
  const call = (n: number) => new Promise<void>((resolve, reject) => writes.push({ n, resolve, reject }));
  return { writes, call };
}

describe('BatchedWrites', () => {
  test('the calls of one turn go in one batch; calls made while it runs go in the next; batches never overlap', async () => {
    const batches: number[][] = [];
    let running = 0;
    let overlapped = false;
    let release: () => void = () => undefined;
    const { call } = queue(async (batch) => {
      if (++running > 1) overlapped = true;
      batches.push(batch.map((c) => c.n));
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      running--;
      for (const c of batch) c.resolve();
    });
    const first = [call(1), call(2), call(3)];
    await Promise.resolve(); // the flush starts on a microtask
    const second = [call(4), call(5)];
    release();
    await Promise.all([...first, ...second]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
    expect(overlapped).toBe(false);
  });

  test('after a failure no batch runs, and every queued call is rejected with the failure', async () => {
    let failure: Error | null = null;
    const ran: number[][] = [];
    const { call } = queue(async (batch) => {
      ran.push(batch.map((c) => c.n));
      failure = new Error('disk gone');
      for (const c of batch) c.reject(failure);
    }, () => failure);
    const a = call(1);
    await Promise.resolve();
    const b = call(2); // queued while batch 1 runs
    await expect(a).rejects.toThrow('disk gone');
    await expect(b).rejects.toThrow('disk gone');
    expect(ran).toEqual([[1]]);
  });

  test('drained waits for the batch being written; idle says when nothing waits', async () => {
    let release: () => void = () => undefined;
    const { writes, call } = queue(async (batch) => {
      await new Promise<void>((r) => (release = r));
      for (const c of batch) c.resolve();
    });
    expect(writes.idle).toBe(true);
    const done = call(1);
    expect(writes.idle).toBe(false);
    await Promise.resolve();
    let drained = false;
    const waiting = writes.drained().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    release();
    await Promise.all([done, waiting]);
    expect(drained).toBe(true);
    expect(writes.idle).toBe(true);
  });

  test('afterBatch runs after each batch, before the next one starts', async () => {
    const order: string[] = [];
    const writes = new BatchedWrites<Call>({
      runBatch: async (batch) => {
        order.push(`batch ${batch.map((c) => c.n).join(',')}`);
        for (const c of batch) c.resolve();
      },
      afterBatch: async () => {
        order.push('after');
      },
      failure: () => null,
    });
    const call = (n: number) => new Promise<void>((resolve, reject) => writes.push({ n, resolve, reject }));
    await call(1);
    await call(2);
    await writes.drained();
    expect(order).toEqual(['batch 1', 'after', 'batch 2', 'after']);
  });
});
