/**
 * ClientIntake: one turn's proposals become one `propose` event of at most
 * `maxBatchBytes` of commands; the rest follow on the next turns, in order (issue 17:
 * a turn never holds the event loop long).
 */
import { VirtualTimeScheduler } from 'rxjs';
import type { RaftEvent } from '../../src/core/events';
import { EntryKind } from '../../src/messages/entry';
import { ClientIntake, ClientRequest, MAX_BATCH_BYTES } from '../../src/streams/clientIntake';
import { OpenRequests } from '../../src/streams/openRequests';

function makeIntake(maxBatchBytes?: number) {
  const scheduler = new VirtualTimeScheduler();
  const requests = new OpenRequests<ClientRequest>(scheduler, 1000);
  let id = 0;
  const intake = new ClientIntake(scheduler, requests, () => ++id, maxBatchBytes);
  const events: RaftEvent[] = [];
  intake.events$.subscribe((e) => events.push(e));
  return { scheduler, intake, events };
}

/** The sizes of the commands of each `propose` event, one array per event. */
function batches(events: readonly RaftEvent[]): number[][] {
  return events.flatMap((e) => (e.kind === 'propose' ? [e.commands.map((c) => c.data.length)] : []));
}

describe('ClientIntake batches proposals by bytes', () => {
  test('one turn hands on at most maxBatchBytes; the rest follow on the next turns, in order', () => {
    const { scheduler, intake, events } = makeIntake(100);
    const sizes = [40, 40, 40, 30, 90, 20, 5];
    for (const n of sizes) void intake.propose(EntryKind.Command, new Uint8Array(n));
    scheduler.flush();
    expect(batches(events)).toEqual([[40, 40], [40, 30], [90], [20, 5]]);
    expect(batches(events).flat()).toEqual(sizes);
  });

  test('a command larger than maxBatchBytes goes alone', () => {
    const { scheduler, intake, events } = makeIntake(100);
    for (const n of [10, 500, 10]) void intake.propose(EntryKind.Command, new Uint8Array(n));
    scheduler.flush();
    expect(batches(events)).toEqual([[10], [500], [10]]);
  });

  test('by default a turn carries at most 4 MiB of commands', () => {
    expect(MAX_BATCH_BYTES).toBe(4 * 2 ** 20);
    const { scheduler, intake, events } = makeIntake();
    for (let i = 0; i < 256; i++) void intake.propose(EntryKind.Command, new Uint8Array(64 * 1024));
    scheduler.flush();
    expect(batches(events).map((b) => b.length)).toEqual([64, 64, 64, 64]); // 256 × 64 KiB = 16 MiB in 4 turns
  });
});
