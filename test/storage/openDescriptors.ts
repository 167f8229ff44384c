import * as fs from 'fs';
import * as path from 'path';

/** This process's open descriptors of segment files in `dir` (Linux: /proc/self/fd), deleted ones included. */
export function segmentDescriptors(dir: string): number {
  return segmentTargets(dir).length;
}

/** This process's open descriptors of segment files in `dir` that were deleted. */
export function deletedSegmentDescriptors(dir: string): number {
  return segmentTargets(dir).filter((t) => t.endsWith(' (deleted)')).length;
}

/** Where this process's open descriptors of segment files in `dir` point. */
function segmentTargets(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(path.join('/proc/self/fd', fd));
    } catch {
      continue; // closed meanwhile (the readdir's own descriptor)
    }
    if (target.startsWith(dir + path.sep) && /\.wal( \(deleted\))?$/.test(target)) out.push(target);
  }
  return out;
}
