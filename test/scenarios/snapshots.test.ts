/**
 * Log compaction and InstallSnapshot (Raft dissertation ch. 5) on virtual time.
 */
import { firstValueFrom } from 'rxjs';
import { kvCluster } from './kvMachine';
import { outcome } from './outcome';

const policy = { everyEntries: 50, keepEntries: 10, chunkBytes: 64 };

async function write(c: ReturnType<typeof kvCluster>['c'], leader: string, from: number, to: number, pad = 0) {
  for (let i = from; i < to; i++) await c.propose(leader, `k${i % 37}=v${i}${'.'.repeat(pad)}`);
}

/** Heals the partition and hands leadership to `target`: done within one (maximum) election timeout of the heal. */
async function healAndTransfer(c: ReturnType<typeof kvCluster>['c'], leader: string, target: string) {
  c.hub.heal();
  const healedAt = c.clock.now();
  const r = await outcome(c, c.node(leader).transferLeadership(target), 2000);
  expect(r.ok).toBe(true);
  expect(r.at - healedAt).toBeLessThanOrEqual(300);
  expect(c.status(target)?.role).toBe('leader');
}

describe('snapshots', () => {
  test('the log is compacted by policy and the snapshot holds the state', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 71, nodeOptions: { snapshot: policy } });
    const leader = await c.waitForLeader();
    // Values of ~20 bytes over 37 keys: 50 entries outweigh the state, so everyEntries decides.
    await write(c, leader, 0, 120, 16);
    await c.clock.advance(100);
    for (const id of c.ids) {
      const snap = c.storage(id).durableSnapshot();
      expect(snap?.index).toBeGreaterThanOrEqual(100);
      expect(c.storage(id).durableEntries()[0].index).toBeGreaterThan(snap!.index - policy.keepEntries - 1);
      expect(machine(id).map).toEqual(machine(leader).map);
    }
    await c.stop();
  });

  test('memory is bounded by the policy, not by history: the log each node holds stays within everyEntries since the snapshot plus keepBytes behind it', async () => {
    // Entries of ~110 bytes: keepEntries (200) alone would keep ~22 KB behind each snapshot;
    // keepBytes caps that tail at 1,500 bytes.
    const bounded = { everyEntries: 50, keepEntries: 200, keepBytes: 1_500, chunkBytes: 256 };
    const { c, machine } = kvCluster({ nodes: 3, seed: 79, nodeOptions: { snapshot: bounded } });
    const leader = await c.waitForLeader();
    const pad = '.'.repeat(100);
    const entryBytes = `k0=v0${pad}`.length + 4;
    // The tail behind the snapshot, plus what arrived since it: up to everyEntries applied
    // before the next snapshot is taken, and as many again while it is being written.
    const bound = bounded.keepBytes + 2 * bounded.everyEntries * entryBytes;
    const held = { entries: 0, bytes: 0 };
    for (let i = 0; i < 1_000; i++) {
      await c.propose(leader, `k${i % 37}=v${i}${pad}`);
      for (const id of c.ids) {
        const h = c.replication(id).held;
        held.entries = Math.max(held.entries, h.entries);
        held.bytes = Math.max(held.bytes, h.bytes);
      }
    }
    await c.clock.advance(100);
    expect(1_000 * entryBytes).toBeGreaterThan(8 * bound); // history is far larger than the bound
    expect(held.bytes).toBeLessThanOrEqual(bound);
    expect(held.entries).toBeLessThan(bounded.keepEntries); // the byte cap, not the count, decided
    for (const id of c.ids) {
      expect(c.replication(id).snapshotIndex).toBeGreaterThanOrEqual(900);
      expect(machine(id).map).toEqual(machine(leader).map);
    }
    await c.stop();
  });

  test('snapshots write no more than the log they replace: with a state larger than everyBytes, a snapshot waits for as many command bytes as the last one held', async () => {
    // 200 keys of ~1 KB: a ~200 KB state; everyBytes 20 KB would otherwise snapshot it every 20 entries.
    const bySize = { everyEntries: 1_000_000, everyBytes: 20_000, keepEntries: 0, chunkBytes: 4096 };
    const { c, machine } = kvCluster({ nodes: 3, seed: 83, nodeOptions: { snapshot: bySize } });
    const leader = await c.waitForLeader();
    const pad = '.'.repeat(1000);
    let logBytes = 0;
    const taken: number[] = [];
    for (let i = 0; i < 1_200; i++) {
      const command = `k${i % 200}=v${i}${pad}`;
      logBytes += command.length;
      await c.propose(leader, command);
      const index = c.storage(leader).durableSnapshot()?.index ?? 0;
      if (index > (taken[taken.length - 1] ?? 0)) taken.push(index);
    }
    const stateBytes = [...machine(leader).snapshot()].reduce((n, b) => n + b.byteLength, 0);
    expect(stateBytes).toBeGreaterThan(10 * bySize.everyBytes);
    // By everyBytes alone: a snapshot every 20 entries, 60 in all. Here a fraction of that,
    // and once the state stopped growing, one per state's worth of commands.
    expect(taken.length).toBeLessThan(logBytes / bySize.everyBytes / 4);
    const steady = taken.filter((index) => index > 400);
    expect(steady.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < steady.length; i++) expect((steady[i] - steady[i - 1]) * (pad.length + 8)).toBeGreaterThanOrEqual(0.9 * stateBytes);
    for (const id of c.ids) expect(machine(id).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test.each([
    ['by default the floor holds: no snapshot in 200 entries, ten times everyEntries', 100, (moved: number) => expect(moved).toBe(0)],
    ['minLogPercent 0: the counts alone decide, a snapshot every 20 entries', 0, (moved: number) => expect(moved).toBeGreaterThanOrEqual(180)],
  ])('everyEntries waits for the same floor: a large state under small writes (%s)', async (_, minLogPercent, expectMoved) => {
    const byCount = { everyEntries: 20, keepEntries: 0, chunkBytes: 4096, minLogPercent };
    const { c, machine } = kvCluster({ nodes: 3, seed: 84, nodeOptions: { snapshot: byCount } });
    const leader = await c.waitForLeader();
    for (let i = 0; i < 300; i++) await c.propose(leader, `big${i}=${'.'.repeat(1000)}`); // a ~300 KB state
    const stateBytes = [...machine(leader).snapshot()].reduce((n, b) => n + b.byteLength, 0);
    const before = c.storage(leader).durableSnapshot()!.index;
    for (let i = 0; i < 200; i++) await c.propose(leader, `k${i % 5}=v${i}`); // ~10 bytes each: 2 KB in all
    expect(200 * 10).toBeLessThan(stateBytes / 100);
    expectMoved(c.storage(leader).durableSnapshot()!.index - before);
    for (const id of c.ids) expect(machine(id).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('a follower far behind catches up through a snapshot of over 100 chunks; heartbeats keep it from campaigning', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 72, nodeOptions: { snapshot: policy } });
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    await write(c, leader, 0, 400, 200);
    const snap = c.storage(leader).durableSnapshot()!;
    expect(c.storage(leader).durableEntries()[0].index).toBeGreaterThan(1); // compacted: entries 1.. are gone
    const term = c.status(leader)!.term;
    c.hub.heal();
    c.hub.setFaults({ delay: { min: 2, max: 4 } }); // a slow transfer: many heartbeat intervals long
    await c.waitFor(() => machine(lagging).restores.length > 0, 10_000);
    expect(machine(lagging).restores[0].index).toBeGreaterThanOrEqual(snap.index);
    const chunks = [...machine(leader).snapshot()].reduce((n, b) => n + b.byteLength, 0) / policy.chunkBytes;
    expect(chunks).toBeGreaterThan(100);
    await c.waitFor(() => machine(lagging).appliedIndex === machine(leader).appliedIndex, 5000);
    expect(machine(lagging).map).toEqual(machine(leader).map);
    expect(c.status(leader)).toMatchObject({ role: 'leader', term }); // no election during the transfer
    // committed$ continued after the snapshot: later commands arrive as entries.
    await c.propose(leader, 'after=1');
    await c.waitFor(() => machine(lagging).map.get('after') === '1');
    await c.stop();
  });

  test('a follower catches up through a snapshot while writes go on faster than the transfer: the leader keeps the entries it needs', async () => {
    // Without that, every transfer ends behind the leader's next snapshot (taken every 20
    // entries, keeping 5) and the follower is sent snapshot after snapshot, forever.
    const tight = { everyEntries: 20, keepEntries: 5, chunkBytes: 64 };
    const { c, machine } = kvCluster({ nodes: 3, seed: 78, nodeOptions: { snapshot: tight } });
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    await write(c, leader, 0, 200, 100);
    c.hub.heal();
    c.hub.setFaults({ delay: { min: 2, max: 4 } }); // a transfer of ~100 chunks: hundreds of ms
    let writing = true;
    let written = 0;
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        await c.node(leader).propose(new TextEncoder().encode(`w${w}=${i}`)).then(() => written++, () => undefined);
      }
    };
    const writers = Array.from({ length: 16 }, (_, w) => writer(w));
    // Caught up: applied what the leader had applied when it was checked, while writes go on.
    await c.waitFor(() => machine(lagging).restores.length > 0, 10_000);
    const target = machine(leader).appliedIndex;
    await c.waitFor(() => machine(lagging).appliedIndex >= target, 10_000);
    expect(written).toBeGreaterThan(100); // the writes really did outpace the snapshot cadence
    expect(machine(lagging).restores.length).toBe(1);
    writing = false;
    await c.waitFor(() => machine(lagging).appliedIndex === machine(leader).appliedIndex, 5000);
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
    await Promise.all(writers);
  });

  test('a restart restores the snapshot, then replays the tail of the log', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 73, nodeOptions: { snapshot: policy } });
    const leader = await c.waitForLeader();
    await write(c, leader, 0, 130);
    await c.clock.advance(100);
    const before = new Map(machine(leader).map);
    const node = c.ids.find((id) => id !== leader)!;
    await c.restart(node);
    await c.waitFor(() => machine(node).restores.length === 1 && machine(node).appliedIndex === machine(leader).appliedIndex, 3000);
    expect(machine(node).map).toEqual(before);
    const snapIndex = c.storage(node).durableSnapshot()!.index;
    const replayed = c.committedRunsOf(node)[1];
    expect(replayed[0].index).toBeGreaterThan(snapIndex); // committed$ continues from the snapshot
    await c.stop();
  });

  test('a crash in the middle of a snapshot install: the transfer starts over and completes', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 74, nodeOptions: { snapshot: policy } });
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    await write(c, leader, 0, 300);
    c.hub.heal();
    c.hub.setFaults({ delay: { min: 3, max: 3 } });
    await c.clock.advance(60); // some chunks are in
    expect(machine(lagging).restores).toHaveLength(0);
    c.crash(lagging);
    await c.clock.advance(200);
    await c.restart(lagging);
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('a crash while a snapshot is being created leaves the old state usable', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 75, nodeOptions: { snapshot: policy } });
    const leader = await c.waitForLeader();
    await write(c, leader, 0, 40); // entries 2..41 (1 is the leader's no-op)
    const node = c.ids.find((id) => id !== leader)!;
    expect(machine(node).appliedIndex).toBeLessThan(50);
    // The 50th entry triggers a snapshot on every node; crash one before it can finish.
    c.node(node).committed$.subscribe((e) => {
      if (e.index >= 50 && c.isRunning(node)) c.crash(node);
    });
    await write(c, leader, 40, 52);
    expect(c.isRunning(node)).toBe(false);
    expect(c.storage(node).durableSnapshot()).toBeNull();
    await c.restart(node);
    await write(c, leader, 52, 60);
    await c.waitFor(() => machine(node).map.size > 0 && machine(node).appliedIndex === machine(leader).appliedIndex, 5000);
    expect(machine(node).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('compaction while replication is under way, with loss and reordering', async () => {
    const { c, machine } = kvCluster({
      nodes: 5,
      seed: 76,
      faults: { drop: 0.05, reorder: 0.2, delay: { min: 1, max: 8 } },
      nodeOptions: { snapshot: { everyEntries: 20, keepEntries: 3, chunkBytes: 32 } },
    });
    const leader = await c.waitForLeader();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => outcome(c, c.node(leader).propose(new TextEncoder().encode(`k${i % 13}=v${i}`)), 20_000)));
    expect(results.every((r) => r.ok)).toBe(true);
    c.hub.setFaults({});
    await c.waitFor(() => c.ids.every((id) => machine(id).appliedIndex === machine(leader).appliedIndex), 10_000);
    for (const id of c.ids) expect(machine(id).map).toEqual(machine(leader).map);
    expect(c.storage(leader).durableSnapshot()!.index).toBeGreaterThan(150);
    await c.stop();
  });

  test('members$ survives compaction: the configuration is kept in the snapshot', async () => {
    const { c } = kvCluster({ nodes: 3, seed: 77, nodeOptions: { snapshot: policy } });
    const leader = await c.waitForLeader();
    c.join('n4');
    await outcome(c, c.node(leader).addLearner('n4', 'mem://n4'));
    await write(c, leader, 0, 130);
    const n2 = c.ids.find((id) => id !== leader)!;
    await c.restart(n2);
    const m = await firstValueFrom(c.node(n2).members$);
    expect(m).toMatchObject({ learners: ['n4'], addresses: { n4: 'mem://n4' } });
    await c.stop();
  });
});

