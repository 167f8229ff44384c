/**
 * What a Linux process's resident memory is made of, from `/proc/self/smaps`: resident
 * KiB summed by kind of mapping — anonymous (V8's heap pages, 256 KiB each, malloc
 * arenas other than the main one, thread stacks), `[heap]` (the main malloc arena),
 * `[stack]`, files (the node binary, shared libraries) and `lazy free (in Rss)` (pages
 * given back with MADV_FREE, still counted) — plus the thread count and the anonymous
 * regions in size classes, so a glibc arena (64 MiB reserved each) or a thread stack
 * (8 MiB) shows by its shape. Used by bench/groupMemoryKv.ts through the hosts' `memory` call;
 * also how long to wait before reading RSS after a forced GC (`settledRss`).
 *
 *     residentByKind() // { kinds: { anon: 61234, '[heap]': 5300, file: 42600, ... }, threads: 11, anonBySize: { '<= 1 MiB': { count: 240, residentKiB: 58000 }, ... } }
 */
import * as fs from 'node:fs';

export interface ResidentByKind {
  /** Resident KiB by mapping kind: 'anon', '[heap]', '[stack]', 'file', and any other bracketed name. */
  readonly kinds: Record<string, number>;
  /** Resident KiB of anonymous mappings by their reserved size (with an adjacent PROT_NONE tail counted in). */
  readonly anonBySize: Record<string, { count: number; residentKiB: number }>;
  readonly threads: number;
}

const SIZE_CLASSES: [string, number][] = [
  ['<= 1 MiB', 1024],
  ['<= 8 MiB', 8 * 1024 + 4],
  ['<= 32 MiB', 32 * 1024],
  ['64 MiB (malloc arena)', 64 * 1024],
  ['> 64 MiB', Infinity],
];

/** Resident memory of this process by kind of mapping (Linux only; empty elsewhere). */
export function residentByKind(): ResidentByKind {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return { kinds: {}, anonBySize: {}, threads: 0 };
  }
  const kinds: Record<string, number> = {};
  const anonBySize: Record<string, { count: number; residentKiB: number }> = {};
  // Anonymous regions: a run of adjacent anonymous mappings (rw part and PROT_NONE tail of one arena).
  let region: { end: number; sizeKiB: number; residentKiB: number } | null = null;
  const closeRegion = () => {
    if (!region) return;
    const cls = SIZE_CLASSES.find(([, max]) => region!.sizeKiB <= max)![0];
    const slot = (anonBySize[cls] ??= { count: 0, residentKiB: 0 });
    slot.count++;
    slot.residentKiB += region.residentKiB;
    region = null;
  };
  let current: { kind: string; start: number; end: number } | null = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[3].trim();
      const kind = name === '' ? 'anon' : name.startsWith('[') ? name : 'file';
      current = { kind, start: parseInt(head[1], 16), end: parseInt(head[2], 16) };
      const sizeKiB = (current.end - current.start) / 1024;
      if (kind === 'anon') {
        if (region && region.end === current.start) {
          region.end = current.end;
          region.sizeKiB += sizeKiB;
        } else {
          closeRegion();
          region = { end: current.end, sizeKiB, residentKiB: 0 };
        }
      } else closeRegion();
      continue;
    }
    const lazy = /^LazyFree:\s+(\d+) kB/.exec(line);
    if (lazy) kinds['lazy free (in Rss)'] = (kinds['lazy free (in Rss)'] ?? 0) + Number(lazy[1]);
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) {
      const kib = Number(rss[1]);
      kinds[current.kind] = (kinds[current.kind] ?? 0) + kib;
      if (current.kind === 'anon' && region) region.residentKiB += kib;
    }
  }
  closeRegion();
  let threads = 0;
  try {
    threads = Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  } catch {
    // not Linux
  }
  return { kinds, anonBySize, threads };
}

/**
 * How long after a forced GC RSS is read (`settledRss`): the pages that GC frees leave RSS
 * only once V8's unmapper (a worker thread) has unmapped them, and read in the same turn
 * they counted as memory of the groups (docs/notes/group-memory.md, fourth round). Every
 * check saw them gone within 100 ms.
 */
export const RSS_SETTLE_MS = 1000;

/**
 * RSS `settleMs` after a full GC (`atGc` when 0). The GC hands the pages it frees (a young
 * generation shrunk from 32 MiB, evacuated old-space pages) to V8's unmapper and reports
 * them gone at once (heapTotal); RSS read in the same turn still holds those not yet
 * unmapped: measured 8 MiB on one of three 1-group hosts, gone 100 ms later.
 *
 * @example
 * global.gc!(); const rss = await settledRss(RSS_SETTLE_MS, process.memoryUsage.rss());
 */
export async function settledRss(settleMs: number, atGc: number): Promise<number> {
  if (settleMs <= 0) return atGc;
  await new Promise((r) => setTimeout(r, settleMs));
  return process.memoryUsage.rss();
}
