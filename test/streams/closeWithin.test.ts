import { StopTimeoutError } from '../../src/errors';
import { closeWithin } from '../../src/streams/closeWithin';
import { VirtualClock } from '../../src/testing/virtualClock';

const never = { close: () => new Promise<void>(() => undefined) };
const at = (clock: VirtualClock, ms: number) => ({ close: () => new Promise<void>((resolve) => clock.scheduler.schedule(() => resolve(), ms)) });

/** Runs `closeWithin` on virtual time for `run` ms; says how it settled and when. */
async function closing(clock: VirtualClock, parts: Parameters<typeof closeWithin>[1], limit: number, run = 2 * limit) {
  let result: { ok: boolean; error?: unknown; at: number } | undefined;
  closeWithin('n1', parts, limit, clock.scheduler).then(
    () => (result = { ok: true, at: clock.now() }),
    (error: unknown) => (result = { ok: false, error, at: clock.now() }),
  );
  await clock.advance(run);
  return result;
}

describe('closeWithin', () => {
  it('resolves when the last part has closed, and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    expect(await closing(clock, { transport: at(clock, 10), storage: at(clock, 30) }, 100)).toEqual({ ok: true, at: 30 });
    expect(clock.pending).toBe(0);
  });

  it('counts a close that fails, or throws, as done', async () => {
    const clock = new VirtualClock();
    const failing = { close: () => Promise.reject(new Error('EIO')) };
    const throwing = {
      close: (): Promise<void> => {
        throw new Error('already closed');
      },
    };
    expect(await closing(clock, { transport: failing, storage: throwing }, 100)).toEqual({ ok: true, at: 0 });
  });

  it('rejects with StopTimeoutError naming the parts still closing at the limit', async () => {
    const clock = new VirtualClock();
    const result = await closing(clock, { transport: never, storage: at(clock, 50), snapshots: never }, 100);
    expect(result).toMatchObject({ ok: false, at: 100 });
    expect(result?.error).toBeInstanceOf(StopTimeoutError);
    expect(result?.error).toMatchObject({ id: 'n1', pending: ['transport', 'snapshots'], after: 100 });
    expect((result?.error as Error).message).toBe('n1 stopped, but its transport, snapshots did not close within 100 ms; left closing in the background');
  });

  it('resolves at once with nothing to close', async () => {
    const clock = new VirtualClock();
    expect(await closing(clock, {}, 100)).toEqual({ ok: true, at: 0 });
  });
});
