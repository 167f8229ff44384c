import { NEVER } from 'rxjs';
import { seededRandom } from '../../src/random';
import {
  ALL_FAULT_CLASSES,
  checkLinearizability,
  formatHistory,
  KvWorkload,
  parseHistory,
  reproduceCommand,
  runSimulation,
  SafetyMonitor,
  TestCluster,
} from '../../src/testing';

describe('runSimulation', () => {
  test('one seed decides everything: a run replays exactly', async () => {
    const a = await runSimulation({ seed: 11, nodes: 5, steps: 15 });
    const b = await runSimulation({ seed: 11, nodes: 5, steps: 15 });
    expect(b.faults).toEqual(a.faults);
    expect(b.history).toEqual(a.history);
    expect(b.violations).toEqual(a.violations);
    expect(b.virtualTime).toBe(a.virtualTime);
    const c = await runSimulation({ seed: 12, nodes: 5, steps: 15 });
    expect(c.faults).not.toEqual(a.faults);
  });

  test('an even cluster that shrinks is judged by the majority of its configuration: seed 1 at 4 nodes removes a member and commits on 2 of the 3 voters left', async () => {
    // The monitor once required a majority of all 4 nodes (3) even after a removal left
    // 3 voters, and reported durability violations that were not (seeds 8, 12, 18, 19).
    // Seed 12, not 8: since the stall grace and CheckQuorum's ticks grew (docs/notes/deposed-leaders.md), seed 8 removes nobody;
    // seed 2, not 12, since congested links joined the network's weather (it draws more numbers); seed 1, not 2, since
    // disk stalls, lost entries and local writers joined.
    const r = await runSimulation({ seed: 1, nodes: 4, steps: 30 });
    expect(r.faults.some((f) => f.action.startsWith('membership: remove '))).toBe(true);
    expect(r.violations).toEqual([]);
  });

  test('a clean run: faults of every class, no violation, a linearizable history', async () => {
    const r = await runSimulation({ seed: 4, nodes: 5, steps: 40 });
    expect(r.violations).toEqual([]);
    expect(r.linearizability.verdict).toBe('ok');
    const kinds = new Set(r.faults.map((f) => f.action.split(' ')[0]));
    expect(kinds.size).toBeGreaterThanOrEqual(6);
    expect(r.ops.ok).toBeGreaterThan(100);
    expect(r.elections).toBeGreaterThan(1);
    expect(r.command).toBe('npm run sim -- --seeds 1 --from 4 --nodes 5 --steps 40');
  });

  test('the recorded history is valid JSONL with monotone virtual times, and the checker reads it back', async () => {
    const r = await runSimulation({ seed: 5, nodes: 3, steps: 20 });
    const text = formatHistory(r.history);
    const parsed = parseHistory(text);
    expect(parsed).toEqual(r.history);
    for (const op of parsed) if (op.return !== null) expect(op.return).toBeGreaterThan(op.call);
    // Within one client id, operations are sequential.
    const byClient = new Map<number, number>();
    for (const op of [...parsed].sort((x, y) => x.call - y.call)) {
      expect(op.call).toBeGreaterThan(byClient.get(op.client) ?? -1);
      byClient.set(op.client, op.return ?? Infinity);
    }
    expect(parsed.some((op) => op.return === null)).toBe(true);
    expect(checkLinearizability(parsed).verdict).toBe('ok');
  });

  test('every read path is exercised: log gets, ReadIndex and lease reads, sessions and plain clients', async () => {
    for (const reads of ['log', 'index', 'lease'] as const) {
      for (const sessions of ['none', 'all'] as const) {
        const r = await runSimulation({ seed: 21, nodes: 3, steps: 15, workload: { reads, sessions } });
        expect({ reads, sessions, violations: r.violations }).toEqual({ reads, sessions, violations: [] });
        expect(r.history.filter((op) => op.op === 'get' && op.return !== null).length).toBeGreaterThan(5);
      }
    }
  });

  test('with snapshots: nodes compact, restore and install snapshots; every restored state matches the log', async () => {
    let restores = 0;
    for (let seed = 1; seed <= 4; seed++) {
      // Membership faults are left out: this test is about snapshots.
      const faults = ALL_FAULT_CLASSES.filter((f) => f !== 'membership' && f !== 'transfer');
      const r = await runSimulation({ seed, nodes: 5, steps: 30, snapshots: 'on', faults });
      expect(r.violations).toEqual([]);
      expect(r.snapshots.policy).not.toBeNull();
      restores += r.snapshots.restores;
    }
    expect(restores).toBeGreaterThan(4);
  });

  test('chunk-loss faults (opt-in): snapshot chunks to a node lost, reported, for a while; transfers given up and started over keep every rule', async () => {
    let losses = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const r = await runSimulation({ seed, nodes: 3, steps: 30, snapshots: 'on', faults: ['network', 'partition', 'crash', 'chunk-loss'] });
      expect(r.violations).toEqual([]);
      expect(r.linearizability.verdict).toBe('ok');
      losses += r.faults.filter((f) => f.action.startsWith('chunk loss')).length;
    }
    expect(losses).toBeGreaterThan(4);
    expect(ALL_FAULT_CLASSES).not.toContain('chunk-loss'); // the default runs keep their schedules
  });

  test('the linearizability checker sees the recorded history: a client that retries blindly is caught', async () => {
    // Planted client bug: retrying a command whose outcome is unknown, without a session.
    const options = { nodes: 5, steps: 30, workload: { sessions: 'none', unsafeRetries: true } } as const;
    let found;
    for (let seed = 1; seed <= 30 && !found; seed++) {
      const r = await runSimulation({ ...options, seed });
      if (r.violations.some((v) => v.kind === 'linearizability')) found = r;
    }
    expect(found).toBeDefined();
    expect(found!.linearizability.verdict).toBe('violation');
    // The same clients with sessions retry safely.
    const safe = await runSimulation({ ...options, seed: found!.seed, workload: { sessions: 'all' } });
    expect(safe.violations).toEqual([]);
  });

  test('a search over budget is "unknown", never "ok", and not a violation', async () => {
    const r = await runSimulation({ seed: 5, nodes: 3, steps: 20, linearizabilityBudget: 1 });
    expect(r.linearizability.verdict).toBe('unknown');
    expect(r.violations).toEqual([]);
  });

  test('liveness: a cluster that cannot elect after the faults stop is reported', async () => {
    // Planted: n1 and n2 never hear anything, so no majority of 3 can form once faults stop.
    const r = await runSimulation({
      seed: 1,
      nodes: 3,
      steps: 2,
      livenessTimeout: 2000,
      cluster: {
        transport: (id, t) =>
          id === 'n3' ? t : { inbound$: NEVER, errors$: t.errors$, send: (to, m) => t.send(to, m), close: () => t.close() },
      },
    });
    expect(r.violations.map((v) => v.kind)).toContain('liveness');
  });

  test('the stale-read check stays quiet where reads are sound: ReadIndex reads under every fault class', async () => {
    let reads = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const r = await runSimulation({ seed, nodes: 3, steps: 20, workload: { reads: 'index' } });
      expect({ seed, violations: r.violations }).toEqual({ seed, violations: [] });
      reads += r.history.filter((op) => op.op === 'get' && op.return !== null).length;
    }
    expect(reads).toBeGreaterThan(200);
  });

  test('reproduceCommand names every option the CLI can replay', () => {
    expect(
      reproduceCommand({
        seed: 9,
        nodes: 3,
        steps: 50,
        clients: 6,
        faults: ['crash', 'pause'],
        snapshots: 'on',
        workload: { sessions: 'all', reads: 'lease' },
        entryRuns: 'on',
        cluster: { nodeOptions: { forward: false, eagerCommitNotices: false } as object },
        readChecks: false,
      }),
    ).toBe('npm run sim -- --seeds 1 --from 9 --nodes 3 --steps 50 --clients 6 --faults crash,pause --snapshots on --sessions all --reads lease --entry-runs on --no-forward --lazy-commit-notices --no-read-checks');
  });
});

