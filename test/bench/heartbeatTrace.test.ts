import { heartbeatDelays } from '../../bench/heartbeatTrace';

describe('heartbeat delays from the leader to its followers (RXRAFT_HEARTBEAT_TRACE)', () => {
  it('joins each heartbeat sent with its arrival by term and round, and measures the gaps between arrivals from the leader', () => {
    const line = (t: number, node: string, dir: 'out' | 'in', peer: string, seq: number, n = 0) => ({ t, node, dir, peer, term: 2, seq, n });
    const { delays, arrivalGaps } = heartbeatDelays([
      line(1000, 'n1', 'out', 'n2', 7),
      line(1001, 'n1', 'out', 'n2', 7, 16), // entries in round 7: not a heartbeat
      line(1050, 'n1', 'out', 'n2', 8),
      line(1004, 'n2', 'in', 'n1', 7),
      line(1030, 'n2', 'in', 'n1', 7, 16),
      line(1230, 'n2', 'in', 'n1', 8), // 180 ms behind
      line(1100, 'n1', 'out', 'n3', 9), // never arrived
    ]);
    expect(delays).toEqual([4, 180]);
    expect(arrivalGaps).toEqual([26, 200]);
  });
});
