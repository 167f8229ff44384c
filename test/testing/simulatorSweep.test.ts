/**
 * The bounded sweep that runs with `npm test`: 200 seeds of a 5-node cluster with every
 * fault class. Deep sweeps run with `npm run sim -- --seeds 10000`.
 */
import { runSimulation } from '../../src/testing';

const SEEDS = 200;

test(`${SEEDS} seeds of a 5-node cluster under every fault class: no violation`, async () => {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0; // nodes reject many proposals; their stacks are never read here
  const failures: string[] = [];
  let ops = 0;
  let unknown = 0;
  try {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSimulation({ seed, nodes: 5, steps: 30 });
      ops += r.ops.invoked;
      if (r.linearizability.verdict === 'unknown') unknown++;
      if (r.violations.length > 0) failures.push(`${r.command} --verbose\n    ${r.violations[0].kind}: ${r.violations[0].message}`);
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  expect(failures).toEqual([]);
  expect(ops).toBeGreaterThan(SEEDS * 100);
  expect(unknown).toBeLessThan(SEEDS / 20);
}, 300_000);
