/**
 * CPU time of other processes, read from /proc/<pid>/stat (Linux): how the side-by-side
 * benchmark charges each server its CPU, the same way for rxraft's processes and etcd's.
 *
 * @example
 * const before = processesCpuMicros(pids);
 * await runLoad();
 * const perOp = (processesCpuMicros(pids) - before) / operations;
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * User + system CPU time, in clock ticks, from the text of /proc/<pid>/stat. The command
 * name (field 2) is in parentheses and may hold spaces or parentheses itself, so fields
 * are counted from the last `)`: utime and stime are fields 14 and 15.
 *
 * @example
 * cpuTicksOfStat('42 (etcd) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 5 0 0'); // 281
 */
export function cpuTicksOfStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  const fields = stat.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat: ${stat.slice(0, 80)}`);
  return utime + stime;
}

let ticksPerSecond: number | null = null;

/** The kernel's clock ticks per second (`getconf CLK_TCK`; 100 if that cannot be run). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The CPU time (user + system) the processes `pids` have used so far, in µs; NaN if one is not readable. */
export function processesCpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      ticks += cpuTicksOfStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return NaN;
    }
  }
  return (ticks / clockTicks()) * 1e6;
}

/** Read-type and write-type system calls a process has made so far (read, recv, readv… / write, send, writev…). */
export interface SyscallCounts {
  readonly reads: number;
  readonly writes: number;
}

/**
 * The system calls that read or write (`syscr`, `syscw` of /proc/<pid>/io, all threads),
 * so a benchmark can count them per operation without tracing (strace slows the process
 * and so changes how many messages each write gathers); null where not readable.
 *
 * @example
 * const before = processSyscalls(process.pid);
 * await runLoad();
 * const writesPerOp = (processSyscalls(process.pid)!.writes - before!.writes) / operations;
 */
export function processSyscalls(pid: number): SyscallCounts | null {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const reads = Number(/^syscr:\s*(\d+)/m.exec(io)?.[1]);
    const writes = Number(/^syscw:\s*(\d+)/m.exec(io)?.[1]);
    return Number.isFinite(reads) && Number.isFinite(writes) ? { reads, writes } : null;
  } catch {
    return null;
  }
}
