import { decodeSessionCommand, encodeSessionCommand, SessionTable } from '../../src/streams/sessions';

describe('SessionTable', () => {
  test('a (clientId, seq) applies once; a repeat answers with the original position', () => {
    const t = new SessionTable();
    expect(t.apply({ clientId: 'c', seq: 1 }, 10, 2)).toEqual({ duplicate: false });
    expect(t.apply({ clientId: 'c', seq: 1 }, 14, 3)).toEqual({ duplicate: true, original: { index: 10, term: 2 } });
    expect(t.apply({ clientId: 'd', seq: 1 }, 15, 3)).toEqual({ duplicate: false });
  });

  test('pipelined commands may apply out of seq order within the window', () => {
    const t = new SessionTable({ maxClients: 10, idleEntries: 100, window: 4 });
    expect(t.apply({ clientId: 'c', seq: 2 }, 1, 1).duplicate).toBe(false);
    expect(t.apply({ clientId: 'c', seq: 1 }, 2, 1).duplicate).toBe(false);
    for (let seq = 3; seq <= 6; seq++) t.apply({ clientId: 'c', seq }, seq, 1);
    // seq 1 and 2 left the window: a late retry is refused rather than applied twice.
    expect(t.apply({ clientId: 'c', seq: 1 }, 9, 1)).toEqual({ duplicate: true, original: null });
  });

  test('sessions expire by idleness measured in log entries, and beyond maxClients least recently active first', () => {
    const t = new SessionTable({ maxClients: 2, idleEntries: 100, window: 4 });
    t.apply({ clientId: 'a', seq: 1 }, 1, 1);
    t.apply({ clientId: 'b', seq: 1 }, 2, 1);
    t.apply({ clientId: 'a', seq: 2 }, 3, 1);
    t.apply({ clientId: 'c', seq: 1 }, 4, 1); // evicts b, the least recently active
    expect(t.apply({ clientId: 'b', seq: 1 }, 5, 1).duplicate).toBe(false);
    const u = new SessionTable({ maxClients: 10, idleEntries: 100, window: 4 });
    u.apply({ clientId: 'a', seq: 1 }, 1, 1);
    expect(u.apply({ clientId: 'a', seq: 1 }, 50, 1).duplicate).toBe(true);
    expect(u.apply({ clientId: 'a', seq: 1 }, 200, 1).duplicate).toBe(false); // forgotten after 100 idle entries
  });

  test('session commands round-trip through their byte layout', () => {
    const bytes = encodeSessionCommand({ clientId: 'client-✓', seq: 2 ** 40 + 7 }, new Uint8Array([1, 2, 3]));
    const { info, data } = decodeSessionCommand(bytes);
    expect(info).toEqual({ clientId: 'client-✓', seq: 2 ** 40 + 7 });
    expect([...data]).toEqual([1, 2, 3]);
  });
});
