/**
 * Shared write-ahead log benchmark (issue 19): 64 groups on one host, each appending
 * 100-byte entries one at a time (await, then the next), for a few seconds:
 *
 * - `shared`: every group a `SharedLogStorage` view of one `SharedLog` (one durable
 *   write per flush for every group that wrote in it: O_DSYNC, the default; and
 *   `shared fdatasync`: write, then fdatasync);
 * - `per-group`: every group its own `FileStorage` (its own log and syncs);
 * - `one group`: a single `FileStorage`, the one-group reference.
 *
 * Cases are interleaved within each run (disk noise hits all); prints medians over runs
 * of durable appends/s and syncs/s (for `shared`, the log's fsyncs; for FileStorage,
 * its durable writes, O_DSYNC by default).
 *
 *     npx ts-node --transpile-only bench/sharedLog.ts [runs=3] [seconds=3]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EntryKind } from '../src/messages/entry';
import { FileStorage } from '../src/storage/fileStorage';
import { SharedLog } from '../src/storage/sharedLog';
import { SharedLogStorage } from '../src/storage/sharedLogStorage';
import type { Storage } from '../src/storage/storage';

const RUNS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 3);
const GROUPS = 64;
const data = new Uint8Array(100).fill(0x61);

interface Result {
  readonly appendsPerSec: number;
  readonly syncsPerSec: number;
}

/** Runs `groups` appenders for SECONDS; `syncs()` reads the sync counter. */
async function drive(storages: readonly Storage[], syncs: () => number): Promise<Result> {
  const deadline = Date.now() + SECONDS * 1000;
  const syncsBefore = syncs();
  let appends = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    storages.map(async (storage) => {
      for (let index = 1; Date.now() < deadline; index++) {
        await storage.append([{ index, term: 1, kind: EntryKind.Command, data }]);
        appends++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { appendsPerSec: appends / seconds, syncsPerSec: (syncs() - syncsBefore) / seconds };
}

async function shared(dir: string, logSync: 'dsync' | 'fdatasync'): Promise<Result> {
  const log = await SharedLog.open(dir, { logSync });
  const views = await Promise.all(Array.from({ length: GROUPS }, (_, i) => SharedLogStorage.open(log, `g${i}`)));
  const result = await drive(views, () => log.stats().fsyncs);
  for (const v of views) await v.close();
  await log.close();
  return result;
}

async function perGroup(dir: string, groups: number): Promise<Result> {
  const storages = await Promise.all(Array.from({ length: groups }, (_, i) => FileStorage.open(path.join(dir, `g${i}`))));
  const result = await drive(storages, () => storages.reduce((n, s) => n + s.syncs, 0));
  for (const s of storages) await s.close();
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const cases: Record<string, (dir: string) => Promise<Result>> = {
    'shared': (dir) => shared(dir, 'dsync'),
    'shared fdatasync': (dir) => shared(dir, 'fdatasync'),
    'per-group': (dir) => perGroup(dir, GROUPS),
    'one group': (dir) => perGroup(dir, 1),
  };
  const results: Record<string, Result[]> = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [name, run1] of Object.entries(cases)) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-bench-swal-'));
      try {
        (results[name] ??= []).push(await run1(dir));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  console.log(`${GROUPS} groups appending 100-byte entries, ${RUNS} runs x ${SECONDS} s, medians:`);
  for (const [name, rs] of Object.entries(results)) {
    const appends = median(rs.map((r) => r.appendsPerSec));
    const syncs = median(rs.map((r) => r.syncsPerSec));
    console.log(`  ${name.padEnd(17)} ${appends.toFixed(0).padStart(8)} appends/s ${syncs.toFixed(0).padStart(7)} syncs/s  ${(appends / Math.max(syncs, 1)).toFixed(1)} appends per sync`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
