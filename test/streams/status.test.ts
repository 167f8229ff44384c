import type { LeaderInfo, NodeStatus } from '../../src/api';
import type { RaftState } from '../../src/core/state';
import { sameLeader, statusDiffers, toMembership } from '../../src/streams/status';

type ConfigAt = Parameters<typeof toMembership>[0];

describe('members$ view of a configuration', () => {
  const at: ConfigAt = { index: 7, term: 2, config: { voters: ['n1', 'n2', 'n3'], learners: ['n4'], addresses: { n4: 'mem://n4' } } };

  test('is committed once the commit index reaches the configuration entry, not before', () => {
    expect(toMembership(at, 6)).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'], index: 7, term: 2, committed: false, addresses: { n4: 'mem://n4' } });
    expect(toMembership(at, 7).committed).toBe(true);
    expect(toMembership(at, 8).committed).toBe(true);
  });

  test('reports the old voters during a joint change, and no joint field otherwise', () => {
    const joint: ConfigAt = { ...at, config: { ...at.config, oldVoters: ['n1', 'n2'] } };
    expect(toMembership(joint, 7).joint).toEqual({ oldVoters: ['n1', 'n2'] });
    expect('joint' in toMembership(at, 7)).toBe(false);
  });
});

describe('change detection for status$ and leader$', () => {
  const base: NodeStatus = { id: 'n1', role: 'follower', term: 1, leaderId: 'n2', commitIndex: 3, appliedIndex: 3, lastIndex: 4, stopped: false };

  /** The fields of a node's state that its status reports. */
  const stateOf = (st: NodeStatus) => ({ role: { name: st.role }, term: st.term, leaderId: st.leaderId, commitIndex: st.commitIndex, appliedIndex: st.appliedIndex, log: { lastIndex: st.lastIndex } }) as unknown as RaftState;

  test('a status differs when any reported field differs', () => {
    expect(statusDiffers(base, stateOf(base))).toBe(false);
    const changes: Partial<NodeStatus>[] = [{ role: 'candidate' }, { term: 2 }, { leaderId: null }, { commitIndex: 4 }, { appliedIndex: 4 }, { lastIndex: 5 }];
    expect(changes.filter((change) => !statusDiffers(base, stateOf({ ...base, ...change })))).toEqual([]);
    expect(statusDiffers({ ...base, stopped: true }, stateOf(base))).toBe(true); // a stopped status is never current
  });

  test('the same leader in a new term is a new leader; no leader equals no leader', () => {
    const l: LeaderInfo = { id: 'n2', term: 3, self: false };
    expect(sameLeader(l, { ...l })).toBe(true);
    expect(sameLeader(l, { ...l, term: 4 })).toBe(false);
    expect(sameLeader(l, { ...l, id: 'n3' })).toBe(false);
    expect(sameLeader(null, null)).toBe(true);
    expect(sameLeader(l, null)).toBe(false);
    expect(sameLeader(null, l)).toBe(false);
  });
});
