import { campaignStalls } from '../../bench/campaignStalls';

describe('campaigns against a leader, with what the loops of leader and candidate did before', () => {
  it('aligns the nodes by their start times and keeps the stall lines of the interval before each campaign', () => {
    const log = [
      'run 1/1',
      '  [n1] trace t=0 ms role follower',
      '  [n1] trace t=0 ms started at 1000',
      '  [n2] trace t=0 ms started at 1100',
      '  [n2] trace t=200 ms role leader',
      '  [n2] trace t=2000 ms event loop stalled 90 ms (ran 5 ms, gc 0 ms, waited for a CPU 80 ms; other threads ran 1 ms; steal 0 ms)',
      '  [n2] trace t=2890 ms event loop away 250 ms of the last 300 ms (ran 20 ms, gc 100 ms, waited for a CPU 200 ms; other threads ran 30 ms; steal 0 ms)',
      '  [n1] trace t=2900 ms event loop stalled 85 ms',
      '  [n2] trace t=3100 ms event loop stalled 250 ms', // began before the campaign, ended after it
      '  [n2] trace t=3300 ms event loop stalled 90 ms',
      '  [n1] trace t=3000 ms election {"kind":"campaign","preVote":true,"term":2,"leaderId":"n2","sinceLeaderMs":240,"timeoutMs":230,"lateMs":10,"transfer":false}',
      '  [n1] trace t=3100 ms election {"kind":"campaign","preVote":true,"term":3,"leaderId":null,"sinceLeaderMs":null,"timeoutMs":200,"lateMs":0,"transfer":false}',
      '  library API, 256 proposer(s) in n2: leader changes 1',
    ].join('\n');
    expect(campaignStalls(log)).toEqual([
      {
        run: 1,
        at: 3000,
        candidate: 'n1',
        leader: 'n2',
        sinceLeaderMs: 240,
        lateMs: 10,
        leaderAwayMs: 250,
        leaderLines: ['2990 event loop away 250 ms of the last 300 ms (ran 20 ms, gc 100 ms, waited for a CPU 200 ms; other threads ran 30 ms; steal 0 ms)', '3200 event loop stalled 250 ms'],
        candidateLines: ['2900 event loop stalled 85 ms'],
      },
    ]);
  });

  it('finds nothing in a log without traces', () => {
    expect(campaignStalls('run 1/1\n  library API, 16 proposer(s) in n1: leader changes 0')).toEqual([]);
  });
});
