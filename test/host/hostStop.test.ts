/**
 * `RaftHost.stop()` has a deadline, as `RaftNode.stop()` does: its groups' nodes each
 * within their `stopTimeout`, then its own storage and transport within its own. A close
 * that never completes used to hold `stop()` forever.
 */
import type { RaftNode } from '../../src/api';
import { NodeStoppedError, StopTimeoutError } from '../../src/errors';
import { createRaftHost, RaftHost } from '../../src/host/raftHost';
import { MemoryStorage } from '../../src/storage/memoryStorage';
import { VirtualClock } from '../../src/testing/virtualClock';
import type { HostTransport } from '../../src/transports/hostTransport';
import { MemoryHub } from '../../src/transports/memoryHub';

const HOST_STOP_TIMEOUT = 2000;
const GROUP_STOP_TIMEOUT = 700;
const never = () => new Promise<void>(() => undefined);

/** One host on virtual time whose groups are alone in their configuration; `hang` says which closes never complete. */
function lonelyHost(hang: { transport?: boolean; storageOf?: string }) {
  const clock = new VirtualClock();
  const hub = new MemoryHub({ scheduler: clock.scheduler });
  const inner = hub.connectHost('h1');
  let transportCloses = 0;
  const transport: HostTransport = Object.assign(Object.create(inner) as HostTransport, {
    close: () => {
      transportCloses++;
      return hang.transport ? never() : inner.close();
    },
  });
  const storage = (group: string) => {
    const s = new MemoryStorage({ scheduler: clock.scheduler, syncDelay: 1 });
    if (group === hang.storageOf) s.close = never;
    return s;
  };
  const groupDefaults = { scheduler: clock.scheduler, turnScheduler: clock.scheduler, stopTimeout: GROUP_STOP_TIMEOUT };
  const host = createRaftHost({ id: 'h1', transport, storage, groupDefaults, stopTimeout: HOST_STOP_TIMEOUT });
  return { clock, host, transportCloses: () => transportCloses };
}

/** Advances virtual time until `promise` settles (at most 10 virtual s); says how and when. */
async function settled(clock: VirtualClock, promise: Promise<unknown>): Promise<{ ok: boolean; error?: unknown; at: number }> {
  let result: { ok: boolean; error?: unknown; at: number } | undefined;
  promise.then(
    () => (result = { ok: true, at: clock.now() }),
    (error: unknown) => (result = { ok: false, error, at: clock.now() }),
  );
  for (let waited = 0; result === undefined && waited < 10_000; waited += 10) await clock.advance(10);
  if (!result) throw new Error('not settled within 10 virtual s');
  return result;
}

async function runningGroups(host: RaftHost, clock: VirtualClock, ids: readonly string[]): Promise<RaftNode[]> {
  const nodes = await Promise.all(ids.map((g) => host.createGroup(g, { peers: ['h1'] })));
  await clock.advance(1000); // each elects itself
  return nodes;
}

test('a host whose transport close never completes: stop() stops every group and rejects with StopTimeoutError after the host stopTimeout (it waited forever)', async () => {
  const { clock, host, transportCloses } = lonelyHost({ transport: true });
  const [g1] = await runningGroups(host, clock, ['g1', 'g2']);
  let errorsCompleted = false;
  host.errors$.subscribe({ complete: () => (errorsCompleted = true) });
  const stoppedAt = clock.now();
  const result = await settled(clock, host.stop());
  expect(result).toMatchObject({ ok: false, error: expect.any(StopTimeoutError), at: stoppedAt + HOST_STOP_TIMEOUT });
  expect(result.error).toMatchObject({ id: 'h1', pending: ['transport'], after: HOST_STOP_TIMEOUT });
  expect(transportCloses()).toBe(1);
  expect(errorsCompleted).toBe(true);
  await expect(g1.read()).rejects.toBeInstanceOf(NodeStoppedError);
});

test("a group whose storage close never completes: the host's stop() rejects with StopTimeoutError naming it, after the group's stopTimeout, and still closes the transport", async () => {
  const { clock, host, transportCloses } = lonelyHost({ storageOf: 'g2' });
  await runningGroups(host, clock, ['g1', 'g2']);
  const stoppedAt = clock.now();
  const result = await settled(clock, host.stop());
  expect(result).toMatchObject({ ok: false, error: expect.any(StopTimeoutError), at: stoppedAt + GROUP_STOP_TIMEOUT });
  expect(result.error).toMatchObject({ id: 'h1', pending: ['g2 storage'], after: HOST_STOP_TIMEOUT });
  expect(transportCloses()).toBe(1);
});

test('a host whose closes complete stops at once and leaves no timer behind', async () => {
  const { clock, host } = lonelyHost({});
  await runningGroups(host, clock, ['g1']);
  const stoppedAt = clock.now();
  expect(await settled(clock, host.stop())).toEqual({ ok: true, at: stoppedAt });
  await clock.advance(0);
  expect(clock.pending).toBe(0);
});

test('stopTimeout is a positive time', () => {
  const hub = new MemoryHub({ scheduler: new VirtualClock().scheduler });
  for (const stopTimeout of [0, -1, NaN, Infinity]) {
    expect(() => createRaftHost({ id: 'h1', transport: hub.connectHost('h1'), storage: () => new MemoryStorage(), stopTimeout })).toThrow(/stopTimeout must be a finite number greater than 0/);
  }
});
