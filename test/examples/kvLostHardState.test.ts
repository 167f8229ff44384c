/**
 * Issue 18, finding 6, with real processes and a real deleted file: a follower whose
 * `hardstate` file (term and vote) is gone beside its kept WAL restarts, recovers a safe
 * term from every other member (core/termRecovery.ts), clears its damage record, serves
 * a linearizable read, and votes and campaigns again: a leadership transfer to it
 * succeeds. Before, it started at term 0 with no vote (it could vote twice in a term),
 * and later refused to start at all (`HardStateLostError`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useKvProcessCluster, within } from './kvProcessCluster';
import { DAMAGE_FILE } from '../../src/storage/fileDamage';
import { HARD_STATE_FILE } from '../../src/storage/fileHardState';

const ELECTION_TIMEOUT_MAX = 300;
const kv = useKvProcessCluster('lost-hard-state', ELECTION_TIMEOUT_MAX);
const { children, start, call, status } = kv;

async function leaderOf(): Promise<string> {
  return within(10_000, async () => {
    const views = await Promise.all(kv.specs.map((s) => status(s.id)));
    const leaders = views.filter((v) => v.role === 'leader');
    return leaders.length === 1 && views.every((v) => v.leader === leaders[0].leader) ? leaders[0].leader : null;
  });
}

test('a follower whose hard state file is deleted rejoins, is repaired from the cluster, serves a read and can lead again', async () => {
  const leader = await leaderOf();
  const follower = kv.specs.map((s) => s.id).find((id) => id !== leader)!;
  for (let i = 0; i < 10; i++) expect((await call('PUT', leader, `/kv/k${i}`, `v${i}`)).status).toBe(200);
  const applied = (await status(leader)).appliedIndex;
  await within(5000, async () => (await status(follower)).appliedIndex >= applied || null);

  children.get(follower)!.kill('SIGKILL');
  await children.get(follower)!.exited;
  const dir = path.join(kv.root, follower);
  fs.rmSync(path.join(dir, HARD_STATE_FILE));
  expect((await call('PUT', leader, '/kv/during', 'down')).status).toBe(200);

  await start(kv.specs.find((s) => s.id === follower)!).ready;
  // FileStorage recorded the loss before making up a hard state; the node clears it once repaired.
  await within(10_000, async () => !fs.existsSync(path.join(dir, DAMAGE_FILE)) || null);
  const read = await within(5000, async () => {
    const answer = await call('GET', follower, '/kv/during');
    return answer.status === 200 ? answer : null;
  });
  expect(read.body).toBe('down');
  for (let i = 0; i < 10; i++) expect((await call('GET', follower, `/kv/k${i}`)).body).toBe(`v${i}`);

  // It votes and campaigns again: the leader hands over to it, and the others elect it.
  const current = await leaderOf();
  if (current !== follower) expect((await call('POST', current, '/transfer', JSON.stringify({ to: follower }))).status).toBe(200);
  expect(await leaderOf()).toBe(follower);
  expect((await call('PUT', follower, '/kv/after', 'led')).status).toBe(200);
});
