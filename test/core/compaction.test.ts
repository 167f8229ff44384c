/**
 * Where a snapshot cuts the log (`compactionPoint`): `keepEntries` behind it, but a
 * leader holds back for live followers still catching up, within `catchUpEntries`.
 */
import { Effects } from '../../src/core/effects';
import { becomeCandidate, becomeLeader } from '../../src/core/roles';
import { compactionPoint } from '../../src/core/snapshots';
import { makeState } from './helpers';

const policy = { keepEntries: 10, catchUpEntries: 500 };

function leaderWithLog(length: number) {
  const s = makeState({ id: 'n1', term: 1, log: Array.from({ length }, () => 1) });
  becomeCandidate(s, new Effects());
  becomeLeader(s, new Effects());
  return s;
}

function progress(s: ReturnType<typeof makeState>) {
  if (s.role.name !== 'leader') throw new Error('not a leader');
  return s.role.progress;
}

describe('compactionPoint', () => {
  test('a follower keeps keepEntries behind the snapshot, whatever its leader was doing', () => {
    const s = makeState({ id: 'n2', term: 1, log: Array.from({ length: 300 }, () => 1) });
    expect(compactionPoint(s, 300, policy)).toBe(290);
    expect(compactionPoint(s, 5, policy)).toBe(0);
  });

  test('a leader keeps the entries a live follower replays, from its match (whose term is the next prevLogTerm)', () => {
    const s = leaderWithLog(300);
    const pr = progress(s);
    pr.get('n2')!.match = 295;
    pr.get('n3')!.match = 120;
    expect(compactionPoint(s, 300, policy)).toBe(119);
  });

  test('... and from the index of the snapshot it is being sent', () => {
    const s = leaderWithLog(300);
    const pr = progress(s);
    pr.get('n2')!.match = 299;
    pr.get('n3')!.snapshot = { index: 200, term: 1, chunk: 3, stalledTicks: 0 };
    expect(compactionPoint(s, 300, policy)).toBe(199);
  });

  test('a follower silent for an election timeout holds nothing back', () => {
    const s = leaderWithLog(300);
    const pr = progress(s);
    pr.get('n2')!.match = 299;
    pr.get('n3')!.match = 5;
    s.now += s.options.electionTimeoutMin;
    pr.get('n2')!.lastContact = s.now;
    expect(compactionPoint(s, 300, policy)).toBe(290);
  });

  test('at most catchUpEntries are kept behind the snapshot', () => {
    const s = leaderWithLog(1000);
    const pr = progress(s);
    pr.get('n2')!.match = 999;
    pr.get('n3')!.match = 10;
    expect(compactionPoint(s, 1000, policy)).toBe(500);
  });
});
