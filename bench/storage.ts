/**
 * FileStorage benchmark: durable appends/s and fsyncs/s for 1, 16 and 256 concurrent
 * appenders of 100-byte entries, against a baseline of bare write + fdatasync of one
 * record on a raw file handle, measured in the same run (interleaved, so disk noise hits
 * both). Each appender awaits its append, then appends the next; indexes are assigned at
 * call time. The case `16+snapshots` adds a snapshot of 4 MiB (1 MiB chunks) every
 * 500 ms, compacting all but the last 1,000 entries, with 1 MiB segments: what taking
 * snapshots costs the appenders, how long a commit takes, and that the directory stays
 * small. Prints medians over runs and writes JSON to bench/results/.
 *
 *     npm run bench:storage                      # 3 runs x 3 s per case
 *     npm run bench:storage -- --runs 5 --seconds 2   # or BENCH_RUNS=5 BENCH_SECONDS=2
 *     npm run bench:storage -- --help
 */
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { EntryKind, Entry } from '../src/messages/entry';
import { encodeEntries } from '../src/messages/entryCodec';
import { RECORD_HEADER_BYTES } from '../src/storage/fileRecordFraming';
import { FileStorage } from '../src/storage/fileStorage';
import { commandLineOrExit, positiveInt } from '../examples/kv/cli';

const ARGS = commandLineOrExit(
  process.argv.slice(2),
  [
    { name: 'runs', type: 'string', value: '<n>', help: 'runs per case (default 3, or BENCH_RUNS)', env: false },
    { name: 'seconds', type: 'string', value: '<s>', help: 'seconds per run (default 3, or BENCH_SECONDS)', env: false },
  ],
  'npm run bench:storage --',
  'FileStorage benchmark: durable appends/s and fsyncs/s for 1, 16 and 256 concurrent appenders,\nagainst bare write + fdatasync, and the cost of snapshots. Writes JSON to bench/results/.',
);
const RUNS = positiveInt(ARGS.runs, 'runs', Number(process.env.BENCH_RUNS ?? 3));
const SECONDS = positiveInt(ARGS.seconds, 'seconds', Number(process.env.BENCH_SECONDS ?? 3));
const ENTRY_BYTES = 100;
const APPENDERS = [1, 16, 256];
const SNAPSHOT_EVERY_MS = 500;
const SNAPSHOT_BYTES = 4 << 20;
const SNAPSHOT_CHUNK = 1 << 20;
const SNAPSHOT_KEEP = 1_000;
const SNAPSHOT_SEGMENT_BYTES = 1 << 20;

interface CaseResult {
  readonly entriesPerSec: number;
  readonly fsyncsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Snapshot case only: snapshots committed, median commit latency (write of chunks to durable), largest directory size. */
  readonly snapshots?: number;
  readonly commitP50Ms?: number;
  readonly maxDirBytes?: number;
}

