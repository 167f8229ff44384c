/**
 * `stop()` has a deadline (DESIGN.md invariant 7): a storage or transport whose `close()`
 * never completes (a hung fsync, a stuck network disk) no longer holds `stop()` forever.
 * Everything that waits on the node settles when it stops, as before; only the closes
 * are waited for, at most `stopTimeout`, then `stop()` rejects with `StopTimeoutError`.
 */
import type { SchedulerLike } from 'rxjs';
import { NodeStoppedError, StopTimeoutError, StorageFailedError } from '../../src/errors';
import { createRaftNode } from '../../src/node';
import { seededRandom } from '../../src/random';
import { MemoryHub } from '../../src/transports/memoryHub';
import { VirtualClock } from '../../src/testing/virtualClock';
import type { Entry } from '../../src/messages/entry';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { TestCluster } from '../../src/testing';
import { settle } from '../../src/testing/virtualClock';
import type { Transport } from '../../src/transports/transport';
import { outcome } from './outcome';

const STOP_TIMEOUT = 1000;
const REQUEST_TIMEOUT = 400;

/** A disk whose `close()` never completes once `hangClose` is set; `failAppends` makes appends fail (fail-stop). */
class HangingStorage extends MemoryStorage {
  hangClose = false;
  failAppends = false;
  closes = 0;
  override close(): Promise<void> {
    this.closes++;
    return this.hangClose ? new Promise<void>(() => undefined) : super.close();
  }
  override append(entries: readonly Entry[]): Promise<void> {
    return this.failAppends ? Promise.reject(new Error('disk gone')) : super.append(entries);
  }
}

/** Nodes whose storage and transport can be made to hang at `close()`; counts each transport's closes. */
function clusterWithHangingCloses(nodes: number, seed: number) {
  const storages = new Map<string, HangingStorage>();
  const hangTransport = new Set<string>();
  const transportCloses = new Map<string, number>();
  const c = new TestCluster({
    nodes,
    seed,
    nodeOptions: { stopTimeout: STOP_TIMEOUT, requestTimeout: REQUEST_TIMEOUT },
    storage: (id: string, scheduler: SchedulerLike, syncDelay: number) => {
      const s = new HangingStorage({ scheduler, syncDelay });
      storages.set(id, s);
      return s;
    },
    transport: (id: string, inner: Transport): Transport => ({
      ...inner,
      close: () => {
        transportCloses.set(id, (transportCloses.get(id) ?? 0) + 1);
        return hangTransport.has(id) ? new Promise<void>(() => undefined) : inner.close();
      },
    }),
  });
  return { c, storages, hangTransport, transportCloses };
}

/** Settles `promise` into a record readable at once, with the virtual time it settled at. */
function watch<T>(clock: { now(): number }, promise: Promise<T>): { settled?: { ok: boolean; error?: unknown; at: number } } {
  const w: { settled?: { ok: boolean; error?: unknown; at: number } } = {};
  promise.then(
    () => (w.settled = { ok: true, at: clock.now() }),
    (error: unknown) => (w.settled = { ok: false, error, at: clock.now() }),
  );
  return w;
}

/** The cluster without the node whose close hangs (its `stop()` already settled), stopped. */
async function stopOthers(c: TestCluster, hung: string): Promise<void> {
  c.crash(hung);
  await c.stop();
}

test('a storage whose close never completes: stop() settles every waiter at once, closes the transport, and rejects with StopTimeoutError after stopTimeout (it waited forever)', async () => {
  const { c, storages, transportCloses } = clusterWithHangingCloses(3, 301);
  const leader = await c.waitForLeader();
  await c.propose(leader, 'before');
  for (const id of c.ids) if (id !== leader) c.hub.isolate(id); // nothing more commits
  const pending = watch(c.clock, c.node(leader).propose(new TextEncoder().encode('stuck')));
  let completed = false;
  c.node(leader).errors$.subscribe({ complete: () => (completed = true) });
  await c.clock.advance(5);
  storages.get(leader)!.hangClose = true;

  const stoppedAt = c.clock.now();
  const stopping = c.node(leader).stop();
  await settle();
  expect(pending.settled).toMatchObject({ ok: false, error: expect.any(NodeStoppedError), at: stoppedAt });
  expect(completed).toBe(true);
  expect(c.status(leader)?.stopped).toBe(true);
  const stopped = await outcome(c, stopping, 3 * STOP_TIMEOUT);
  expect(stopped.ok).toBe(false);
  expect(!stopped.ok && stopped.error).toBeInstanceOf(StopTimeoutError);
  expect(!stopped.ok && stopped.error).toMatchObject({ id: leader, pending: ['storage'], after: STOP_TIMEOUT });
  expect(stopped.at - stoppedAt).toBe(STOP_TIMEOUT);
  expect(transportCloses.get(leader)).toBe(1); // the hung storage did not keep the transport open
  expect(storages.get(leader)!.closes).toBe(1);
  expect(await c.node(leader).stop().catch((e: unknown) => e)).toBe(!stopped.ok && stopped.error); // a later stop() says the same
  await stopOthers(c, leader);
});

