/** CPU time of the server processes, as the side-by-side benchmark charges it, and system calls per process (bench/procCpu.ts). */
import { closeSync, openSync, writeSync } from 'node:fs';
import { cpuTicksOfStat, processesCpuMicros, processSyscalls } from '../../bench/procCpu';

describe('cpuTicksOfStat', () => {
  it('adds utime and stime (fields 14 and 15)', () => {
    expect(cpuTicksOfStat('42 (etcd) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 5 0 0')).toBe(281);
  });

  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    expect(cpuTicksOfStat('7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 12 3 0 0 20 0 1 0 5 0 0')).toBe(15);
  });

  it('refuses what is not a stat line', () => {
    expect(() => cpuTicksOfStat('no parenthesis here')).toThrow(/not a \/proc/);
    expect(() => cpuTicksOfStat('1 (x) S 1 2')).toThrow(/no utime\/stime/);
  });
});

(process.platform === 'linux' ? describe : describe.skip)('processesCpuMicros', () => {
  it('reads this process from /proc, and is NaN for a process that does not exist', () => {
    let spin = 0;
    for (let i = 0; i < 2e6; i++) spin += i;
    expect(spin).toBeGreaterThan(0);
    expect(processesCpuMicros([process.pid])).toBeGreaterThan(0);
    expect(processesCpuMicros([process.pid, 2 ** 22 + 1])).toBeNaN();
  });
});

(process.platform === 'linux' ? describe : describe.skip)('processSyscalls', () => {
  it('counts a write this process makes, and is null for a process that does not exist', () => {
    const before = processSyscalls(process.pid);
    expect(before).not.toBeNull();
    const fd = openSync('/dev/null', 'w');
    writeSync(fd, 'x');
    closeSync(fd);
    const after = processSyscalls(process.pid);
    expect(after!.writes).toBeGreaterThan(before!.writes);
    expect(after!.reads).toBeGreaterThanOrEqual(before!.reads);
    expect(processSyscalls(2 ** 22 + 1)).toBeNull();
  });
});
