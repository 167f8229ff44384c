/**
 * HostLiveness (quiescence's failure detection, `src/host/hostLiveness.ts`) on virtual
 * time: what its wake-ups name — the peer hosts that changed, and every peer host silent
 * now — so that a host wakes only the quiet groups a change concerns.
 */
import { interval, Observable, Subject, Unsubscribable } from 'rxjs';
import type { HostAlive, HostAliveEnvelope, HostWakeup } from '../../src/messages/liveness';
import type { NodeId } from '../../src/messages/types';
import { HostLiveness } from '../../src/host/hostLiveness';
import { listenTo } from '../../src/operators/listenTo';
import { VirtualClock } from '../../src/testing/virtualClock';

const INTERVAL = 50;
const TIMEOUT = 150;

/** h1's liveness watch of h2 and h3, whose answers the test gives (or withholds) by hand. */
function watch(ticks$?: Observable<unknown>) {
  const clock = new VirtualClock();
  const inbound = new Subject<HostAliveEnvelope>();
  const pings: { to: NodeId; message: HostAlive }[] = [];
  const link = { sendAlive: (to: NodeId, message: HostAlive) => pings.push({ to, message }), alive$: inbound };
  const liveness = new HostLiveness({ id: 'h1', link, scheduler: clock.scheduler, ticks$: ticks$ ?? interval(INTERVAL, clock.scheduler), timeout: TIMEOUT, silentTicks: 3, report: () => undefined });
  liveness.watch(['h2', 'h3']);
  const wakeups: HostWakeup[] = [];
  const wokenAt: number[] = [];
  liveness.wakeups$.subscribe((w) => {
    wakeups.push(w);
    wokenAt.push(clock.now());
  });
  const incarnations: Record<NodeId, number> = { h2: 1, h3: 1 };
  let answered = 0; // pings answered or withheld so far
  /** The hosts of `hosts` answer the pings h1 sent them since the last call (with their incarnation). */
  const answer = (hosts: NodeId[]) => {
    for (const p of pings.slice(answered)) {
      if (hosts.includes(p.to) && !p.message.reply) inbound.next({ from: p.to, to: 'h1', message: { ...p.message, reply: true, incarnation: incarnations[p.to] } });
    }
    answered = pings.length;
  };
  /** Advances `intervals` heartbeat intervals, the hosts of `alive` answering every ping. */
  const run = async (intervals: number, alive: NodeId[]) => {
    for (let i = 0; i < intervals; i++) {
      await clock.advance(INTERVAL);
      answer(alive);
    }
  };
  return { liveness, wakeups, wokenAt, run, answer, clock, incarnations };
}

describe('HostLiveness wake-ups', () => {
  test('a peer host that stops answering: one wake-up naming it, and it as silent; none while both answer', async () => {
    const { liveness, wakeups, run } = watch();
    await run(20, ['h2', 'h3']);
    expect(wakeups).toEqual([]);
    await run(10, ['h2']);
    expect(wakeups).toEqual([{ hosts: ['h3'], silent: ['h3'] }]);
    liveness.stop();
  });

  test('a silent host that answers again: a wake-up naming it, with nobody silent (the leaders that went quiet without it catch it up)', async () => {
    const { liveness, wakeups, run } = watch();
    await run(5, ['h2', 'h3']);
    await run(10, ['h2']);
    await run(5, ['h2', 'h3']);
    expect(wakeups).toEqual([
      { hosts: ['h3'], silent: ['h3'] },
      { hosts: ['h3'], silent: [] },
    ]);
    liveness.stop();
  });

  test('a restart of a peer host (a new incarnation) names it, and keeps another silent host silent', async () => {
    const { liveness, wakeups, run, incarnations } = watch();
    await run(5, ['h2', 'h3']);
    await run(10, ['h2']);
    incarnations.h2 = 2;
    await run(1, ['h2']);
    expect(wakeups).toEqual([
      { hosts: ['h3'], silent: ['h3'] },
      { hosts: ['h2'], silent: ['h3'] },
    ]);
    liveness.stop();
  });

  test('a peer host is silent once the timeout has passed since the ping it last answered: the ticks are counted over the same time, not after it', async () => {
    const { liveness, wakeups, wokenAt, run, clock } = watch();
    await run(20, ['h2', 'h3']);
    const lastAnswered = clock.now(); // the ping sent at this tick was answered
    await run(10, ['h2']);
    expect(wakeups).toEqual([{ hosts: ['h3'], silent: ['h3'] }]);
    // TIMEOUT is 3 intervals, silentTicks 3: the third tick without an answer is the one at the timeout.
    // Counted one after the other, the wake-up came 3 ticks later (the 1,000-group failover's detection: 2 x the minimum election timeout).
    expect(wokenAt).toEqual([lastAnswered + TIMEOUT]);
    liveness.stop();
  });

  test('a stall of this host longer than the timeout does not make its peers silent: the late tick runs before their answers are read', async () => {
    const ticks = new Subject<void>();
    const { liveness, wakeups, answer, clock } = watch(ticks);
    for (let i = 0; i < 5; i++) {
      await clock.advance(INTERVAL);
      ticks.next();
      answer(['h2', 'h3']);
    }
    await clock.advance(10 * TIMEOUT); // this host's event loop stalled: no tick ran
    ticks.next(); // the late tick, before the answers that arrived meanwhile are read
    answer(['h2', 'h3']);
    for (let i = 0; i < 5; i++) {
      await clock.advance(INTERVAL);
      ticks.next();
      answer(['h2', 'h3']);
    }
    expect(wakeups).toEqual([]);
    liveness.stop();
  });

  test("a group's wake-ups (wakeupsOf) reach its subscriber and its listener (listenTo), named for the group; stop completes them", async () => {
    const { liveness, run } = watch();
    const seen: string[] = [];
    const listener = { next: (w: HostWakeup) => seen.push(`g2 ${w.group} ${w.hosts.join()}`), error: () => seen.push('g2 error'), complete: () => seen.push('g2 complete') };
    let listening: Unsubscribable | undefined;
    // g0's node stops on the wake-up, and g2's with it: g2 gets nothing more, though the wake-up had begun.
    listenTo(liveness.wakeupsOf('g0'), { next: () => listening?.unsubscribe(), error: () => seen.push('g0 error'), complete: () => seen.push('g0 complete') });
    const subscription = liveness.wakeupsOf('g1').subscribe({ next: (w) => seen.push(`g1 ${w.group} ${w.hosts.join()}`), complete: () => seen.push('g1 complete') });
    listening = listenTo(liveness.wakeupsOf('g2'), listener);
    await run(5, ['h2', 'h3']);
    await run(10, ['h2']);
    expect(seen).toEqual(['g1 g1 h3']);
    subscription.unsubscribe();
    liveness.stop();
    listenTo(liveness.wakeupsOf('g4'), listener); // after stop: completed at once
    expect(seen).toEqual(['g1 g1 h3', 'g0 complete', 'g2 complete']);
  });
});
