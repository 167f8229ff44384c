import { groupsReport, GroupsLevelResult } from '../../bench/clusterGroups';

const host = (id: string, leads: number, fsyncsPerSec: number, cpuPercent: number, rssMb = 80, heapMb = 40, groupMessagesPerSec = 0, livenessMessagesPerSec = 0, heapTotalMb = heapMb + 10, externalMb = 1, arrayBuffersMb = 0.5) => ({
  id, leads, proposers: leads, writesPerSec: 0, p50Ms: 1, p99Ms: 2, fsyncsPerSec, cpuPercent, framesSentPerSec: 0, rssMb, heapMb, groupMessagesPerSec, livenessMessagesPerSec, heapTotalMb, externalMb, arrayBuffersMb,
});
const level = (groups: number, writesPerSec: number, hosts: GroupsLevelResult['hosts'], errors = {}, concurrency = 256): GroupsLevelResult => ({
  groups, concurrency, writesPerSec, p50Ms: 4.5, p99Ms: 120, cpuMicrosPerWrite: (hosts.reduce((n, h) => n + h.cpuPercent, 0) * 1e4) / writesPerSec, errors, hosts,
});

describe('the multi-group benchmark table', () => {
  it('shows each group count with per-host fsyncs/s, CPU, memory and leaders, errors, and the ratio of many groups to one', () => {
    const lines = groupsReport({
      levels: [
        level(1, 10_000, [host('h1', 1, 60, 45), host('h2', 0, 61, 40), host('h3', 0, 59, 40)]),
        level(64, 15_000, [host('h1', 22, 900, 50), host('h2', 21, 910, 50), host('h3', 21, 905, 51)], { NotLeaderError: 3 }),
      ],
      failovers: [],
    });
    const rows = lines.filter((l) => /^\|\s+\d/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\|\s+1 \|\s+256 \|\s+10000 \|\s+4\.50 \|\s+120\.00 \| 60 \/ 61 \/ 59\s+\| 45 \/ 40 \/ 40\s+\|\s+125 \| 80 \/ 80 \/ 80\s+\| 40 \/ 40 \/ 40\s+\| 1 \/ 0 \/ 0\s+\| - \|$/);
    expect(rows[1]).toContain('| 22 / 21 / 21 ');
    expect(rows[1]).toContain('| NotLeaderError 3 |');
    expect(lines).toContain('64 groups vs 1 at 256 proposers: 1.50× the writes/s; fsyncs/s per host 900 / 910 / 905 vs 60 / 61 / 59');
  });

  it('reports an idle level (0 proposers): CPU per host and memory per group over the one-group run', () => {
    const lines = groupsReport({
      levels: [
        level(1, 0, [host('h1', 1, 0, 0.5, 70, 20), host('h2', 0, 0, 0.4, 70, 20), host('h3', 0, 0, 0.4, 71, 21)], {}, 0),
        level(1001, 0, [host('h1', 334, 0, 4.2, 120, 60, 2, 80, 75, 3, 2), host('h2', 333, 0, 4.0, 110, 59, 0, 80), host('h3', 334, 0, 4.1, 131, 61, 0, 80)], {}, 0),
      ],
      failovers: [],
    });
    expect(lines).toContain('idle, 1001 groups: CPU % per host 4.2 / 4.0 / 4.1; memory per group 51 / 41 / 61 KiB RSS, 41 / 40 / 41 KiB heap (over the 1-group run)');
    expect(lines).toContain(
      'idle, 1001 groups, the rest of RSS per group: heap committed but free 5.1 / 0.0 / 0.0 KiB; outside the heap 2.0 / 0.0 / 0.0 KiB (ArrayBuffers 1.5 / 0.0 / 0.0); code, malloc and stacks 3.1 / 1.0 / 20.5 KiB',
    );
    expect(lines).toContain('idle messages received per second per host (group + host liveness): 1 group 0 + 0 / 0 + 0 / 0 + 0; 1001 groups 2 + 80 / 0 + 80 / 0 + 80');
    expect(lines.some((l) => l.includes('vs 1 at 0 proposers'))).toBe(false);
  });

  it('shows RSS read in the forced GC\'s turn beside the settled RSS when the hosts reported it', () => {
    const settled = (h: ReturnType<typeof host>, rssAtGcMb: number) => ({ ...h, rssAtGcMb });
    const lines = groupsReport({
      levels: [
        level(1, 0, [settled(host('h1', 1, 0, 0.5, 70, 20), 78), settled(host('h2', 0, 0, 0.4, 70, 20), 70), settled(host('h3', 0, 0, 0.4, 71, 21), 71)], {}, 0),
        level(1001, 0, [settled(host('h1', 334, 0, 4.2, 120, 60), 150), settled(host('h2', 333, 0, 4.0, 110, 59), 140), settled(host('h3', 334, 0, 4.1, 131, 61), 131)], {}, 0),
      ],
      failovers: [],
    });
    expect(lines).toContain("idle, 1001 groups: CPU % per host 4.2 / 4.0 / 4.1; memory per group 51 / 41 / 61 KiB RSS (read in the forced GC's turn, as before 2026-12-06: 74 / 72 / 61), 41 / 40 / 41 KiB heap (over the 1-group run)");
  });

  it('reports the failovers: the median time until every group the killed host led has a leader, and many groups against one', () => {
    const lines = groupsReport({
      levels: [],
      failovers: [
        { groups: 1, affected: 1, allMs: 300, medianGroupMs: 300 },
        { groups: 1, affected: 1, allMs: 500, medianGroupMs: 500 },
        { groups: 1, affected: 1, allMs: 400, medianGroupMs: 400 },
        { groups: 64, affected: 22, allMs: 700, medianGroupMs: 450 },
        { groups: 64, affected: 21, allMs: 500, medianGroupMs: 350 },
      ],
    });
    expect(lines).toContain('failover, 1 group(s) (SIGKILL the host leading the most; 3 rounds): every group it led has a leader elsewhere after 400 ms median (rounds: 1 groups 300 ms, 1 groups 500 ms, 1 groups 400 ms); a group\'s new leader after 400 ms median');
    expect(lines).toContain('failover, 64 groups vs 1: 1.50× the median (target < 2×)');
  });
});
