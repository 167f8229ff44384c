/**
 * Issue 18, finding 1, with real processes and a real damaged file: a follower whose last
 * WAL record is damaged (a flipped byte in an acknowledged record) restarts, is repaired
 * from the cluster and serves linearizable reads within two election timeouts of being
 * up again. Before, the leader kept the follower's old match above its new last index
 * and the follower stayed stuck at commit index 0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useKvProcessCluster, within } from './kvProcessCluster';
import { FILE_HEADER_BYTES, scanRecords } from '../../src/storage/fileRecordFraming';

const ELECTION_TIMEOUT_MAX = 300;
const kv = useKvProcessCluster('damaged-log', ELECTION_TIMEOUT_MAX);
const { children, start, call, status } = kv;

test('a follower whose last WAL record is damaged is repaired and serves reads within two election timeouts of restart', async () => {
  const leader = await within(10_000, async () => {
    const views = await Promise.all(kv.specs.map((s) => status(s.id)));
    const leaders = views.filter((v) => v.role === 'leader');
    return leaders.length === 1 && views.every((v) => v.leader === leaders[0].leader) ? leaders[0].leader : null;
  });
  const follower = kv.specs.map((s) => s.id).find((id) => id !== leader)!;
  for (let i = 0; i < 20; i++) expect((await call('PUT', leader!, `/kv/k${i}`, `v${i}`)).status).toBe(200);
  const applied = (await status(leader!)).appliedIndex;
  await within(5000, async () => (await status(follower)).appliedIndex >= applied || null);

  children.get(follower)!.kill('SIGKILL');
  await children.get(follower)!.exited;
  const dir = path.join(kv.root, follower);
  const segment = path.join(dir, fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort().pop()!);
  const bytes = fs.readFileSync(segment);
  const records = scanRecords(bytes, FILE_HEADER_BYTES).records;
  const last = records[records.length - 1];
  bytes[last.offset + last.payload.length] ^= 0x10; // a flipped byte inside the last (acknowledged) record
  fs.writeFileSync(segment, bytes);
  // Writes go on while the follower is down.
  expect((await call('PUT', leader!, '/kv/during', 'down')).status).toBe(200);

  await start(kv.specs.find((s) => s.id === follower)!).ready;
  const upAt = Date.now();
  const read = await within(5000, async () => {
    const answer = await call('GET', follower, '/kv/during');
    return answer.status === 200 ? answer : null;
  });
  const servedAfter = Date.now() - upAt;
  console.log(`damaged follower served a linearizable read ${servedAfter} ms after it was up`);
  expect(read.body).toBe('down');
  expect(servedAfter).toBeLessThanOrEqual(2 * ELECTION_TIMEOUT_MAX);
  // Every write is there, in a state the whole cluster agrees on.
  for (let i = 0; i < 20; i++) expect((await call('GET', follower, `/kv/k${i}`)).body).toBe(`v${i}`);
  const damageFile = path.join(dir, 'DAMAGE');
  await within(5000, async () => !fs.existsSync(damageFile) || null); // repaired: the report is cleared
});
