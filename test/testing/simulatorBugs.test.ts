/**
 * Proof that the simulator can fail: each test plants a bug that real Raft
 * implementations have had — in storage or on the network, or, for the lease rules of
 * issue 14, the fix switched off through a node's test hooks — and asserts that a small
 * sweep catches it, and that the failing seed replays exactly.
 */

import { merge, Observable, SchedulerLike, Subject } from 'rxjs';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import type { HardState, SnapshotMeta } from '../../src/messages/persisted';
import type { SnapshotWriter } from '../../src/storage/storage';
import type { Entry } from '../../src/messages/entry';
import type { Envelope, NodeId, RaftMessage } from '../../src/messages/types';
import type { Transport } from '../../src/transports/transport';
import { ALL_FAULT_CLASSES, runSimulation, SimulationOptions, SimulationResult, ViolationKind } from '../../src/testing';


/** Acknowledges writes at once but makes them durable only at the next sync: a crash loses acknowledged data. */
class AckBeforeSyncStorage extends MemoryStorage {
  override saveHardState(state: HardState): Promise<void> {
    void super.saveHardState(state);
    return Promise.resolve();
  }

  override append(entries: readonly Entry[]): Promise<void> {
    void super.append(entries);
    return Promise.resolve();
  }
}

/** Persists the term but forgets whom it voted for: after a restart the node can vote twice in one term. */
class ForgetfulVoteStorage extends MemoryStorage {
  override saveHardState(state: HardState): Promise<void> {
    return super.saveHardState({ term: state.term, votedFor: null });
  }
}

/** Writes the first snapshot faithfully, then keeps writing that one's data under every later snapshot's name. */
class StaleSnapshotStorage extends MemoryStorage {
  private first: Uint8Array[] | null = null;

  override createSnapshot(meta: SnapshotMeta): SnapshotWriter {
    const inner = super.createSnapshot(meta);
    const chunks: Uint8Array[] = [];
    return {
      write: async (chunk) => {
        chunks.push(new Uint8Array(chunk)); // a copy: the caller may reuse the buffer once this write returns
        if (!this.first) await inner.write(chunk);
      },
      commit: async (options) => {
        if (this.first) for (const chunk of this.first) await inner.write(chunk);
        else this.first = chunks;
        return inner.commit(options);
      },
      abort: () => inner.abort(),
    };
  }
}

/** Wraps a transport, rewriting what the node sends and injecting what it receives. */
function tamper(
  inner: Transport,
  scheduler: SchedulerLike,
  rewrite: (to: NodeId, m: RaftMessage, inject: (from: NodeId, m: RaftMessage) => void) => RaftMessage | null,
  self: NodeId,
): Transport {
  const injected = new Subject<Envelope>();
  // Injected messages are delivered on the scheduler, never synchronously (invariant 1).
  const inject = (from: NodeId, message: RaftMessage) => scheduler.schedule(() => injected.next({ from, to: self, message }));
  const inbound$: Observable<Envelope> = merge(inner.inbound$, injected);
  return {
    inbound$,
    errors$: inner.errors$,
    send: (to, m) => {
      const out = rewrite(to, m, inject);
      if (out) inner.send(to, out);
    },
    close: () => inner.close(),
  };
}

/** n1 grants every vote (and pre-vote) it is asked for, whoever asks and whatever their log. */
const promiscuousVoter: SimulationOptions['cluster'] = {
  transport: (id, t, scheduler) =>
    id !== 'n1'
      ? t
      : tamper(t, scheduler, (_to, m) => (m.type === 'RequestVoteResponse' || (m.type as string) === 'PreVoteResponse' ? { ...m, voteGranted: true } : m), id),
  // Election timeouts close together: candidates often run at once, so split votes are common.
  nodeOptions: { electionTimeout: { min: 150, max: 170 } },
};

