import { interval, take, timer } from 'rxjs';
import { SimulatorClock } from '../../src/testing';

describe('SimulatorClock', () => {
  test('runs actions in time order, same-time actions in scheduling order', async () => {
    const clock = new SimulatorClock();
    const seen: string[] = [];
    for (const [name, delay] of [['c', 30], ['a', 10], ['b1', 20], ['b2', 20], ['z', 0]] as const) {
      clock.scheduler.schedule(() => seen.push(`${name}@${clock.now()}`), delay);
    }
    await clock.advance(25);
    expect(seen).toEqual(['z@0', 'a@10', 'b1@20', 'b2@20']);
    expect(clock.now()).toBe(25);
    await clock.advance(100);
    expect(seen).toEqual(['z@0', 'a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.pending).toBe(0);
  });

  test('drives RxJS timers and intervals, and cancels them on unsubscribe', async () => {
    const clock = new SimulatorClock();
    const ticks: number[] = [];
    const sub = interval(10, clock.scheduler).subscribe(() => ticks.push(clock.now()));
    let fired = false;
    timer(50, clock.scheduler).subscribe(() => (fired = true)).unsubscribe();
    await clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    sub.unsubscribe();
    expect(clock.pending).toBe(0);
    await clock.advance(100);
    expect(ticks).toEqual([10, 20, 30]);
    expect(fired).toBe(false);
  });

  test('settles promises between instants, so a promise callback runs at the instant it resolved', async () => {
    const clock = new SimulatorClock();
    const seen: number[] = [];
    const at = (t: number) => new Promise<void>((resolve) => clock.scheduler.schedule(() => resolve(), t));
    void at(10).then(() => seen.push(clock.now()));
    void at(20).then(() => at(5)).then(() => seen.push(clock.now()));
    await clock.advance(100);
    expect(seen).toEqual([10, 25]);
  });

  test('a paused view holds what falls due and runs it, in order, on resume', async () => {
    const clock = new SimulatorClock();
    const node = clock.view();
    const seen: string[] = [];
    interval(10, node)
      .pipe(take(5))
      .subscribe((i) => seen.push(`tick${i}@${clock.now()}`));
    clock.scheduler.schedule(() => seen.push(`other@${clock.now()}`), 25);
    await clock.advance(12);
    node.pause();
    await clock.advance(30); // now 42: ticks due at 20, 30, 40 are held
    expect(seen).toEqual(['tick0@10', 'other@25']);
    expect(node.heldCount).toBe(1); // an interval has one action at a time: it reschedules itself when it runs
    node.resume();
    await clock.advance(0);
    expect(seen).toEqual(['tick0@10', 'other@25', 'tick1@42']);
    await clock.advance(20);
    expect(seen).toEqual(['tick0@10', 'other@25', 'tick1@42', 'tick2@52', 'tick3@62']);
  });

  test('discardHeld forgets what a paused view held', async () => {
    const clock = new SimulatorClock();
    const node = clock.view();
    let ran = false;
    node.schedule(() => (ran = true), 5);
    node.pause();
    await clock.advance(10);
    node.discardHeld();
    await clock.advance(10);
    expect(ran).toBe(false);
    expect(node.paused).toBe(false);
  });

  test("runningTime counts a view's time except its pauses (its own timers' time)", async () => {
    const clock = new SimulatorClock();
    const node = clock.view();
    await clock.advance(10);
    node.pause();
    await clock.advance(30);
    expect(node.runningTime()).toBe(10); // paused: it stands still
    node.resume();
    await clock.advance(5);
    node.pause();
    node.pause(); // a second pause call changes nothing
    await clock.advance(20);
    node.discardHeld(); // a crash ends the pause too
    await clock.advance(1);
    expect(node.runningTime()).toBe(16);
    expect(clock.now()).toBe(66);
  });
});