const data = new Uint8Array(ENTRY_BYTES).fill(0x61);
const now = () => Number(process.hrtime.bigint()) / 1e6;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Bare write + fdatasync of one record (the size FileStorage writes for one entry) per iteration. */
async function baseline(dir: string): Promise<CaseResult> {
  const record = Buffer.alloc(RECORD_HEADER_BYTES + encodeEntries([{ index: 1, term: 1, kind: EntryKind.Command, data }]).length, 0x61);
  const handle = await fsp.open(path.join(dir, 'baseline.bin'), 'w');
  const latencies: number[] = [];
  let position = 0;
  const start = now();
  const end = start + SECONDS * 1000;
  let t = start;
  while (t < end) {
    await handle.write(record, 0, record.length, position);
    await handle.datasync();
    position += record.length;
    const after = now();
    latencies.push(after - t);
    t = after;
  }
  await handle.close();
  const elapsed = (t - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { entriesPerSec: latencies.length / elapsed, fsyncsPerSec: latencies.length / elapsed, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

async function appenders(dir: string, concurrency: number, snapshots = false): Promise<CaseResult> {
  const storage = await FileStorage.open(dir, snapshots ? { maxSegmentBytes: SNAPSHOT_SEGMENT_BYTES } : {});
  await storage.load();
  let next = 1;
  let stop = false;
  const latencies: number[] = [];
  const syncsBefore = storage.syncs;
  const start = now();
  const worker = async () => {
    while (!stop) {
      const entry: Entry = { index: next++, term: 1, kind: EntryKind.Command, data };
      const t = now();
      await storage.append([entry]);
      latencies.push(now() - t);
    }
  };
  const commits: number[] = [];
  let maxDirBytes = 0;
  const snapshotter = async () => {
    const chunk = new Uint8Array(SNAPSHOT_CHUNK).fill(0x62);
    while (!stop) {
      await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_EVERY_MS));
      if (stop) break;
      const index = next - 1; // appended (called) entries: the commit is ordered after them
      const t = now();
      const writer = storage.createSnapshot({ index, term: 1, config: { voters: ['n1'], learners: [], addresses: {} } });
      for (let at = 0; at < SNAPSHOT_BYTES; at += SNAPSHOT_CHUNK) await writer.write(chunk);
      await writer.commit({ compactUpTo: index - SNAPSHOT_KEEP, discardLog: false });
      commits.push(now() - t);
      maxDirBytes = Math.max(maxDirBytes, dirBytes(dir));
    }
  };
  const timer = setTimeout(() => (stop = true), SECONDS * 1000);
  await Promise.all([...Array.from({ length: concurrency }, worker), ...(snapshots ? [snapshotter()] : [])]);
  clearTimeout(timer);
  const elapsed = (now() - start) / 1000;
  const syncs = storage.syncs - syncsBefore - commits.length;
  await storage.close();
  const sorted = Float64Array.from(latencies).sort();
  const result = { entriesPerSec: (next - 1) / elapsed, fsyncsPerSec: syncs / elapsed, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  if (!snapshots) return result;
  return { ...result, snapshots: commits.length, commitP50Ms: commits.length ? median(commits) : 0, maxDirBytes };
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-bench-'));
  const names = ['baseline', ...APPENDERS.map((n) => `appenders=${n}`), '16+snapshots'];
  const runs: Record<string, CaseResult[]> = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const name of names) {
        const dir = fs.mkdtempSync(path.join(root, 'case-'));
        const result =
          name === 'baseline'
            ? await baseline(dir)
            : name === '16+snapshots'
              ? await appenders(dir, 16, true)
              : await appenders(dir, Number(name.split('=')[1]));
        fs.rmSync(dir, { recursive: true, force: true });
        runs[name].push(result);
        process.stderr.write(
          `run ${run}/${RUNS} ${name.padEnd(14)} ${result.entriesPerSec.toFixed(0).padStart(8)} entries/s ` +
            `${result.fsyncsPerSec.toFixed(0).padStart(6)} fsyncs/s p50 ${result.p50Ms.toFixed(3)} ms p99 ${result.p99Ms.toFixed(3)} ms\n`,
        );
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  const medians = Object.fromEntries(
    names.map((name) => {
      const r = runs[name];
      return [
        name,
        {
          entriesPerSec: median(r.map((x) => x.entriesPerSec)),
          fsyncsPerSec: median(r.map((x) => x.fsyncsPerSec)),
          p50Ms: median(r.map((x) => x.p50Ms)),
          p99Ms: median(r.map((x) => x.p99Ms)),
          ...(r[0].snapshots === undefined
            ? {}
            : {
                snapshots: median(r.map((x) => x.snapshots ?? 0)),
                commitP50Ms: median(r.map((x) => x.commitP50Ms ?? 0)),
                maxDirBytes: median(r.map((x) => x.maxDirBytes ?? 0)),
              }),
        },
      ];
    }),
  ) as Record<string, CaseResult>;

  const base = medians.baseline;
  console.log(`\nFileStorage, ${ENTRY_BYTES}-byte entries, median of ${RUNS} runs x ${SECONDS} s (node ${process.version}, ${os.cpus().length} cpus)\n`);
  console.log('| case                 | durable entries/s | fsyncs/s | entries/fsync | p50 ms | p99 ms |');
  console.log('|----------------------|------------------:|---------:|--------------:|-------:|-------:|');
  for (const name of names) {
    const m = medians[name];
    const label = name === 'baseline' ? 'bare write+fdatasync' : name;
    console.log(
      `| ${label.padEnd(20)} | ${m.entriesPerSec.toFixed(0).padStart(17)} | ${m.fsyncsPerSec.toFixed(0).padStart(8)} | ` +
        `${(m.entriesPerSec / m.fsyncsPerSec).toFixed(1).padStart(13)} | ${m.p50Ms.toFixed(3).padStart(6)} | ${m.p99Ms.toFixed(3).padStart(6)} |`,
    );
  }
  const one = medians['appenders=1'];
  console.log(`\none appender vs bare: p50 ${(one.p50Ms / base.p50Ms).toFixed(2)}x, p99 ${(one.p99Ms / base.p99Ms).toFixed(2)}x`);
  console.log(`256 appenders: fsyncs/s at ${((medians['appenders=256'].fsyncsPerSec / base.fsyncsPerSec) * 100).toFixed(0)}% of the bare rate`);
  const snap = medians['16+snapshots'];
  console.log(
    `16 appenders with snapshots: ${((snap.entriesPerSec / medians['appenders=16'].entriesPerSec) * 100).toFixed(0)}% of the entries/s without; ` +
      `${snap.snapshots} snapshots of ${SNAPSHOT_BYTES >> 20} MiB per run (one per ${SNAPSHOT_EVERY_MS} ms), commit p50 ${snap.commitP50Ms?.toFixed(1)} ms, ` +
      `directory at most ${((snap.maxDirBytes ?? 0) / (1 << 20)).toFixed(1)} MiB`,
  );

  const out = path.join(__dirname, 'results', `storage-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ node: process.version, cpus: os.cpus().length, runs: RUNS, seconds: SECONDS, entryBytes: ENTRY_BYTES, medians, runsByCase: runs }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