test('a transport whose close never completes: stop() closes the storage and rejects with StopTimeoutError after stopTimeout (it waited forever)', async () => {
  const { c, storages, hangTransport } = clusterWithHangingCloses(3, 302);
  const leader = await c.waitForLeader();
  const follower = c.ids.find((id) => id !== leader)!;
  await c.propose(leader, 'before');
  hangTransport.add(follower);

  const stoppedAt = c.clock.now();
  const stopped = await outcome(c, c.node(follower).stop(), 3 * STOP_TIMEOUT);
  expect(stopped).toMatchObject({ ok: false, error: expect.any(StopTimeoutError), at: stoppedAt + STOP_TIMEOUT });
  expect(!stopped.ok && stopped.error).toMatchObject({ id: follower, pending: ['transport'], after: STOP_TIMEOUT });
  expect(storages.get(follower)!.closes).toBe(1);
  await c.propose(leader, 'after'); // the others go on
  await stopOthers(c, follower);
});

test('stop({ transferLeadership }) is bounded end to end: a leader cut off from its followers, on a transport whose close hangs, settles within requestTimeout x 5 + stopTimeout', async () => {
  const { c, hangTransport } = clusterWithHangingCloses(3, 303);
  const leader = await c.waitForLeader();
  await c.propose(leader, 'before');
  for (const id of c.ids) if (id !== leader) c.hub.isolate(id); // the hand-over cannot finish
  hangTransport.add(leader);

  const stoppedAt = c.clock.now();
  const stopped = await outcome(c, c.node(leader).stop({ transferLeadership: true }), 5 * REQUEST_TIMEOUT + 2 * STOP_TIMEOUT);
  expect(stopped.ok).toBe(false);
  expect(!stopped.ok && stopped.error).toMatchObject({ constructor: StopTimeoutError, pending: ['transport'] });
  expect(stopped.at - stoppedAt).toBeGreaterThanOrEqual(STOP_TIMEOUT);
  expect(stopped.at - stoppedAt).toBeLessThanOrEqual(5 * REQUEST_TIMEOUT + STOP_TIMEOUT);
  await stopOthers(c, leader);
});

test('a node that stopped on its own (storage failure) with a close that hangs: stop() gives the StopTimeoutError, stopTimeout after the failure', async () => {
  const { c, storages } = clusterWithHangingCloses(3, 304);
  const leader = await c.waitForLeader();
  await c.propose(leader, 'before');
  const errors: Error[] = [];
  c.node(leader).errors$.subscribe((e) => errors.push(e));
  storages.get(leader)!.hangClose = true;
  storages.get(leader)!.failAppends = true;

  const failedAt = c.clock.now();
  const proposal = watch(c.clock, c.node(leader).propose(new TextEncoder().encode('fails')));
  await c.waitFor(() => proposal.settled !== undefined, 100, 1);
  expect(proposal.settled).toMatchObject({ ok: false, error: expect.any(StorageFailedError) });
  expect(errors).toEqual([expect.any(StorageFailedError)]);
  const stopped = await outcome(c, c.node(leader).stop(), 3 * STOP_TIMEOUT);
  expect(stopped).toMatchObject({ ok: false, error: expect.any(StopTimeoutError) });
  expect(stopped.at - failedAt).toBeGreaterThanOrEqual(STOP_TIMEOUT);
  expect(stopped.at - failedAt).toBeLessThanOrEqual(STOP_TIMEOUT + 10);
  await stopOthers(c, leader);
});

test('a stop whose closes complete resolves at once and leaves no timer behind', async () => {
  const { c } = clusterWithHangingCloses(1, 305);
  const only = await c.waitForLeader();
  await c.propose(only, 'before');
  await c.clock.advance(10);
  const stoppedAt = c.clock.now();
  const stopped = await outcome(c, c.node(only).stop(), 10);
  expect(stopped).toEqual({ ok: true, value: undefined, at: stoppedAt });
  expect(c.clock.pending).toBe(0); // the deadline's timer went with the closes
  await c.stop();
});

test('a stop while storage.load() never returns rejects ready with NodeStoppedError and resolves (ready waited forever)', async () => {
  const clock = new VirtualClock();
  const hub = new MemoryHub({ scheduler: clock.scheduler, random: seededRandom(7) });
  const storage = new MemoryStorage({ scheduler: clock.scheduler, syncDelay: 1 });
  storage.load = () => new Promise(() => undefined); // a disk that never answers the first read
  const node = createRaftNode({
    id: 'n1', peers: ['n1', 'n2', 'n3'], transport: hub.connect('n1'), storage, scheduler: clock.scheduler, turnScheduler: clock.scheduler,
    random: seededRandom(8), stopTimeout: STOP_TIMEOUT,
  });
  const ready = watch(clock, node.ready);
  await clock.advance(5000);
  expect(ready.settled).toBeUndefined(); // still loading
  const stopped = watch(clock, node.stop());
  await settle();
  expect(ready.settled).toEqual({ ok: false, error: expect.any(NodeStoppedError), at: 5000 });
  await clock.advance(STOP_TIMEOUT);
  expect(stopped.settled?.ok).toBe(true); // nothing of the node hangs at close
});
