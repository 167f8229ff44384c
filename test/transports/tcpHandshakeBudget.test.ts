import { HandshakeBudget, PendingHandshake } from '../../src/transports/tcpHandshakeBudget';

/** A pending handshake that records its eviction. */
function handshake(source: string, name: string, evicted: string[], peerSource = false): PendingHandshake {
  return { source, peerSource, progressed: false, evict: () => evicted.push(name) };
}

describe('HandshakeBudget', () => {
  test('a full source makes room by evicting its own oldest handshake, not the newcomer', () => {
    const evicted: string[] = [];
    const budget = new HandshakeBudget({ total: 10, perSource: 2 });
    const a1 = handshake('10.0.0.9', 'a1', evicted);
    expect(budget.admit(a1).admitted).toBe(true);
    expect(budget.admit(handshake('10.0.0.9', 'a2', evicted)).admitted).toBe(true);
    expect(budget.admit(handshake('10.0.0.8', 'b1', evicted)).admitted).toBe(true);
    expect(budget.admit(handshake('10.0.0.9', 'a3', evicted)).admitted).toBe(true);
    expect(evicted).toEqual(['a1']);
    expect(budget.size).toBe(3);
    budget.release(a1); // already gone: no effect
    expect(budget.size).toBe(3);
  });

  test('a full budget evicts the oldest of the lowest rank: strangers before peers\' addresses, idle before progressed', () => {
    const evicted: string[] = [];
    const budget = new HandshakeBudget({ total: 3, perSource: 3 });
    const peer = handshake('10.0.0.1', 'peer', evicted, true);
    const talker = handshake('10.0.0.9', 'talker', evicted);
    budget.admit(peer);
    budget.admit(talker);
    budget.admit(handshake('10.0.0.9', 'idle', evicted));
    talker.progressed = true; // sent a valid hello
    budget.admit(handshake('10.0.0.7', 'n1', evicted));
    expect(evicted).toEqual(['idle']);
    budget.admit(handshake('10.0.0.7', 'n2', evicted));
    expect(evicted).toEqual(['idle', 'n1']); // n1 (idle, older) before talker (progressed)
    expect(budget.evictions).toBe(2);
  });

  test('a stranger is refused when every pending handshake comes from a peer\'s address; a peer\'s address evicts strangers', () => {
    const evicted: string[] = [];
    const budget = new HandshakeBudget({ total: 2, perSource: 2 });
    budget.admit(handshake('10.0.0.9', 's1', evicted));
    budget.admit(handshake('10.0.0.9', 's2', evicted));
    expect(budget.admit(handshake('10.0.0.1', 'p1', evicted, true)).admitted).toBe(true);
    expect(budget.admit(handshake('10.0.0.2', 'p2', evicted, true)).admitted).toBe(true);
    expect(evicted).toEqual(['s1', 's2']);
    const refused = budget.admit(handshake('10.0.0.9', 's3', evicted));
    expect(refused).toMatchObject({ admitted: false, reason: expect.stringMatching(/2 handshakes pending/) });
    expect(budget.refusals).toBe(1);
    expect(budget.size).toBe(2);
    // Peers' addresses among themselves: oldest first.
    expect(budget.admit(handshake('10.0.0.3', 'p3', evicted, true)).admitted).toBe(true);
    expect(evicted).toEqual(['s1', 's2', 'p1']);
  });

  test('a refused newcomer evicts nothing, even when its source was full', () => {
    const evicted: string[] = [];
    const budget = new HandshakeBudget({ total: 2, perSource: 1 });
    const p1 = handshake('10.0.0.1', 'p1', evicted, true);
    p1.progressed = true;
    budget.admit(p1);
    budget.admit(handshake('10.0.0.2', 'p2', evicted, true));
    // From p1's address but ranked below it (no hello yet): refused at the source; p2 is not touched either.
    expect(budget.admit(handshake('10.0.0.1', 'x', evicted, true)).admitted).toBe(false);
    expect(evicted).toEqual([]);
    expect(budget.size).toBe(2);
  });
});
