/**
 * The numbers of the A/B benchmark harness (bench/ab.ts): the metrics read from each
 * benchmark's JSON, their medians over rounds, B/A ratios, spreads, and the table.
 * Pure functions, no IO.
 *
 * @example
 * const rows = compare([[{ name: 'x', value: 100, better: 'higher', control: false }]],
 *                      [[{ name: 'x', value: 95, better: 'higher', control: false }]]);
 * console.log(formatTable(rows));
 * // | metric | better | A median | B median | B/A   | ...
 * // | x      | higher |      100 |       95 | 0.950 | ...  B worse 5.0%
 */
import { median } from './clusterStats';

/** One number a benchmark run produced. */
export interface Metric {
  readonly name: string;
  readonly value: number;
  readonly better: 'higher' | 'lower';
  /**
   * Measures the machine rather than rxraft's code (a raw socket, a bare fsync): the same
   * for A and B up to noise, so its B/A shows how noisy the run was.
   */
  readonly control: boolean;
}

/** One metric over all rounds of A and of B. */
export interface Comparison {
  readonly name: string;
  readonly better: 'higher' | 'lower';
  readonly control: boolean;
  readonly a: readonly number[];
  readonly b: readonly number[];
  readonly medianA: number;
  readonly medianB: number;
  /** medianB / medianA. */
  readonly ratio: number;
  /** (max − min) / median of the rounds, in percent; NaN with fewer than two rounds. */
  readonly spreadA: number;
  readonly spreadB: number;
  /** How much worse B is than A in percent (negative: better), whichever direction is better. */
  readonly worsePercent: number;
}

/** B counts as worse or better only beyond this (issue 16: "within 5%"). */
export const TOLERANCE_PERCENT = 5;

/** `b / a`, NaN when it means nothing (a missing, zero or not finite). */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && a !== 0 ? b / a : NaN;
}

/** (max − min) / median of the finite values, in percent; NaN for fewer than two. */
export function spreadPercent(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return NaN;
  const mid = median(finite);
  return mid === 0 ? NaN : (100 * (Math.max(...finite) - Math.min(...finite))) / Math.abs(mid);
}

/**
 * Lines up the metrics of A's rounds and B's rounds by name (in the order first seen) and
 * compares their medians. A metric a round lacks (a failed or timed-out run) counts as NaN
 * there and is left out of the median.
 */
export function compare(roundsA: readonly (readonly Metric[])[], roundsB: readonly (readonly Metric[])[]): Comparison[] {
  const kinds = new Map<string, Metric>();
  for (const m of [...roundsA, ...roundsB].flat()) if (!kinds.has(m.name)) kinds.set(m.name, m);
  const values = (rounds: readonly (readonly Metric[])[], name: string) => rounds.map((r) => r.find((m) => m.name === name)?.value ?? NaN);
  return [...kinds.values()].map(({ name, better, control }) => {
    const a = values(roundsA, name);
    const b = values(roundsB, name);
    const medianA = median(a);
    const medianB = median(b);
    const r = ratio(medianA, medianB);
    return { name, better, control, a, b, medianA, medianB, ratio: r, spreadA: spreadPercent(a), spreadB: spreadPercent(b), worsePercent: 100 * (better === 'higher' ? 1 - r : r - 1) };
  });
}

/** What a row's ratio says, at `TOLERANCE_PERCENT`. */
export function verdict(c: Comparison): string {
  if (!Number.isFinite(c.worsePercent)) return 'no data';
  const noise = Math.max(c.spreadA, c.spreadB);
  const withinNoise = Number.isFinite(noise) && Math.abs(c.worsePercent) <= noise ? ' (inside the spread)' : '';
  if (c.control) return 'control (machine, not code)';
  if (c.worsePercent > TOLERANCE_PERCENT) return `B worse ${c.worsePercent.toFixed(1)}%${withinNoise}`;
  if (c.worsePercent < -TOLERANCE_PERCENT) return `B better ${(-c.worsePercent).toFixed(1)}%${withinNoise}`;
  return `within ${TOLERANCE_PERCENT}%`;
}

/** A Markdown table, one row per metric: medians, B/A, the rounds' spread of each, the verdict. */
export function formatTable(rows: readonly Comparison[]): string {
  const header = ['metric', 'better', 'A median', 'B median', 'B/A', 'A spread', 'B spread', 'rounds A/B', 'verdict'];
  const body = rows.map((c) => [
    c.control ? `${c.name} (control)` : c.name,
    c.better,
    formatValue(c.medianA),
    formatValue(c.medianB),
    Number.isFinite(c.ratio) ? c.ratio.toFixed(3) : '-',
    formatPercent(c.spreadA),
    formatPercent(c.spreadB),
    `${c.a.filter(Number.isFinite).length}/${c.b.filter(Number.isFinite).length}`,
    verdict(c),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const right = new Set([2, 3, 4, 5, 6, 7]);
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/**
 * The size of B/A's distance from 1 over the code metrics (controls left out): its median
 * and its largest, with that metric's name. Between two builds of the same code this is
 * the harness's own noise.
 */
export function ratioNoise(rows: readonly Comparison[]): { count: number; medianPercent: number; maxPercent: number; maxName: string | null } {
  const code = rows.filter((c) => !c.control && Number.isFinite(c.ratio));
  const distances = code.map((c) => 100 * Math.abs(c.ratio - 1));
  const worst = code.reduce<Comparison | null>((w, c) => (w === null || Math.abs(c.ratio - 1) > Math.abs(w.ratio - 1) ? c : w), null);
  return { count: code.length, medianPercent: median(distances), maxPercent: worst ? 100 * Math.abs(worst.ratio - 1) : NaN, maxName: worst?.name ?? null };
}

/** 63,462 · 191.0 · 0.472 · '-' */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

function formatPercent(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)}%` : '-';
}
