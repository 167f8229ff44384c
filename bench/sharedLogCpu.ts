/**
 * CPU per append of the shared log's own code (issue 19): 64 `SharedLogStorage` views of
 * one `SharedLog`, each appending batches of `--entries` 100-byte entries (await, then the
 * next) for `--seconds`, on a file system whose segment writes and syncs return at once.
 * Nothing reaches the disk, so what is measured is the per-record work in this process
 * (queueing, batching, laying records out, checksums, settling) — what a host pays per
 * group record on top of the write itself. Compare commits by running it from each.
 *
 *   npx ts-node --transpile-only bench/sharedLogCpu.ts [--seconds 3] [--entries 4] [--groups 64]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryKind } from '../src/messages/entry';
import type { Entry } from '../src/messages/entry';
import { FileHandleLike, FileSystem, nodeFileSystem } from '../src/storage/fileSystem';
import { SharedLog } from '../src/storage/sharedLog';
import { SharedLogStorage } from '../src/storage/sharedLogStorage';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error('usage: [--seconds <s>] [--entries <n>] [--groups <n>]');
  return value;
}

/** `nodeFileSystem`, except that the log's segments take writes and syncs without doing them. */
const discardingSegments: FileSystem = {
  ...nodeFileSystem,
  open: async (file, flags, mode) => {
    const handle = await nodeFileSystem.open(file, flags, mode);
    if (!String(file).endsWith('.wal')) return handle;
    const discarding: FileHandleLike = {
      write: async (_buffer, _offset, length) => ({ bytesWritten: length }),
      writev: async (buffers) => ({ bytesWritten: buffers.reduce((n, b) => n + b.byteLength, 0) }),
      read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      datasync: async () => undefined,
      sync: async () => undefined,
      truncate: (length) => handle.truncate(length),
      stat: () => handle.stat(),
      close: () => handle.close(),
    };
    return discarding;
  },
};

async function main(): Promise<void> {
  const seconds = arg('seconds', 3);
  const perAppend = arg('entries', 4);
  const groups = arg('groups', 64);
  const data = new Uint8Array(100).fill(0x61);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-bench-swal-cpu-'));
  const log = await SharedLog.open(root, { fs: discardingSegments, logSync: 'fdatasync' });
  const views = await Promise.all(Array.from({ length: groups }, (_, i) => SharedLogStorage.open(log, `g${i}`)));
  const next = views.map(() => 0);
  try {
    for (const [phase, ms] of [['warm-up', 1000], ['measured', seconds * 1000]] as const) {
      let appends = 0;
      const writes0 = log.stats().writes;
      const deadline = Date.now() + ms;
      const cpu0 = process.cpuUsage();
      await Promise.all(
        views.map(async (view, g) => {
          while (Date.now() < deadline) {
            const batch: Entry[] = [];
            for (let k = 0; k < perAppend; k++) batch.push({ index: ++next[g], term: 1, kind: EntryKind.Command, data });
            await view.append(batch);
            appends++;
          }
        }),
      );
      const cpu = process.cpuUsage(cpu0);
      if (phase === 'measured') {
        const writes = log.stats().writes - writes0;
        console.log(`${groups} groups, ${perAppend} entries per append, ${seconds} s: ${appends} appends, ${(appends / writes).toFixed(1)} records per write; CPU ${((cpu.user + cpu.system) / appends).toFixed(2)} µs per append; load average ${os.loadavg()[0].toFixed(1)}`);
      }
    }
  } finally {
    for (const view of views) await view.close();
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