describe('a follower that needs a snapshot and is down costs the leader no snapshot reads (issue 17)', () => {
  const heartbeatInterval = 50;
  // The leader's chunk reads: the transfer pipeline's (the only reader of its snapshot while it leads).
  const chunkReads = (c: ReturnType<typeof kvCluster>['c'], id: string) => c.storage(id).reads.snapshotChunks;

  test('isolated for 400 heartbeat intervals with a write in each, it costs at most one transfer start (2 chunk reads), then installs the snapshot and catches up once healed', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 1711, nodeOptions: { heartbeatInterval, snapshot: policy } });
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    await write(c, leader, 0, 200, 100); // compacted past its log: it needs the snapshot
    const before = chunkReads(c, leader);
    for (let i = 200; i < 600; i++) {
      await write(c, leader, i, i + 1, 100); // new snapshots are taken meanwhile
      await c.clock.advance(heartbeatInterval);
    }
    expect(c.replication(leader).progress!.get(lagging)!.state).toBe('snapshot');
    // 80 before: chunk 0 and the chunk after it each time the transfer started over (every 10 ticks).
    expect(chunkReads(c, leader) - before).toBeLessThanOrEqual(2);
    c.hub.heal();
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(chunkReads(c, leader) - before).toBeGreaterThan(2); // read once it answered
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('cut off in the middle of a transfer: nothing more is read while it is away, and a leadership transfer to it completes within an election timeout of healing', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 1712, nodeOptions: { heartbeatInterval, snapshot: policy } });
    const leader = await c.waitForLeader();
    const target = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(target);
    await write(c, leader, 0, 200, 100);
    c.hub.heal();
    c.hub.setFaults({ delay: { min: 2, max: 4 } }); // a transfer of many chunks: hundreds of ms
    await c.waitFor(() => (c.replication(leader).progress!.get(target)!.snapshot?.chunk ?? 0) >= 5, 5_000, 1);
    c.hub.isolate(target);
    c.hub.setFaults({});
    await c.clock.advance(heartbeatInterval); // the chunk in flight (and its lookahead read) settles
    const before = chunkReads(c, leader);
    await c.clock.advance(200 * heartbeatInterval);
    expect(chunkReads(c, leader) - before).toBe(0); // 40 before: a new start every 10 ticks
    const away = c.node(leader).followers()!.find((f) => f.id === target)!;
    expect(away).toMatchObject({ state: 'snapshot', snapshot: { parked: true } });
    expect(away.snapshot!.chunk).toBeGreaterThanOrEqual(5); // where it stopped; it starts over when the follower answers
    expect(machine(target).restores).toEqual([]);
    await healAndTransfer(c, leader, target);
    await c.waitFor(() => machine(target).appliedIndex === machine(leader).appliedIndex, 5_000);
    expect(machine(target).map).toEqual(machine(leader).map);
    await c.stop();
  });
});

