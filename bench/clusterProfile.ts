/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`): where each process spent its time, by
 * area (rxraft core, node driver, transport, storage, the KV example, rxjs, msgpack,
 * Node's net/http/fs, GC, idle) and by function (self time).
 *
 *   npx ts-node --transpile-only bench/clusterProfile.ts <dir with .cpuprofile files>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The area of the code a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'GC';
    return 'native / (program)';
  }
  const u = url.replace(/\\/g, '/');
  const m = /\/src\/(core|transports|storage|streams|messages|states|operators)\//.exec(u);
  if (m) return `rxraft ${m[1]}`;
  if (/\/src\/node\.(ts|js)$/.test(u)) return 'rxraft node.ts (driver)';
  if (u.includes('/src/')) return 'rxraft other';
  if (u.includes('/examples/') || u.includes('/bench/')) return 'KV example + load generator';
  if (u.includes('node_modules/rxjs')) return 'rxjs';
  if (u.includes('node_modules/msgpack') || u.includes('node_modules/int64') || u.includes('node_modules/ieee754') || u.includes('node_modules/isarray')) return 'msgpack-lite';
  if (u.includes('node_modules/')) return 'other packages';
  const mod = /^node:(internal\/)?([a-z_]+)/.exec(u);
  if (mod) {
    const name = mod[2];
    if (name.startsWith('_http') || name === 'http') return 'node http';
    if (['net', 'stream', 'streams', 'tcp_wrap'].includes(name)) return 'node net/streams';
    if (name === 'fs') return 'node fs';
    return `node ${name}`;
  }
  return 'other';
}

/** Self time per area and per function of one profile, in ms. */
export function analyze(profile: CpuProfile): { totalMs: number; areas: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const area = areaOf(url, functionName);
    totalMs += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    if (area === 'idle') continue;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  return { totalMs, areas, functions };
}

/** A text report of every `.cpuprofile` in `dir`, busiest process first. */
export function summarizeProfiles(dir: string, topFunctions = 15): string {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return `${dir}: no profiles`;
  const analyzed = files
    .map((f) => ({ file: f, ...analyze(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile) }))
    .sort((a, b) => b.totalMs - (b.areas.get('idle') ?? 0) - (a.totalMs - (a.areas.get('idle') ?? 0)));
  const out: string[] = [`\n== ${dir}`];
  for (const p of analyzed) {
    const busy = p.totalMs - (p.areas.get('idle') ?? 0);
    out.push(`\n${p.file}: ${(p.totalMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy (${((busy / p.totalMs) * 100).toFixed(0)}%)`);
    out.push('  busy time by area:');
    for (const [area, ms] of [...p.areas].filter(([a]) => a !== 'idle').sort((a, b) => b[1] - a[1])) {
      out.push(`    ${area.padEnd(30)} ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${(ms / 1000).toFixed(2)} s`);
    }
    out.push(`  top functions (self time):`);
    for (const [fn, ms] of [...p.functions].sort((a, b) => b[1] - a[1]).slice(0, topFunctions)) {
      out.push(`    ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${fn}`);
    }
  }
  return out.join('\n');
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: ts-node bench/clusterProfile.ts <dir with .cpuprofile files>');
    process.exit(2);
  }
  console.log(summarizeProfiles(dir, Number(process.argv[3] ?? 25)));
}