/** Every leader believes one follower acknowledged each AppendEntries at once: it commits without a real majority. */
const phantomAcks: SimulationOptions['cluster'] = {
  transport: (id, t, scheduler) =>
    tamper(
      t,
      scheduler,
      (to, m, inject) => {
        if (m.type === 'AppendEntries' && to === (id === 'n1' ? 'n2' : 'n1')) {
          const ack = {
            ...m,
            type: 'AppendEntriesResponse',
            success: true,
            matchIndex: m.prevLogIndex + m.entries.length,
            rejectedIndex: 0,
            conflictIndex: 0,
            conflictTerm: 0,
          } as Record<string, unknown>;
          for (const k of ['leaderId', 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit']) delete ack[k];
          inject(to, ack as unknown as RaftMessage);
        }
        return m;
      },
      id,
    ),
};

/** Runs seeds from `from` (default 1) until one breaks a rule of `expected`; returns it (or throws after seed `max`). */
async function firstFailure(options: Omit<SimulationOptions, 'seed'>, max: number, expected: readonly ViolationKind[], from = 1): Promise<SimulationResult> {
  for (let seed = from; seed <= max; seed++) {
    const r = await runSimulation({ ...options, seed });
    if (r.violations.some((v) => expected.includes(v.kind))) return r;
  }
  throw new Error(`no ${expected.join(' or ')} violation in ${max} seeds`);
}

/** The failing seed replays exactly: same violations, same faults, same history. */
async function expectReplay(options: Omit<SimulationOptions, 'seed'>, found: SimulationResult): Promise<void> {
  const again = await runSimulation({ ...options, seed: found.seed });
  expect(again.violations).toEqual(found.violations);
  expect(again.history).toEqual(found.history);
  expect(again.faults).toEqual(found.faults);
}

describe('the simulator catches planted bugs', () => {
  test('storage that acknowledges writes before they are durable', async () => {
    const options = {
      nodes: 5,
      steps: 30,
      cluster: { storage: (_id: NodeId, scheduler: SchedulerLike, syncDelay: number) => new AckBeforeSyncStorage({ scheduler, syncDelay }) },
    };
    const found = await firstFailure(options, 20, ['durability']);
    console.log(`ack-before-sync caught by seed ${found.seed}: ${found.violations[0].message}`);
    await expectReplay(options, found);
  });

  test('storage that acknowledges before durable, caught through its effects (crash loses committed data)', async () => {
    const options = {
      nodes: 5,
      steps: 30,
      wireChecks: false,
      cluster: { syncDelay: 4, storage: (_id: NodeId, scheduler: SchedulerLike, syncDelay: number) => new AckBeforeSyncStorage({ scheduler, syncDelay }) },
    };
    const found = await firstFailure(options, 20, ['durability', 'state-machine-safety', 'log-matching', 'leader-completeness']);
    console.log(`ack-before-sync (no wire checks) caught by seed ${found.seed}: ${found.violations[0].message}`);
    await expectReplay(options, found);
  });

  test('a node that grants every vote (two votes in one term, votes for stale logs)', async () => {
    const options = { nodes: 5, steps: 30, cluster: promiscuousVoter };
    const found = await firstFailure(options, 60, ['election-safety', 'leader-completeness', 'state-machine-safety']);
    console.log(`promiscuous voter caught by seed ${found.seed}: ${found.violations[0].message}`);
    await expectReplay(options, found);
  });

  test('a leader that commits without a majority', async () => {
    const options = { nodes: 5, steps: 30, cluster: phantomAcks };
    const found = await firstFailure(options, 20, ['durability']);
    console.log(`phantom acks caught by seed ${found.seed}: ${found.violations[0].message}`);
    await expectReplay(options, found);
  });

  test('storage that forgets the vote across a restart', async () => {
    const options = {
      nodes: 3,
      steps: 40,
      faults: ['crash', 'partition', 'network'] as const,
      cluster: { storage: (_id: NodeId, scheduler: SchedulerLike, syncDelay: number) => new ForgetfulVoteStorage({ scheduler, syncDelay }) },
    };
    const found = await firstFailure(options, 20, ['durability', 'election-safety']);
    console.log(`forgotten vote caught by seed ${found.seed}: ${found.violations[0].message}`);
    await expectReplay(options, found);
  });

  test('a lease read served by a deposed leader is caught', async () => {
    // 3 nodes, every get a lease read, over seeds 1-10 (seeds 1, 2 and 6 catch it; seeds 2 and 6 before the local writers).
    // The fix switched off in every node: no leader stickiness, lease reads after TimeoutNow.
    // Storage faults, disk stalls and lost entries are left out: they are not what this bug needs, and they thin out the
    // transfers that find it (with them, one seed of 1-30 does: 27).
    const faults = ALL_FAULT_CLASSES.filter((c) => c !== 'storage' && c !== 'disk-stall' && c !== 'lost-entries');
    const options = { nodes: 3, steps: 30, faults, workload: { reads: 'lease' as const }, plantedBug: 'stale-lease' as const };
    const stale = await firstFailure(options, 10, ['stale-read']);
    console.log(`deposed leader's lease read caught by seed ${stale.seed}: ${stale.violations[0].message}`);
    expect(stale.violations.find((v) => v.kind === 'stale-read')!.message).toMatch(/^a lease read on n\d/);
    await expectReplay(options, stale);

    // Without the stale-read check, the clients' history shows it: a lease read missed a committed write.
    const unchecked = { ...options, readChecks: false };
    const found = await firstFailure(unchecked, 10, ['linearizability']);
    console.log(`deposed leader's lease read caught as a non-linearizable history by seed ${found.seed}`);
    expect(found.linearizability.verdict).toBe('violation');
    await expectReplay(unchecked, found);
  });

  test('a node that lost its hard state and votes at once, without recovering its term (issue 18, finding 6)', async () => {
    // `npm run sim -- --seeds 2000 --nodes 3 --faults storage,crash,network,partition --plant-bug lost-vote`:
    // 37 of 2000 seeds failed, the first seed 102; since the stall grace and CheckQuorum's ticks grew
    // (docs/notes/deposed-leaders.md), 7 of the first 600 fail, the first seed 125; since a repeated probe to a
    // silent follower goes without entries and congested links joined the network's weather (issue 17), 9 of the
    // first 600, the first seed 25; since local writers joined the workload, seed 56 of the first 60; with the recovery
    // on, none does.
    const faults = ['storage', 'crash', 'network', 'partition'] as const;
    const options = { nodes: 3, steps: 30, faults, plantedBug: 'lost-vote' as const };
    const found = await firstFailure(options, 56, ['election-safety', 'log-matching', 'leader-completeness', 'state-machine-safety'], 56);
    console.log(`lost vote caught by seed ${found.seed}: ${found.violations[0].message}`);
    expect(found.faults.map((f) => f.action)).toEqual(expect.arrayContaining([expect.stringMatching(/hard state lost/)]));
    await expectReplay(options, found);
    const recovered = await runSimulation({ nodes: 3, steps: 30, faults, seed: found.seed });
    expect(recovered.violations).toEqual([]);
  });

  test("a leader's own proposal with no deadline, while its followers' disks hang (7a29dc1 undone) is caught as an unsettled promise", async () => {
    // The followers' disks stall (heartbeats answered: the leader keeps its quorum), so
    // nothing the leader appends commits; without the deadline its own proposals wait
    // until the disks come back, past the API's bound (requestTimeout x 5 x 1.25).
    const options = { nodes: 3, steps: 30, faults: ['disk-stall', 'network'] as const, plantedBug: 'no-proposal-deadline' as const };
    const found = await firstFailure(options, 20, ['api-contract']);
    console.log(`proposal without deadline caught by seed ${found.seed}: ${found.violations[0].message}`);
    expect(found.violations[0].message).toMatch(/^n\d's propose of \w+ \(made at [\d.]+ ms\) had not settled after \d+ ms of n\d's running time \(limit 4800 ms\)$/);
    expect(found.faults.map((f) => f.action)).toEqual(expect.arrayContaining([expect.stringMatching(/^disk stall .*every follower of/)]));
    await expectReplay(options, found);
    const fixed = await runSimulation({ ...options, plantedBug: undefined, seed: found.seed });
    expect(fixed.violations).toEqual([]);
  });

  test("a leader whose own disk hangs, its unwritten entries not counted once committed (the bound before this fix), is caught holding past maxUncommittedBytes", async () => {
    // The leader's disk stalls while its followers' do not: entries commit on their copies,
    // and a leader that counts only uncommitted entries keeps taking proposals, holding
    // every one it has not written.
    const options = { nodes: 3, steps: 30, faults: ['disk-stall', 'network'] as const, plantedBug: 'uncounted-leader-writes' as const };
    const found = await firstFailure(options, 60, ['bounds']);
    console.log(`uncounted leader writes caught by seed ${found.seed}: ${found.violations[0].message}`);
    expect(found.violations[0].message).toMatch(/^n\d leads with \d+ bytes of its term not both committed and durable in its log, past maxUncommittedBytes \d+$/);
    expect(found.faults.map((f) => f.action)).toEqual(expect.arrayContaining([expect.stringMatching(/^disk stall/)]));
    await expectReplay(options, found);
    const fixed = await runSimulation({ ...options, plantedBug: undefined, seed: found.seed });
    expect(fixed.violations).toEqual([]);
  });

  test('storage that serves a stale snapshot under a new index', async () => {
    const options = {
      nodes: 5,
      steps: 30,
      snapshots: 'on' as const,
      cluster: { storage: (_id: NodeId, scheduler: SchedulerLike, syncDelay: number) => new StaleSnapshotStorage({ scheduler, syncDelay }) },
    };
    const found = await firstFailure(options, 20, ['state-machine-safety', 'linearizability']);
    console.log(`stale snapshot caught by seed ${found.seed}: ${found.violations[0].message.slice(0, 160)}`);
    await expectReplay(options, found);
  });
});
