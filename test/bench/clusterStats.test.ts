/**
 * The benchmark's closed loop of proposers: they start a few per turn of the event loop,
 * as clients arrive, so the load generator does not build every first command in one
 * synchronous step inside the process it measures.
 */
import { closedLoop, START_PER_TURN } from '../../bench/clusterStats';

test('closedLoop starts its proposers START_PER_TURN per event-loop turn, and every one of them runs', async () => {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const firstTurn = new Map<number, number>();
  // One second: every proposer must start before the run ends even on a loaded machine (with
  // 50 ms, a starved test process once ended the run before the last batch started).
  const result = await closedLoop(64, 0, 1000, async (w) => {
    if (!firstTurn.has(w)) firstTurn.set(w, turn);
    await new Promise((r) => setTimeout(r, 1));
  });
  ticking = false;
  expect(firstTurn.size).toBe(64);
  const turnsOf = (from: number) => new Set([...firstTurn].filter(([w]) => w >= from && w < from + START_PER_TURN).map(([, t]) => t));
  for (let first = 0; first < 64; first += START_PER_TURN) expect(turnsOf(first).size).toBe(1); // a batch starts within one turn
  expect(firstTurn.get(63)!).toBeGreaterThan(firstTurn.get(0)!); // the last batch after the first
  expect(result.writes).toBeGreaterThan(0);
});
