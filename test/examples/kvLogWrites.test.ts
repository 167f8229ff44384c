/**
 * `--log-writes followers` with real processes: followers write their log synchronously
 * on the event loop (eventLoopWrites), the leader through the thread pool, and a node
 * switches as its role changes. Every acknowledged write must survive SIGKILL of the
 * leader (a follower becomes leader and switches), and the killed node must come back
 * from its log and catch up.
 */
import { useKvProcessCluster, within } from './kvProcessCluster';

jest.setTimeout(45_000);

const kv = useKvProcessCluster('log-writes', 300, ['--log-writes', 'followers']);
const { children, start, call, status } = kv;
const ids = () => kv.specs.map((s) => s.id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function leaderAmong(among: readonly string[]): Promise<string> {
  return within(10_000, async () => {
    const views = await Promise.all(among.map((id) => status(id)));
    const leaders = views.filter((v) => v.role === 'leader');
    return leaders.length === 1 && among.includes(leaders[0].leader!) && views.every((v) => v.leader === leaders[0].leader) ? leaders[0].leader : null;
  });
}

test('with --log-writes followers, every acknowledged write survives SIGKILL of the leader, and the killed node catches up', async () => {
  const leader = await leaderAmong(ids());
  const acknowledged = new Map<string, string>();
  let writing = true;
  // Two clients write distinct keys through every node (followers forward), at most 2,000 each.
  const writers = [0, 1].map(async (w) => {
    for (let i = 0; writing && i < 2000; i++) {
      const key = `w${w}-${i}`;
      const answer = await call('PUT', ids()[(w + i) % 3], `/kv/${key}`, `v${i}`).catch(() => null);
      if (answer?.status === 200) acknowledged.set(key, `v${i}`);
      else await sleep(20);
    }
  });
  await sleep(300);
  children.get(leader)!.kill('SIGKILL');
  await children.get(leader)!.exited;
  const survivors = ids().filter((id) => id !== leader);
  expect(await leaderAmong(survivors)).not.toBe(leader);
  await sleep(300);
  writing = false;
  await Promise.all(writers);
  expect(acknowledged.size).toBeGreaterThan(10);

  for (const [key, value] of acknowledged) {
    const answer = await within(10_000, async () => {
      const a = await call('GET', survivors[0], `/kv/${key}`);
      return a.status === 503 || a.status === 504 ? null : a;
    });
    expect([key, answer.status, answer.body]).toEqual([key, 200, value]);
  }

  await start(kv.specs.find((s) => s.id === leader)!).ready;
  const applied = (await status(survivors[0])).appliedIndex;
  await within(10_000, async () => (await status(leader)).appliedIndex >= applied || null);
  const [lastKey, lastValue] = [...acknowledged].pop()!;
  expect((await call('GET', leader, `/kv/${lastKey}?stale=1`)).body).toBe(lastValue);
});
