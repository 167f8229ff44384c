/**
 * CPU steal: the share of this virtual machine's CPU time the hypervisor gave to others.
 * A benchmark prints it beside its results, because on a shared host it moves them more
 * than most code changes do (seen here: 40% steal halved every throughput figure).
 * Linux only (/proc/stat); elsewhere `null`.
 *
 * @example
 * const before = cpuTimes();
 * await runLoad();
 * console.log(`steal ${stealPercent(before, cpuTimes())?.toFixed(0)}%`);
 */
import * as fs from 'node:fs';

/** Cumulative CPU time of all CPUs, in clock ticks: total and stolen. */
export interface CpuTimes {
  readonly total: number;
  readonly steal: number;
}

export function cpuTimes(): CpuTimes | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return null;
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] };
  } catch {
    return null;
  }
}

/** Percent of the CPU time between two readings that was stolen; null if unknown. */
export function stealPercent(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return (100 * (after.steal - before.steal)) / (after.total - before.total);
}
