/**
 * The benchmark's closed loop of proposers: they start a few per turn of the event loop,
 * as clients arrive, so the load generator does not build every first command in one
 * synchronous step inside the process it measures. And its keys: a store of bounded size
 * at every level.
 */
import { benchKey, closedLoop, START_PER_TURN, STORE_VALUE_BYTES } from '../../bench/clusterStats';

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
  expect(result.acknowledged).toBeGreaterThanOrEqual(result.writes); // warm-up and drain included
});

test('benchKey keeps the keys of 100-byte values as they were: k<worker>-<i & 1023>', () => {
  for (const [w, i, c] of [[0, 0, 1], [3, 1029, 256], [1023, 5000, 1024], [15, 99, 16]]) expect(benchKey(w, i, c, 100)).toBe(`k${w}-${i & 1023}`);
});

test('benchKey holds the store at STORE_VALUE_BYTES of 64 KiB values over every level, and each worker writes keys of its own', () => {
  const keys = new Set<string>();
  let shared = 0;
  for (const concurrency of [1, 16, 256, 1024]) {
    const owners = new Map<string, number>();
    for (let w = 0; w < concurrency; w++) {
      for (let i = 0; i < 2100; i += concurrency > 16 ? 7 : 1) {
        const key = benchKey(w, i, concurrency, 65536);
        if ((owners.get(key) ?? w) !== w) shared++;
        owners.set(key, w);
        keys.add(key);
      }
    }
  }
  expect(shared).toBe(0);
  expect(keys.size).toBe(STORE_VALUE_BYTES / 65536);
});
