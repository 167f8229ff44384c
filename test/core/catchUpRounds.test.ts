/**
 * Catch-up rounds (Raft dissertation §4.2.1): how the leader times a follower's rounds,
 * which `promote` uses to tell a learner that keeps up from one that does not.
 */
import { Progress } from '../../src/core/progress';

test('a round ends when the follower holds what the log held when it began; the next begins then, to the log end', () => {
  const pr = new Progress(100, 0); // leader's log ends at 100 at t=0
  expect(pr.lastRoundMs).toBe(Infinity);
  pr.acknowledge(60);
  pr.noteCatchUp(20, 130);
  expect(pr.lastRoundMs).toBe(Infinity); // 60 < 100: the first round goes on
  pr.acknowledge(100);
  pr.noteCatchUp(45, 150);
  expect(pr.lastRoundMs).toBe(45);
  expect([pr.roundTarget, pr.roundStart]).toEqual([150, 45]);
  pr.acknowledge(149); // the log grew meanwhile: 149 < 150, the round goes on
  pr.noteCatchUp(60, 170);
  expect([pr.lastRoundMs, pr.roundStart]).toEqual([45, 45]);
  pr.acknowledge(160);
  pr.noteCatchUp(70, 190);
  expect([pr.lastRoundMs, pr.roundTarget, pr.roundStart]).toEqual([25, 190, 70]);
});

test('a follower that trails by a steady number of entries still completes rounds, each as long as its lag takes to replicate', () => {
  // The log grows by 4 entries every 5 ms; the follower holds all but the last 80.
  const pr = new Progress(80, 0);
  const rounds: number[] = [];
  for (let t = 5; t <= 500; t += 5) {
    const last = 80 + (t / 5) * 4;
    pr.acknowledge(last - 80);
    const began = pr.roundStart;
    pr.noteCatchUp(t, last);
    if (pr.roundStart !== began) rounds.push(pr.lastRoundMs);
  }
  expect(rounds.length).toBeGreaterThan(3);
  expect(Math.max(...rounds)).toBeLessThanOrEqual(105); // 80 entries at 4 per 5 ms: 100 ms, within a step
});
