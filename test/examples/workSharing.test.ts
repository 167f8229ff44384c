import { ownerOf, sharesOf } from '../../examples/workSharing';

const jobs = Array.from({ length: 200 }, (_, i) => `job-${i}`);

test('every job has exactly one owner among the voters', () => {
  const shares = sharesOf(jobs, ['a', 'b', 'c']);
  const all = [...shares.values()].flat().sort();
  expect(all).toEqual([...jobs].sort());
  for (const share of shares.values()) expect(share.length).toBeGreaterThan(30); // roughly even
});

test('a joining voter only takes jobs; nobody else trades', () => {
  const traded = jobs.filter((job) => {
    const before = ownerOf(job, ['a', 'b', 'c']);
    const after = ownerOf(job, ['a', 'b', 'c', 'd']);
    return after !== 'd' && after !== before;
  });
  expect(traded).toEqual([]);
});

test('a leaving voter only gives its own jobs away', () => {
  const traded = jobs.filter((job) => {
    const before = ownerOf(job, ['a', 'b', 'c']);
    const after = ownerOf(job, ['a', 'c']);
    return before !== 'b' && after !== before;
  });
  expect(traded).toEqual([]);
});
