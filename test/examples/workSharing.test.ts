import { ownerOf, sharesOf } from '../../examples/workSharing';

const jobs = Array.from({ length: 200 }, (_, i) => `job-${i}`);

test('every job has exactly one owner among the voters', () => {
  const shares = sharesOf(jobs, ['a', 'b', 'c']);
  const all = [...shares.values()].flat().sort();
  expect(all).toEqual([...jobs].sort());
  for (const share of shares.values()) expect(share.length).toBeGreaterThan(30); // roughly even
});

test('a joining voter only takes jobs; nobody else trades', () => {
  for (const job of jobs) {
    const before = ownerOf(job, ['a', 'b', 'c']);
    const after = ownerOf(job, ['a', 'b', 'c', 'd']);
    if (after !== 'd') expect(after).toBe(before);
  }
});

test('a leaving voter only gives its own jobs away', () => {
  for (const job of jobs) {
    const before = ownerOf(job, ['a', 'b', 'c']);
    const after = ownerOf(job, ['a', 'c']);
    if (before !== 'b') expect(after).toBe(before);
  }
});
