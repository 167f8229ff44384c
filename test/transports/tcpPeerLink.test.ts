import { VirtualTimeScheduler } from 'rxjs';
import type { RaftMessage } from '../../src/messages/types';
import type { Connection } from '../../src/transports/tcpConnection';
import { LinkHost, PeerLink } from '../../src/transports/tcpPeerLink';
import { NODE_WIRE } from '../../src/transports/tcpWire';

const vote = (term: number): RaftMessage => ({ type: 'RequestVoteResponse', term, voteGranted: true });

/** A ready connection that records the bytes written to it. */
function connection(direction: 'dial' | 'accept'): Connection & { written: number } {
  const fake = {
    direction,
    writable: true,
    written: 0,
    write(frames: Buffer | readonly Buffer[]) {
      for (const buffer of Buffer.isBuffer(frames) ? [frames] : frames) fake.written += buffer.length;
      return true;
    },
    close: () => undefined,
    setFrameLimit: () => undefined,
  };
  return fake as unknown as Connection & { written: number };
}

/** Turns and timers run on virtual time: `time.flush()` ends the turn. */
const time = new VirtualTimeScheduler();

/** A link from `self` to `peer` whose dial hands out `dialed`. */
function link(self: string, peer: string, dialed: Connection, lost: string[] = []): PeerLink<RaftMessage> {
  const host: LinkHost<RaftMessage> = {
    wire: NODE_WIRE,
    selfId: self,
    scheduler: time,
    turnScheduler: time,
    random: () => 0.5,
    reconnectDelay: { min: 10, max: 100 },
    maxFrameBytes: 1 << 20,
    writeBatchBytes: 256 << 10,
    queueLimits: { maxMessages: 100, maxBytes: 1 << 20 },
    dial: () => dialed,
    report: (error) => {
      throw error;
    },
    lost: (peer) => void lost.push(peer),
  };
  return new PeerLink(peer, { host: '127.0.0.1', port: 1 }, host);
}

/** Votes carry no payload: `PeerLanes` sends them on the control lane, with payload 0. */
describe('PeerLink', () => {
  it('sends both ways on one connection when each node dialed the other: the one the smaller id dialed', () => {
    // a and b dialed each other at once: a's outbound is b's inbound, and the other way round.
    const aToB = { atA: connection('dial'), atB: connection('accept') };
    const bToA = { atB: connection('dial'), atA: connection('accept') };
    const a = link('a', 'b', aToB.atA);
    const b = link('b', 'a', bToA.atB);
    a.send(vote(1), 0); // dials
    b.send(vote(1), 0); // dials
    for (const [l, outbound, inbound] of [[a, aToB.atA, bToA.atA], [b, bToA.atB, aToB.atB]] as const) {
      l.connectionReady(inbound);
      l.connectionReady(outbound);
    }
    time.flush();
    for (const c of [aToB.atA, aToB.atB, bToA.atA, bToA.atB]) c.written = 0;
    a.send(vote(2), 0);
    b.send(vote(2), 0);
    time.flush();
    expect(aToB.atA.written).toBeGreaterThan(0); // a writes on the connection it dialed ...
    expect(aToB.atB.written).toBeGreaterThan(0); // ... and so does b: the same TCP connection
    expect(bToA.atA.written + bToA.atB.written).toBe(0); // b's dial stays a spare
  });

  it('falls back to the other connection when the shared one closes', () => {
    const outbound = connection('dial');
    const inbound = connection('accept');
    const b = link('b', 'a', outbound);
    b.send(vote(1), 0);
    b.connectionReady(outbound);
    b.connectionReady(inbound);
    time.flush();
    outbound.written = 0;
    inbound.written = 0;
    b.send(vote(2), 0);
    time.flush();
    expect([outbound.written, inbound.written].map((n) => n > 0)).toEqual([false, true]); // a < b: a's dial
    b.connectionClosed(inbound);
    b.send(vote(3), 0);
    time.flush();
    expect(outbound.written).toBeGreaterThan(0);
  });

  it('reports a loss when a connection that carried messages closes after another replaced it, not when an unused spare closes', () => {
    const outbound = connection('dial');
    const inbound = connection('accept');
    const spare = connection('accept');
    const lost: string[] = [];
    const a = link('a', 'b', outbound, lost);
    a.connectionReady(inbound); // b dialed first: a writes on it
    a.send(vote(1), 0);
    time.flush();
    expect(inbound.written).toBeGreaterThan(0);
    a.connectionReady(outbound); // a's own dial is ready: a < b, so it takes over
    a.send(vote(2), 0);
    time.flush();
    expect(outbound.written).toBeGreaterThan(0);
    a.connectionReady(spare); // b dialed again: the older inbound is replaced ...
    a.connectionClosed(inbound); // ... and its close may have lost vote 1
    expect(lost).toEqual(['b']);
    a.connectionClosed(spare); // never written to: nothing lost
    expect(lost).toEqual(['b']);
    a.connectionClosed(outbound); // the one in use
    expect(lost).toEqual(['b', 'b']);
  });

  it('reports what a full outbox dropped while the peer was unreachable once, when a connection is ready again, not once per drop', () => {
    const outbound = connection('dial');
    const lost: string[] = [];
    const a = link('a', 'b', outbound, lost); // queueLimits: 100 messages
    for (let i = 1; i <= 1000; i++) a.send(vote(i), 0); // dials; b does not answer yet
    time.flush();
    expect(lost).toEqual([]);
    a.connectionReady(outbound);
    expect(lost).toEqual(['b']);
    time.flush();
    expect(outbound.written).toBeGreaterThan(0); // the 100 kept go out
    a.send(vote(1001), 0);
    time.flush();
    expect(lost).toEqual(['b']); // nothing dropped since
  });
});
