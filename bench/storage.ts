/**
 * FileStorage benchmark: durable appends/s and fsyncs/s for 1, 16 and 256 concurrent
 * appenders of 100-byte entries, against a baseline of bare write + fdatasync of one
 * record on a raw file handle, measured in the same run (interleaved, so disk noise hits
 * both). Each appender awaits its append, then appends the next; indexes are assigned at
 * call time. Prints medians over runs and writes JSON to bench/results/.
 *
 *     npm run bench:storage                      # 3 runs x 3 s per case
 *     BENCH_RUNS=5 BENCH_SECONDS=2 npm run bench:storage
 */
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { EntryKind, Entry } from '../src/messages/entry';
import { encodeEntries } from '../src/messages/entryCodec';
import { RECORD_HEADER_BYTES } from '../src/storage/fileRecordFraming';
import { FileStorage } from '../src/storage/fileStorage';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ENTRY_BYTES = 100;
const APPENDERS = [1, 16, 256];

interface CaseResult {
  readonly entriesPerSec: number;
  readonly fsyncsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
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

async function appenders(dir: string, concurrency: number): Promise<CaseResult> {
  const storage = await FileStorage.open(dir);
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
  const timer = setTimeout(() => (stop = true), SECONDS * 1000);
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearTimeout(timer);
  const elapsed = (now() - start) / 1000;
  const syncs = storage.syncs - syncsBefore;
  await storage.close();
  const sorted = Float64Array.from(latencies).sort();
  return { entriesPerSec: (next - 1) / elapsed, fsyncsPerSec: syncs / elapsed, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-bench-'));
  const names = ['baseline', ...APPENDERS.map((n) => `appenders=${n}`)];
  const runs: Record<string, CaseResult[]> = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const name of names) {
        const dir = fs.mkdtempSync(path.join(root, 'case-'));
        const result = name === 'baseline' ? await baseline(dir) : await appenders(dir, Number(name.split('=')[1]));
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

  const out = path.join(__dirname, 'results', `storage-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ node: process.version, cpus: os.cpus().length, runs: RUNS, seconds: SECONDS, entryBytes: ENTRY_BYTES, medians, runsByCase: runs }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
