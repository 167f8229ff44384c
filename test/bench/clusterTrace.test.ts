import { Subject } from 'rxjs';
import { traceRolesAndStalls, traceWanted } from '../../bench/clusterTrace';

describe('benchmark node tracing (RXRAFT_BENCH_TRACE=1)', () => {
  it('writes each role and election report with the time since it began, and each event-loop stall over the threshold, until stopped', () => {
    const lines: string[] = [];
    let now = 1000;
    let tick: () => void = () => undefined;
    const role$ = new Subject<string>();
    const election$ = new Subject<object>();
    const stop = traceRolesAndStalls(role$, election$, { stallMs: 80, everyMs: 10, write: (l) => lines.push(l), now: () => now, every: (_, t) => ((tick = t), () => (tick = () => undefined)), thread: () => undefined });
    now = 1243;
    election$.next({ kind: 'campaign', preVote: true, term: 2 });
    role$.next('leader');
    tick(); // sampled late: away 243 - 10 ms
    now += 10;
    tick(); // on time
    now += 90;
    tick(); // 80 ms beyond the interval: not over the threshold
    now += 300;
    tick(); // stalled 290 ms
    stop();
    role$.next('follower');
    election$.next({ kind: 'stepDown' });
    now += 500;
    tick();
    expect(lines).toEqual(['trace t=0 ms started at 1000 (ms since the epoch: align the nodes\' times with it)', 'trace t=243 ms election {"kind":"campaign","preVote":true,"term":2}', 'trace t=243 ms role leader', 'trace t=243 ms event loop stalled 233 ms', 'trace t=343 ms event loop away 313 ms of the last 343 ms', 'trace t=643 ms event loop stalled 290 ms', 'trace t=643 ms event loop away 290 ms of the last 300 ms']);
  });

  it('says what the loop thread did during a stall: ran (and how much of it in GC) or waited for a CPU', () => {
    const lines: string[] = [];
    let now = 0;
    let times = { ranMs: 100, othersRanMs: 70, waitedMs: 50, gcMs: 5, stealMs: 20 };
    let tick: () => void = () => undefined;
    traceRolesAndStalls(new Subject<string>(), new Subject<object>(), { write: (l) => lines.push(l), now: () => now, every: (_, t) => ((tick = t), () => undefined), thread: () => times });
    now = 250;
    times = { ranMs: 130.4, othersRanMs: 110, waitedMs: 260, gcMs: 17, stealMs: 20 };
    tick();
    expect(lines.slice(1, 2)).toEqual(['trace t=250 ms event loop stalled 240 ms (ran 30 ms, gc 12 ms, waited for a CPU 210 ms; other threads ran 40 ms; steal 0 ms)']);
  });

  it('reports a window of the longest election timeout in which short stalls added up', () => {
    const lines: string[] = [];
    let now = 0;
    let tick: () => void = () => undefined;
    traceRolesAndStalls(new Subject<string>(), new Subject<object>(), { write: (l) => lines.push(l), now: () => now, every: (_, t) => ((tick = t), () => undefined), thread: () => undefined });
    for (let i = 0; i < 5; i++) {
      now += 70; // away 60 ms each: under the stall threshold
      tick();
    }
    expect(lines.slice(1)).toEqual(['trace t=350 ms event loop away 300 ms of the last 350 ms']);
  });

  it('is asked for by RXRAFT_BENCH_TRACE=1 only', () => {
    expect(traceWanted({ RXRAFT_BENCH_TRACE: '1' })).toBe(true);
    expect(traceWanted({ RXRAFT_BENCH_TRACE: '0' })).toBe(false);
    expect(traceWanted({})).toBe(false);
  });
});
