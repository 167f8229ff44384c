/**
 * The simulator with hosts of many Raft groups (issue 19, deliverable 7): faults strike
 * hosts, and every group is checked on its own.
 */

import { ALL_FAULT_CLASSES, checkLinearizability, HostCluster, runSimulation, SimulationOptions, TestCluster } from '../../src/testing';

/** Waits until the group has a leader on a host other than `not`, and returns it. */
async function leaderBesides(cluster: TestCluster, not: string): Promise<string> {
  await cluster.waitFor(() => cluster.leader() !== undefined && cluster.leader() !== not, 5000);
  return cluster.leader()!;
}

describe('the simulator runs hosts of many Raft groups', () => {
  test('5 seeds x 3 hosts x 4 groups: no violation, every group linearizable, every group served', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = await runSimulation({ seed, nodes: 3, groups: 4, steps: 20 });
      expect({ seed, violations: r.violations }).toEqual({ seed, violations: [] });
      expect(r.groups).toBe(4);
      expect(r.perGroup.map((g) => g.group)).toEqual(['g1', 'g2', 'g3', 'g4']);
      expect(r.perGroup.map((g) => g.linearizability.verdict)).toEqual(['ok', 'ok', 'ok', 'ok']);
      for (const g of r.perGroup) expect(g.ops.ok).toBeGreaterThan(10);
      // Faults name hosts (h1..h3), never a node of one group.
      expect(r.faults.filter((f) => /\bn\d/.test(f.action))).toEqual([]);
      expect(r.faults.some((f) => /\bh\d/.test(f.action))).toBe(true);
    }
  });

  test('a run replays exactly; its history holds every group under its own keys and checks as a whole', async () => {
    const options: SimulationOptions = { seed: 7, nodes: 3, groups: 3, steps: 15 };
    const a = await runSimulation(options);
    const b = await runSimulation(options);
    expect(b.faults).toEqual(a.faults);
    expect(b.history).toEqual(a.history);
    expect(b.violations).toEqual(a.violations);
    expect(b.virtualTime).toBe(a.virtualTime);
    expect(a.command).toBe('npm run sim -- --seeds 1 --from 7 --nodes 3 --steps 15 --groups 3');
    expect(new Set(a.history.map((op) => op.key.split('/')[0]))).toEqual(new Set(['g1', 'g2', 'g3']));
    expect(a.ops.invoked).toBe(a.perGroup.reduce((n, g) => n + g.ops.invoked, 0));
    expect(checkLinearizability(a.history).verdict).toBe('ok');
  });

  test('a host crash takes every group on it down, and its restart brings them all back from storage', async () => {
    const hosts = new HostCluster({ hosts: 3, seed: 2, groups: [{ seed: 21 }, { seed: 22 }, { seed: 23 }] });
    const clusters = hosts.groups.map((g) => g.cluster);
    for (const c of clusters) await c.waitForLeader();
    for (const c of clusters) await c.propose(c.leader()!, `before ${c.leader()}`);
    const victim = clusters[0].leader()!;
    hosts.crash(victim);
    expect(clusters.map((c) => c.isRunning(victim))).toEqual([false, false, false]);
    expect(hosts.isRunning(victim)).toBe(false);
    // Every group goes on without the host, and commits.
    for (const c of clusters) await c.propose(await leaderBesides(c, victim), 'while down');
    hosts.start(victim);
    expect(clusters.map((c) => c.isRunning(victim))).toEqual([true, true, true]);
    for (const c of clusters) {
      await c.waitFor(() => c.committedData(victim).includes('while down'), 5000);
      expect(c.committedData(victim)[0]).toMatch(/^before /);
    }
    await hosts.stop();
  });

  test('a partition cuts every group between hosts; a pause freezes every group on a host; a storage fault hits every group', async () => {
    const hosts = new HostCluster({ hosts: 3, seed: 3, groups: [{ seed: 31 }, { seed: 32 }] });
    const clusters = hosts.groups.map((g) => g.cluster);
    for (const c of clusters) await c.waitForLeader();
    const [cut, ...rest] = hosts.ids;
    hosts.hub.partition([cut], rest);
    // Both groups lead from the majority side, and commit there only.
    for (const c of clusters) await c.propose(await leaderBesides(c, cut), 'majority');
    await hosts.clock.advance(200);
    for (const c of clusters) expect(c.committedData(cut)).not.toContain('majority');
    hosts.hub.heal();
    for (const c of clusters) await c.waitFor(() => c.committedData(cut).includes('majority'), 5000);

    hosts.pause(rest[0]);
    expect(clusters.map((c) => c.scheduler(rest[0]).paused)).toEqual([true, true]);
    hosts.resume(rest[0]);

    hosts.crash(rest[1]);
    hosts.storage(rest[1]).loseHardState();
    expect(clusters.map((c) => c.storage(rest[1]).damaged)).toEqual([true, true]);
    expect(hosts.storage(rest[1]).damaged).toBe(true);
    hosts.start(rest[1]);
    await hosts.stop();
  });

  test('a group on some of the hosts only: a crash of another host leaves it alone', async () => {
    const hosts = new HostCluster({ hosts: 5, seed: 4, groups: [{ seed: 41 }, { seed: 42, hosts: ['h1', 'h3', 'h4'] }] });
    const [all, some] = hosts.groups.map((g) => g.cluster);
    expect(some.ids).toEqual(['h1', 'h3', 'h4']);
    await all.waitForLeader();
    await some.waitForLeader();
    hosts.crash('h2');
    expect([all.isRunning('h2'), some.ids.every((h) => some.isRunning(h))]).toEqual([false, true]);
    hosts.crash('h3');
    expect(some.isRunning('h3')).toBe(false);
    // Two of g2's three members are left: a majority, so it still commits.
    await some.propose(await leaderBesides(some, 'h3'), 'two of three');
    hosts.start('h2');
    hosts.start('h3');
    await some.waitFor(() => some.committedData('h3').includes('two of three'), 5000);
    await hosts.stop();
  });

  test('5 hosts x 4 groups: g2 and g4 live on three hosts each, and a sweep of 3 seeds is clean', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      let lives: (readonly string[])[] = [];
      const inspect = ({ hosts }: { hosts?: HostCluster }) => (lives = hosts!.groups.map((g) => g.cluster.ids));
      const r = await runSimulation({ seed, nodes: 5, groups: 4, steps: 15, inspect });
      expect(lives).toEqual([['h1', 'h2', 'h3', 'h4', 'h5'], ['h2', 'h3', 'h4'], ['h1', 'h2', 'h3', 'h4', 'h5'], ['h1', 'h4', 'h5']]);
      expect({ seed, violations: r.violations }).toEqual({ seed, violations: [] });
      expect(r.perGroup.map((g) => g.linearizability.verdict)).toEqual(['ok', 'ok', 'ok', 'ok']);
    }
  });

  test('a bug planted in one group is caught, and the report names that group', async () => {
    // The lease rules of issue 14 switched off in g2 only; 3 hosts x 2 groups, lease reads.
    // Seed 10 of 1-16 catches it (5 and 6 did before disk stalls, lost entries and local writers); the same seed
    // without the bug is clean.
    // Storage faults, disk stalls and lost entries are left out, as in the single-group test of the bug.
    const faults = ALL_FAULT_CLASSES.filter((c) => c !== 'storage' && c !== 'disk-stall' && c !== 'lost-entries');
    // Without quiescence, whose runs draw other faults (the seed decides it by default).
    const options: Omit<SimulationOptions, 'seed'> = { nodes: 3, groups: 2, steps: 30, faults, workload: { reads: 'lease' }, plantedBug: 'stale-lease', plantedBugGroups: ['g2'], quiesce: 'off' };
    const found = await runSimulation({ ...options, seed: 10 });
    expect(found.violations.length).toBeGreaterThan(0);
    expect(found.violations.map((v) => [v.kind, v.group])).toEqual(found.violations.map(() => ['stale-read', 'g2']));
    expect(found.violations[0].message).toMatch(/^a lease read on h\d/);
    expect(found.perGroup.map((g) => g.violations)).toEqual([0, found.violations.length]);
    const healthy = await runSimulation({ ...options, plantedBug: undefined, seed: 10 });
    expect(healthy.violations).toEqual([]);
  });

  test('bad options are refused with a clear error', async () => {
    await expect(runSimulation({ seed: 1, groups: 0 })).rejects.toThrow(/groups must be a positive integer/);
    await expect(runSimulation({ seed: 1, groups: 1.5 })).rejects.toThrow(RangeError);
    await expect(runSimulation({ seed: 1, groups: 2, plantedBug: 'stale-lease', plantedBugGroups: ['g3'] })).rejects.toThrow(/plantedBugGroups names g3/);
    expect(() => new HostCluster({ hosts: 3, seed: 1, groups: [] })).toThrow(/at least one group/);
    expect(() => new HostCluster({ hosts: 3, seed: 1, groups: [{ seed: 1, hosts: ['h1', 'h7'] }] })).toThrow(/group g1 must live on some of the hosts h1,h2,h3/);
  });
});
