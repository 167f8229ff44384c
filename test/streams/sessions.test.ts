import { InvalidMessageError } from '../../src/errors';
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

  test('a full table still recognises a retry from its least recently active client (§6.3: at most once)', () => {
    const t = new SessionTable({ maxClients: 2, idleEntries: 100, window: 4 });
    t.apply({ clientId: 'a', seq: 1 }, 1, 1);
    t.apply({ clientId: 'b', seq: 1 }, 2, 1);
    expect(t.apply({ clientId: 'a', seq: 1 }, 3, 1)).toEqual({ duplicate: true, original: { index: 1, term: 1 } });
    expect(t.size).toBe(2);
  });

  test('session commands round-trip through their byte layout', () => {
    const bytes = encodeSessionCommand({ clientId: 'client-✓', seq: 2 ** 40 + 7 }, new Uint8Array([1, 2, 3]));
    const { info, data } = decodeSessionCommand(bytes);
    expect(info).toEqual({ clientId: 'client-✓', seq: 2 ** 40 + 7 });
    expect([...data]).toEqual([1, 2, 3]);
  });
  test('a table restored from export (a snapshot) still answers duplicates and keeps recency order for eviction', () => {
    const policy = { maxClients: 3, idleEntries: 100, window: 4 };
    const t = new SessionTable(policy);
    t.apply({ clientId: 'a', seq: 1 }, 1, 1);
    t.apply({ clientId: 'b', seq: 1 }, 2, 1);
    t.apply({ clientId: 'c', seq: 1 }, 3, 1);
    t.apply({ clientId: 'a', seq: 2 }, 4, 1); // least recently active now: b, then c, then a
    const restored = new SessionTable(policy);
    restored.apply({ clientId: 'stale', seq: 1 }, 1, 1); // replaced by the import
    restored.import(JSON.parse(JSON.stringify(t.export())));
    expect(restored.size).toBe(3);
    expect(restored.apply({ clientId: 'd', seq: 1 }, 5, 2).duplicate).toBe(false); // evicts b
    expect(restored.apply({ clientId: 'a', seq: 2 }, 6, 2)).toEqual({ duplicate: true, original: { index: 4, term: 1 } });
    expect(restored.apply({ clientId: 'b', seq: 1 }, 7, 2).duplicate).toBe(false); // b was forgotten
    expect(restored.apply({ clientId: 'stale', seq: 1 }, 8, 2).duplicate).toBe(false);
  });

  test('bad session commands are refused with clear errors', () => {
    expect(() => encodeSessionCommand({ clientId: '', seq: 1 }, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeSessionCommand({ clientId: 'c', seq: -1 }, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeSessionCommand({ clientId: 'c', seq: 1.5 }, new Uint8Array())).toThrow(RangeError);
    expect(() => decodeSessionCommand(new Uint8Array([0]))).toThrow(InvalidMessageError);
    const bytes = encodeSessionCommand({ clientId: 'client', seq: 1 }, new Uint8Array([9]));
    expect(() => decodeSessionCommand(bytes.subarray(0, 10))).toThrow(InvalidMessageError);
  });
});
