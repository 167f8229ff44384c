/**
 * A leader serving a lagging follower from its write-ahead log (issue 17, 64 KiB entries):
 * `FileStorage.readEntries` called one message at a time (1 MiB, the default
 * `maxBytesPerMessage`) over records the size of a leader's batch of a turn, as
 * `Progress.reading` does. Prints, per record size, the bytes read from the segment files
 * per byte returned and the CPU time (user + kernel) per MiB returned, medians of the runs.
 *
 *     npx ts-node --transpile-only bench/catchUpReads.ts            # records of 1, 4 and 16 MiB, 3 runs
 *     npx ts-node --transpile-only bench/catchUpReads.ts 6 5        # records of 6 MiB, 5 runs
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryKind, Entry } from '../src/messages/entry';
import { FileStorage } from '../src/storage/fileStorage';
import { FileSystem, nodeFileSystem } from '../src/storage/fileSystem';
import { median } from './clusterStats';

const ENTRY_BYTES = 64 * 1024;
const MESSAGE_BYTES = 1 << 20;
const LOG_BYTES = 64 << 20;

/** `nodeFileSystem`, counting the bytes read from segment files through handles. */
function countingFileSystem(): { fs: FileSystem; bytesRead: () => number } {
  let bytes = 0;
  const counting: FileSystem = {
    ...nodeFileSystem,
    async open(file, flags, mode) {
      const handle = await nodeFileSystem.open(file, flags, mode);
      if (flags !== 'r' || !file.endsWith('.wal')) return handle;
      return Object.assign(Object.create(handle) as typeof handle, {
        read: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
          const result = await handle.read(buffer, offset, length, position);
          bytes += result.bytesRead;
          return result;
        },
      });
    },
  };
  return { fs: counting, bytesRead: () => bytes };
}

/** One run: a log of `LOG_BYTES` in records of `recordBytes`, then read back a message at a time. */
async function run(recordBytes: number): Promise<{ amplification: number; cpuMicrosPerMiB: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-catchup-'));
  const counting = countingFileSystem();
  const storage = await FileStorage.open(dir, { fs: counting.fs, maxSegmentBytes: 256 << 20 });
  try {
    await storage.load();
    const data = Buffer.alloc(ENTRY_BYTES, 0x61);
    const perRecord = Math.max(1, Math.floor(recordBytes / ENTRY_BYTES));
    const total = Math.floor(LOG_BYTES / ENTRY_BYTES);
    for (let first = 1; first <= total; first += perRecord) {
      const batch: Entry[] = [];
      for (let index = first; index < first + perRecord && index <= total; index++) batch.push({ index, term: 1, kind: EntryKind.Command, data });
      await storage.append(batch);
    }
    const cpu = process.cpuUsage();
    let returned = 0;
    for (let next = 1; next <= total; ) {
      const entries = await storage.readEntries(next, total + 1, MESSAGE_BYTES);
      for (const e of entries) returned += e.data.length;
      next += entries.length;
    }
    const used = process.cpuUsage(cpu);
    return { amplification: counting.bytesRead() / returned, cpuMicrosPerMiB: (used.user + used.system) / (returned / (1 << 20)) };
  } finally {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = process.argv[2] ? [Number(process.argv[2])] : [1, 4, 16];
  const runs = Number(process.argv[3] ?? 3);
  console.log(`catch-up reads: ${LOG_BYTES >> 20} MiB of ${ENTRY_BYTES >> 10} KiB entries, read back ${MESSAGE_BYTES >> 20} MiB at a time; medians of ${runs} runs`);
  for (const mib of sizes) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await run(mib << 20));
    const amplification = median(results.map((r) => r.amplification));
    const cpu = median(results.map((r) => r.cpuMicrosPerMiB));
    console.log(`  records of ${mib} MiB: ${amplification.toFixed(2)} bytes read per byte returned, ${cpu.toFixed(0)} µs CPU per MiB returned`);
  }
}

void main();