describe('TestCluster faults the simulator relies on', () => {
  test('a paused leader handles nothing; the others elect a new one; on resume it steps down', async () => {
    const c = new TestCluster({ nodes: 3, seed: 2 });
    const old = await c.waitForLeader();
    const term = c.status(old)!.term;
    c.pause(old);
    const frozen = c.status(old);
    await c.waitFor(() => c.ids.some((id) => id !== old && c.status(id)?.role === 'leader'), 3000);
    expect(c.status(old)).toBe(frozen); // not even a timer fired
    expect(c.scheduler(old).heldCount).toBeGreaterThan(0);
    c.resume(old);
    await c.waitFor(() => c.status(old)!.role === 'follower' && c.status(old)!.term > term, 1000);
    await c.stop();
  });

  test('a crash loses unsynced writes; the restarted node replays its durable log', async () => {
    const c = new TestCluster({ nodes: 3, seed: 4, syncDelay: 5 });
    const leader = await c.waitForLeader();
    await c.propose(leader, 'a');
    await c.clock.advance(100);
    const follower = c.ids.find((id) => id !== leader)!;
    const durable = c.storage(follower).durableEntries().length;
    // Propose, and crash the follower right after it received the entry but before its sync.
    void c.node(leader).propose(new TextEncoder().encode('b'));
    await c.waitFor(() => (c.status(follower)?.lastIndex ?? 0) > durable, 100, 0.5);
    c.crash(follower);
    expect(c.storage(follower).durableEntries().length).toBe(durable);
    c.start(follower);
    await c.waitFor(() => c.committedData(follower).length === 2, 2000);
    expect(c.committedData(follower)).toEqual(['a', 'b']);
    await c.stop();
  });
});

describe('SafetyMonitor and KvWorkload on their own', () => {
  test('a healthy cluster under a steady workload: no violation, every node converges', async () => {
    const c = new TestCluster({ nodes: 3, seed: 8 });
    const monitor = new SafetyMonitor(c);
    const workload = new KvWorkload(c, { random: seededRandom(8), clients: 3 });
    workload.start();
    await c.clock.advance(2000, () => monitor.checkStorage());
    workload.stop();
    await c.clock.advance(1500, () => monitor.checkStorage());
    monitor.checkConvergence();
    expect(monitor.violations).toEqual([]);
    expect(workload.stats.ok).toBeGreaterThan(50);
    expect(checkLinearizability(workload.history).verdict).toBe('ok');
    await c.stop();
  });
});
