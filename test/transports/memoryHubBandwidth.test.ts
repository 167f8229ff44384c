/**
 * MemoryHub `bandwidth`: each link's lane sends one message at a time, in order, at a
 * bounded rate, so entries wait for the entries ahead of them, but a heartbeat, on the
 * control lane, does not wait for entries (as with the TCP transport's two connections).
 */
import { VirtualTimeScheduler } from 'rxjs';
import { EntryKind } from '../../src/messages/entry';
import type { AppendEntries, Envelope } from '../../src/messages/types';
import { MemoryHub, wireBytes } from '../../src/transports/memoryHub';

function append(bytes: number): AppendEntries {
  const entries = bytes === 0 ? [] : [{ index: 1, term: 1, kind: EntryKind.Command, data: new Uint8Array(bytes) }];
  return { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0, seq: 0 };
}

test('a message waits for those ahead of it on its lane, then takes its size / bandwidth, then the delay; a heartbeat overtakes entries', () => {
  const scheduler = new VirtualTimeScheduler();
  const hub = new MemoryHub({ scheduler, random: () => 0, faults: { bandwidth: 1000, delay: { min: 1, max: 1 } } });
  const n1 = hub.connect('n1');
  const arrivals: { to: string; bytes: number; at: number }[] = [];
  for (const id of ['n2', 'n3']) {
    hub.connect(id).inbound$.subscribe((e: Envelope) => arrivals.push({ to: id, bytes: e.message.type === 'AppendEntries' ? e.message.entries.length : -1, at: scheduler.now() }));
  }
  const big = append(100_000 - 64 - 25); // 100,000 bytes on the wire
  expect(wireBytes(big)).toBe(100_000);
  const small = append(1000 - 64 - 25); // 1,000 bytes on the wire
  n1.send('n2', big);
  n1.send('n2', append(0)); // a heartbeat behind it (68 bytes: the overhead and an empty entry block): control lane
  n1.send('n2', small); // bulk lane: waits for the big one
  n1.send('n3', append(0)); // another link: not held
  scheduler.flush();
  expect(arrivals).toEqual([
    { to: 'n2', bytes: 0, at: 1 + 68 / 1000 },
    { to: 'n3', bytes: 0, at: 1 + 68 / 1000 },
    { to: 'n2', bytes: 1, at: 100 + 1 },
    { to: 'n2', bytes: 1, at: 100 + 1 + 1 },
  ]);
  expect(hub.stats.maxLinkWait).toBe(100);
  expect(hub.stats.maxLinkBacklog).toBe(100_000);
});

test('bandwidth is checked: a finite number above 0', () => {
  expect(() => new MemoryHub({ faults: { bandwidth: 0 } })).toThrow(/faults.bandwidth must be a finite number of bytes per unit of time above 0, got 0/);
});
