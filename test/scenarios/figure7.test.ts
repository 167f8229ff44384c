/**
 * Raft paper, Figure 7: when the leader of term 8 comes to power, followers (a)–(f) may
 * miss entries, hold extra uncommitted entries, or both. The leader brings every one of
 * them to its own log (§5.3), using the conflict hint to skip whole terms.
 */
import { firstValueFrom, filter } from 'rxjs';
import { NodeSpec, seededCluster } from './seededCluster';

const slow = { min: 10_000, max: 20_000 };
const LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
const followers: Record<string, number[]> = {
  a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 1, 4],
  c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 1, 4, 4, 4, 4],
  f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
};

test('Figure 7: the leader of term 8 brings followers (a)-(f) to its log', async () => {
  const specs: NodeSpec[] = [
    { id: 'leader', log: LEADER, term: 7, electionTimeout: { min: 10, max: 10 } },
    ...Object.entries(followers).map(([id, log]) => ({ id, log, term: 7, electionTimeout: slow })),
  ];
  const cluster = await seededCluster(specs);
  const leader = cluster.nodes.get('leader')!;
  const elected = firstValueFrom(leader.leader$.pipe(filter((l) => l?.self === true)));
  await cluster.clock.advance(200);
  expect(await elected).toEqual({ id: 'leader', term: 8, self: true });

  const expected = [...LEADER, 8]; // the new leader's no-op commits everything before it
  for (const id of Object.keys(followers)) expect(cluster.terms(id)).toEqual(expected);
  for (const id of ['leader', ...Object.keys(followers)]) {
    const seen = cluster.committed.get(id)!;
    expect(seen.map((e) => [e.index, e.term])).toEqual(LEADER.map((t, i) => [i + 1, t]));
  }
  await cluster.stop();
});
