import { followersOf } from '../../src/states/followers';
import { elect, makeState } from '../core/helpers';

describe('followersOf: the peers a leader replicates to, published after each turn', () => {
  test('a follower replicates to no one', () => {
    const none: readonly string[] = [];
    expect(followersOf(makeState({}), none)).toBe(none); // unchanged: the same list, nothing to publish
    expect(followersOf(makeState({}), ['n2'])).toEqual([]);
  });

  test('a leader replicates to every peer it keeps progress for; an unchanged list is returned as is', () => {
    const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1] });
    elect(s);
    const first = followersOf(s, []);
    expect(first).toEqual(['n2', 'n3']);
    expect(followersOf(s, first)).toBe(first);
    expect(followersOf(s, ['n3', 'n2'])).toEqual(['n2', 'n3']);
    if (s.role.name !== 'leader') throw new Error('elect() makes a leader');
    s.role.progress.delete('n3'); // a removed member that has stored its removal
    expect(followersOf(s, first)).toEqual(['n2']);
  });
});
