import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classifyLeaderChanges, readLogs } from '../../bench/electionReasons';
import { parseStallPlan } from '../../bench/memoryStalls';

describe('bench/electionReasons', () => {
  test('tells each leader change after the first by what started it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-election-reasons-'));
    try {
      const line = (o: Record<string, unknown>) => `${JSON.stringify(o)}\n`;
      fs.writeFileSync(path.join(dir, 'n1.log'), [
        line({ time: 100, node: 'n1', msg: 'this node is the leader' }),
        line({ time: 1000, node: 'n1', msg: 'stepped down as leader', kind: 'stepDown', reason: 'checkQuorum' }),
        line({ time: 5000, node: 'n1', msg: 'pre-vote started', kind: 'campaign', lateMs: 150 }),
        line({ time: 5100, node: 'n1', msg: 'this node is the leader' }),
        line({ time: 9000, node: 'n1', msg: 'snapshot taken' }),
      ].join(''));
      fs.writeFileSync(path.join(dir, 'n2.log'), [
        line({ time: 1200, node: 'n2', msg: 'pre-vote started', kind: 'campaign', lateMs: 1 }),
        line({ time: 1300, node: 'n2', msg: 'this node is the leader' }),
        line({ time: 3000, node: 'n2', msg: 'pre-vote started', kind: 'campaign', lateMs: 2 }),
        line({ time: 3100, node: 'n2', msg: 'this node is the leader' }),
        line({ time: 9500, node: 'n2', msg: 'this node is the leader' }), // after the last storage line: the shutdown
      ].join(''));
      expect(classifyLeaderChanges(readLogs(dir))).toEqual({ changes: 3, causes: { checkQuorum: 1, 'leader silent': 1, 'candidate stalled': 1 } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--stall takes <stallMs>,<skewMs>,<everyS>', () => {
    expect(parseStallPlan('300,80,4')).toEqual({ stallMs: 300, skewMs: 80, everyS: 4, seed: 42 });
    expect(() => parseStallPlan('300,80')).toThrow(/--stall expects/);
    expect(() => parseStallPlan('300,80,0')).toThrow(/--stall expects/);
  });
});
