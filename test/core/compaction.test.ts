/**
 * Where a snapshot cuts the log (`compactionPoint`): `keepEntries` behind it, but a
 * leader holds back for live followers still catching up, within `catchUpEntries`; and
 * whatever the count allows, at most `keepBytes` of payload stays behind the snapshot.
 */
import { Effects } from '../../src/core/effects';
import { becomeCandidate, becomeLeader } from '../../src/core/roles';
import { compactionPoint } from '../../src/core/snapshots';
import { EntryKind } from '../../src/messages/entry';
import { makeState } from './helpers';

const policy = { keepEntries: 10, catchUpEntries: 500, keepBytes: 1 << 30 };

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
    pr.get('n3')!.snapshot = { index: 200, term: 1, chunk: 3, stalledTicks: 0, resends: 0, parked: false, holdTicks: 0 };
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

  describe('keepBytes', () => {
    /** Appends `length` term-1 entries of `size` payload bytes each. */
    function sized(s: ReturnType<typeof makeState>, length: number, size: number) {
      const from = s.log.lastIndex + 1;
      s.log.append(Array.from({ length }, (_, i) => ({ index: from + i, term: 1, kind: EntryKind.Command, data: new Uint8Array(size) })));
      return s;
    }

    test('a follower keeps at most keepBytes behind the snapshot, fewer than keepEntries when entries are large', () => {
      const s = sized(makeState({ id: 'n2', term: 1 }), 300, 1000);
      expect(compactionPoint(s, 300, { ...policy, keepEntries: 100, keepBytes: 5_500 })).toBe(295);
      expect(compactionPoint(s, 300, { ...policy, keepEntries: 3, keepBytes: 5_500 })).toBe(297); // the count may bind first
      expect(compactionPoint(s, 300, { ...policy, keepEntries: 100, keepBytes: 0 })).toBe(300);
    });

    test('a leader holding back for a follower catching up stops at keepBytes too: that follower is sent a snapshot instead', () => {
      const s = sized(leaderWithLog(0), 999, 1000); // after the leader's own no-op entry at 1
      const pr = progress(s);
      pr.get('n2')!.match = 999;
      pr.get('n3')!.match = 600;
      expect(compactionPoint(s, 1000, { ...policy, keepBytes: 1 << 30 })).toBe(599);
      expect(compactionPoint(s, 1000, { ...policy, keepBytes: 50_000 })).toBe(950);
    });
  });
});
