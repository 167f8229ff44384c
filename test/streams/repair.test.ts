import { Subscription, VirtualTimeScheduler } from 'rxjs';
import { repairFromCluster } from '../../src/streams/repair';

/** Lets settled promises deliver (microtasks only; no real time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Lets promises settle, advances the virtual clock to `until` ms running what is due, and lets promises settle again. */
async function advanceTo(scheduler: VirtualTimeScheduler, until: number): Promise<void> {
  await settle();
  scheduler.maxFrames = until;
  scheduler.flush();
  await settle();
}

/** A marker proposal that fails `failures` times, then succeeds; records when each attempt was made. */
function marker(scheduler: VirtualTimeScheduler, failures: number) {
  const attempts: number[] = [];
  const propose = () => {
    attempts.push(scheduler.now());
    return attempts.length <= failures ? Promise.reject(new Error('not leader')) : Promise.resolve({ index: 9 });
  };
  return { attempts, propose };
}

describe('repairFromCluster', () => {
  // Ends the attempts even when a test fails half-way.
  const subscriptions: Subscription[] = [];
  afterEach(() => subscriptions.splice(0).forEach((s) => s.unsubscribe()));

  test('retries the marker every retryDelay until it succeeds, then completes without emitting', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { attempts, propose } = marker(scheduler, 2);
    const seen: string[] = [];
    subscriptions.push(repairFromCluster(propose, scheduler, 300).subscribe({
      next: () => seen.push('next'),
      error: () => seen.push('error'),
      complete: () => seen.push(`complete@${scheduler.now()}`),
    }));
    await settle();
    expect(attempts).toEqual([0]);
    await advanceTo(scheduler, 299);
    expect(attempts).toEqual([0]);
    await advanceTo(scheduler, 300);
    expect(attempts).toEqual([0, 300]);
    expect(seen).toEqual([]);
    await advanceTo(scheduler, 600);
    expect(attempts).toEqual([0, 300, 600]);
    expect(seen).toEqual(['complete@600']);
    await advanceTo(scheduler, 5000);
    expect(attempts).toHaveLength(3);
  });

  test('completes at once when the first marker succeeds', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { attempts, propose } = marker(scheduler, 0);
    let completed = false;
    subscriptions.push(repairFromCluster(propose, scheduler, 300).subscribe({ complete: () => (completed = true) }));
    await settle();
    expect(completed).toBe(true);
    expect(attempts).toEqual([0]);
  });

  test('unsubscribing stops the attempts', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { attempts, propose } = marker(scheduler, Infinity);
    const subscription = repairFromCluster(propose, scheduler, 300).subscribe();
    subscriptions.push(subscription);
    await advanceTo(scheduler, 300);
    expect(attempts).toEqual([0, 300]);
    subscription.unsubscribe();
    await advanceTo(scheduler, 5000);
    expect(attempts).toEqual([0, 300]);
  });
});