describe('members that need a snapshot while they are down (issue 17, ch. 4)', () => {
  const heartbeatInterval = 50;
  const robust = { heartbeatInterval, snapshot: policy, preVote: true, checkQuorum: true };

  test('a learner added while it is cut off costs no chunk reads; once back it catches up through the snapshot and is promoted; the leader keeps leading meanwhile (CheckQuorum)', async () => {
    const { c, machine } = kvCluster({ nodes: 3, seed: 1713, nodeOptions: robust });
    const leader = await c.waitForLeader();
    const term = c.status(leader)!.term;
    c.join('n4');
    c.hub.isolate('n4');
    expect((await outcome(c, c.node(leader).addLearner('n4'))).ok).toBe(true);
    await write(c, leader, 0, 200, 100);
    const before = c.storage(leader).reads.snapshotChunks;
    await c.clock.advance(200 * heartbeatInterval);
    expect(c.node(leader).followers()!.find((f) => f.id === 'n4')).toMatchObject({ state: 'snapshot', snapshot: { chunk: 0, parked: true } });
    expect(c.storage(leader).reads.snapshotChunks - before).toBe(0);
    expect(c.status(leader)).toMatchObject({ role: 'leader', term });
    c.hub.heal();
    await c.waitFor(() => machine('n4').restores.length > 0 && machine('n4').appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(c.node(leader).followers()!.find((f) => f.id === 'n4')).toMatchObject({ state: 'replicating', snapshot: null });
    const promoted = await outcome(c, c.node(leader).promote('n4'), 5_000);
    expect(promoted.ok && promoted.value.voters).toContain('n4');
    expect(machine('n4').map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('a member removed while it is down and needs a snapshot costs no chunk reads; once back it gets the snapshot and its removal, and the leader forgets it', async () => {
    const { c } = kvCluster({ nodes: 4, seed: 1714, nodeOptions: robust });
    const leader = await c.waitForLeader();
    const gone = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(gone);
    await write(c, leader, 0, 200, 100);
    const removed = await outcome(c, c.node(leader).removeMember(gone));
    expect(removed.ok && removed.value.voters).not.toContain(gone);
    const before = c.storage(leader).reads.snapshotChunks;
    await c.clock.advance(200 * heartbeatInterval);
    expect(c.replication(leader).progress!.get(gone)!.state).toBe('snapshot'); // kept until it stores its removal
    expect(c.storage(leader).reads.snapshotChunks - before).toBe(0);
    c.hub.heal();
    await c.waitFor(() => !c.replication(leader).progress!.has(gone), 10_000);
    expect(c.storage(gone).durableSnapshot()!.index).toBeGreaterThan(0);
    await c.stop();
  });
});

describe('leadership transfer to a follower catching up through a snapshot (§3.10, ch. 5)', () => {
  test('completes soon after the network heals, although the transfer started during the partition', async () => {
    let chunkSentAt = -1;
    const { c, machine } = kvCluster({
      nodes: 3,
      seed: 79,
      nodeOptions: { snapshot: policy },
      transport: (_id, inner, scheduler) => ({
        ...inner,
        send: (to, m) => {
          if (m.type === 'InstallSnapshot') chunkSentAt = scheduler.now();
          inner.send(to, m);
        },
      }),
    });
    const leader = await c.waitForLeader();
    const target = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(target);
    await write(c, leader, 0, 200); // compacted past the target's log: it needs the snapshot
    // The transfer starts while the target is cut off: parked, its first chunk waits for the target's answer.
    await c.waitFor(() => c.replication(leader).progress!.get(target)!.state === 'snapshot', 1000, 1);
    await c.clock.advance(1);
    expect(chunkSentAt).toBe(-1);
    expect(c.storage(leader).durableEntries()[0].index).toBeGreaterThan(machine(target).appliedIndex + 1);
    await healAndTransfer(c, leader, target);
    await c.stop();
  });
});

describe('a snapshot transfer goes on where it stopped after a lost chunk or a short silence (issue 17 follow-up)', () => {
  const heartbeatInterval = 50;

  /** A cluster whose leader's InstallSnapshot messages are recorded as sent, with when (before the network: a dropped one counts). */
  function recordingChunks(seed: number) {
    const chunksSent: { to: string; chunk: number; index: number; at: number }[] = [];
    const { c, machine } = kvCluster({
      nodes: 3,
      seed,
      nodeOptions: { heartbeatInterval, snapshot: policy },
      transport: (_id, inner, scheduler) => ({
        ...inner,
        send: (to, m) => {
          if (m.type === 'InstallSnapshot') chunksSent.push({ to, chunk: m.chunk, index: m.lastIncludedIndex, at: scheduler.now() });
          inner.send(to, m);
        },
      }),
    });
    return { c, machine, chunksSent };
  }

  /** Cuts a follower off while the leader writes past its log, then heals: it needs the snapshot. */
  async function laggingBehindSnapshot(c: ReturnType<typeof kvCluster>['c']) {
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.hub.isolate(lagging);
    await write(c, leader, 0, 200, 100);
    const progress = () => c.node(leader).followers()!.find((f) => f.id === lagging)!;
    expect(progress()).toMatchObject({ state: 'snapshot', snapshot: { parked: true } }); // it answered nothing: nothing read or sent
    // Its first answer starts the parked transfer over: one more start, the last one expected.
    const transfers = progress().snapshotTransfers + 1;
    c.hub.heal();
    return { leader, lagging, progress, transfers };
  }

  test('a chunk after chunk 0 lost once, unreported, is sent again while the follower answers heartbeats, and the transfer completes with a single chunk 0', async () => {
    const { c, machine, chunksSent } = recordingChunks(1721);
    const { leader, lagging, progress, transfers } = await laggingBehindSnapshot(c);
    // Held for ever: lost without a loss report (the hub reports the messages it drops).
    const lost = c.hub.intercept((e) => e.to === lagging && e.message.type === 'InstallSnapshot' && e.message.chunk === 3, 'hold', { times: 1 });
    await c.waitFor(() => lost.seen.length === 1, 5_000, 1);
    expect(progress()).toMatchObject({ state: 'snapshot', snapshot: { chunk: 3, parked: false }, snapshotChunksResent: 0 });
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    const toLagging = chunksSent.filter((s) => s.to === lagging);
    expect(toLagging.filter((s) => s.chunk === 0)).toHaveLength(1); // before: parked at the 10th tick, then started over
    expect(toLagging.filter((s) => s.chunk === 3)).toHaveLength(2);
    expect(progress()).toMatchObject({ state: 'replicating', snapshot: null, snapshotTransfers: transfers, snapshotChunksResent: 1 });
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('a chunk the transport reports lost (Transport.lost$, as TCP does when a connection drops) is sent again at the next heartbeat tick, not after 10', async () => {
    const { c, machine, chunksSent } = recordingChunks(1721);
    const { leader, lagging, progress, transfers } = await laggingBehindSnapshot(c);
    const lost = c.hub.intercept((e) => e.to === lagging && e.message.type === 'InstallSnapshot' && e.message.chunk === 3, 'drop', { times: 1 });
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(lost.seen).toHaveLength(1);
    const toLagging = chunksSent.filter((s) => s.to === lagging);
    const chunk3 = toLagging.filter((s) => s.chunk === 3);
    expect(chunk3).toHaveLength(2);
    expect(chunk3[1].at - chunk3[0].at).toBeLessThanOrEqual(heartbeatInterval); // before: 10 intervals (the stall)
    expect(toLagging.filter((s) => s.chunk === 0)).toHaveLength(1);
    expect(progress()).toMatchObject({ state: 'replicating', snapshot: null, snapshotTransfers: transfers, snapshotChunksResent: 1, snapshotTransfersAbandoned: 0 });
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('chunk 0 lost is sent again from memory: every chunk of the snapshot is read once', async () => {
    const { c, machine, chunksSent } = recordingChunks(1724);
    const { leader, lagging } = await laggingBehindSnapshot(c);
    const before = c.storage(leader).reads.snapshotChunks;
    const lost = c.hub.intercept((e) => e.to === lagging && e.message.type === 'InstallSnapshot' && e.message.chunk === 0, 'drop', { times: 1 });
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(lost.seen).toHaveLength(1);
    const toLagging = chunksSent.filter((s) => s.to === lagging);
    expect(toLagging.filter((s) => s.chunk === 0)).toHaveLength(2);
    expect(new Set(toLagging.map((s) => s.index)).size).toBe(1); // one snapshot, one transfer
    // Before: the resent chunk 0 opened a fresh reader, which read chunks 0 and 1 again.
    expect(c.storage(leader).reads.snapshotChunks - before).toBe(new Set(toLagging.map((s) => s.chunk)).size);
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('a follower that answers heartbeats but never takes a chunk: the transfer is given up after five resends, visibly, holds no reader while parked, starts over after a wait that doubles, and completes once the chunk gets through', async () => {
    const { c, machine, chunksSent } = recordingChunks(1725);
    const { leader, lagging, progress } = await laggingBehindSnapshot(c);
    const refused = c.hub.intercept((e) => e.to === lagging && e.message.type === 'InstallSnapshot' && e.message.chunk === 3, 'drop'); // every time, each loss reported
    await c.waitFor(() => progress().snapshot?.abandoned === true, 5_000, 1);
    expect(progress()).toMatchObject({ state: 'snapshot', snapshot: { chunk: 3, parked: true }, snapshotTransfersAbandoned: 1 });
    expect(refused.seen).toHaveLength(6); // sent, then five resends
    await c.clock.advance(1);
    expect(c.storage(leader).reads.openSnapshotReads).toBe(0); // before: its reader stayed open for as long as the leader led
    const startedAt = c.clock.now();
    await c.clock.advance(1000 * heartbeatInterval);
    const toLagging = chunksSent.filter((s) => s.to === lagging && s.at >= startedAt);
    // Started over at the answer after each wait (10, 20, 40, ... intervals, at most 320), each start given up again 6 intervals later.
    const starts = toLagging.filter((s) => s.chunk === 0).map((s) => Math.round((s.at - startedAt) / heartbeatInterval));
    expect(starts.slice(1).map((at, i) => at - starts[i])).toEqual([26, 46, 86, 166, 326, 326]);
    expect(progress().snapshotTransfersAbandoned).toBe(8);
    // 63 chunks sent in 1,000 intervals (chunks 0-2 and six sends of chunk 3 per start); before: chunk 3 sent every
    // 10 intervals (100 times) with a reader open throughout, and at every interval (1,000) once losses were reported.
    expect([toLagging.filter((s) => s.chunk === 3).length, toLagging.length]).toEqual([42, 63]);
    expect(c.status(leader)?.role).toBe('leader');
    refused.remove();
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 400 * heartbeatInterval);
    expect(progress()).toMatchObject({ state: 'replicating', snapshot: null, snapshotTransfersAbandoned: 8 });
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  test('cut off for a few heartbeat intervals in the middle of a transfer: the awaited chunk is sent again at its first answer, with a single chunk 0', async () => {
    const { c, machine, chunksSent } = recordingChunks(1722);
    const { leader, lagging, progress, transfers } = await laggingBehindSnapshot(c);
    c.hub.setFaults({ delay: { min: 2, max: 4 } }); // a transfer of many chunks: hundreds of ms
    await c.waitFor(() => (progress().snapshot?.chunk ?? 0) >= 5, 5_000, 1);
    c.hub.isolate(lagging);
    await c.clock.advance(4 * heartbeatInterval); // less than the 10 ticks after which it would be parked
    expect(progress().snapshot).toMatchObject({ parked: false });
    c.hub.heal();
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, 10_000);
    expect(chunksSent.filter((s) => s.to === lagging && s.chunk === 0)).toHaveLength(1); // before: the reader could not send it again, and the transfer started over
    expect(progress()).toMatchObject({ state: 'replicating', snapshot: null, snapshotTransfers: transfers });
    expect(progress().snapshotChunksResent).toBeGreaterThanOrEqual(1);
    expect(machine(lagging).map).toEqual(machine(leader).map);
    await c.stop();
  });

  /**
   * A lagging follower is sent a snapshot and takes `intervals` heartbeat intervals to
   * restore its state machine from it; waits until it has caught up. Says how often chunk
   * 0 and the last chunk went to it, its progress on the leader, and its state machine's
   * map beside the leader's.
   */
  async function slowRestore(intervals: number, timeout: number) {
    const { c, machine, chunksSent } = recordingChunks(1723);
    const { leader, lagging, progress, transfers } = await laggingBehindSnapshot(c);
    machine(lagging).beforeRestore = () => new Promise((resolve) => c.clock.scheduler.schedule(() => resolve(), intervals * heartbeatInterval));
    await c.waitFor(() => machine(lagging).restores.length > 0 && machine(lagging).appliedIndex === machine(leader).appliedIndex, timeout);
    const toLagging = chunksSent.filter((s) => s.to === lagging);
    const last = Math.max(...toLagging.map((s) => s.chunk));
    const seen = {
      chunk0: toLagging.filter((s) => s.chunk === 0).length,
      lastChunk: toLagging.filter((s) => s.chunk === last).length,
      progress: progress(),
      transfers,
      followerMap: machine(lagging).map,
      leaderMap: machine(leader).map,
    };
    await c.stop();
    return seen;
  }

  test('a follower slow to restore its state machine from the last chunk (20 heartbeat intervals) gets it again and answers with the install: a single chunk 0', async () => {
    const seen = await slowRestore(20, 10_000);
    // Before: the repeat of the last chunk was acknowledged, the leader asked for the chunk after it, and started over.
    expect(seen.chunk0).toBe(1);
    expect(seen.lastChunk).toBeGreaterThanOrEqual(2); // sent again while it restored (every 10 intervals)
    expect(seen.progress).toMatchObject({ state: 'replicating', snapshot: null, snapshotTransfers: seen.transfers });
    expect(seen.followerMap).toEqual(seen.leaderMap);
  });

  test('a follower restoring its state machine for 200 heartbeat intervals (more than the five resends a transfer is given up after) is not given up: it answers the repeats with `installing`', async () => {
    const seen = await slowRestore(200, 20_000);
    expect(seen.chunk0).toBe(1);
    expect(seen.lastChunk).toBeGreaterThanOrEqual(15); // sent again every 10 intervals, answered `installing`
    expect(seen.progress).toMatchObject({ state: 'replicating', snapshot: null, snapshotTransfers: seen.transfers, snapshotTransfersAbandoned: 0 });
    expect(seen.followerMap).toEqual(seen.leaderMap);
  });
});
