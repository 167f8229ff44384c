/**
 * The simulator with quiescing groups (issue 19, deliverable 4): idle groups go quiet
 * during the fault phase, the faults strike quiet leaders' hosts (crashes, one-way
 * links), and every group stays safe and linearizable.
 */
import type { AppendEntries, Envelope } from '../../src/messages/types';
import { runSimulation, SimulationOptions } from '../../src/testing';
import type { InterceptRule } from '../../src/transports/memoryHubIntercept';
import { quiescing } from '../../src/testing/simulatorSetup';

const isQuiesceHeartbeat = (e: Envelope) => e.message.type === 'AppendEntries' && (e.message as AppendEntries).quiesce === true;

/** Faults aimed at a leader's host (a crash, a reboot or a one-way cut) injected while the clients were quiet. */
function leaderFaultsWhileQuiet(faults: readonly { readonly action: string }[]): string[] {
  let quiet = false;
  const hits: string[] = [];
  for (const { action } of faults) {
    if (action === 'clients quiet') quiet = true;
    else if (action === 'clients busy') quiet = false;
    else if (quiet && /^(crash|reboot|one-way) .*leader/.test(action)) hits.push(action);
  }
  return hits;
}

describe('the simulator with quiescing groups (3 hosts x 4 groups)', () => {
  test('3 seeds with --quiesce on: groups go quiet, quiet leaders\' hosts are crashed and cut, no violation, every group linearizable', async () => {
    const hits: string[] = [];
    // Seeds 1-3 (4-6 from the failover timing of 2026-12-06 until disk stalls, lost entries and local writers moved
    // every run: then no leader fault landed on seeds 4-6 while quiet).
    for (let seed = 1; seed <= 3; seed++) {
      let quiesceHeartbeats: InterceptRule | undefined;
      const options: SimulationOptions = {
        seed, nodes: 3, groups: 4, steps: 20, quiesce: 'on',
        inspect: ({ hosts }) => {
          quiesceHeartbeats = hosts!.hub.intercept(isQuiesceHeartbeat, 'pass');
        },
      };
      const r = await runSimulation(options);
      expect({ seed, violations: r.violations }).toEqual({ seed, violations: [] });
      expect(r.perGroup.map((g) => g.linearizability.verdict)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(quiesceHeartbeats!.seen.length).toBeGreaterThan(0);
      expect(r.command).toContain('--quiesce on');
      hits.push(...leaderFaultsWhileQuiet(r.faults));
    }
    expect(hits.length).toBeGreaterThan(0); // seed 1: a reboot of a quiet leader's host; seed 2: one-way cuts around one
  }, 120_000);

  test('by default about half the seeds quiesce (the seed decides); one group or --quiesce off never does', () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1);
    const on = seeds.filter((seed) => quiescing({ seed, groups: 4 })).length;
    expect(on).toBeGreaterThan(70);
    expect(on).toBeLessThan(130);
    expect(seeds.some((seed) => quiescing({ seed }))).toBe(false);
    expect(seeds.some((seed) => quiescing({ seed, groups: 4, quiesce: 'off' }))).toBe(false);
    expect(seeds.every((seed) => quiescing({ seed, groups: 4, quiesce: 'on' }))).toBe(true);
  });
});
