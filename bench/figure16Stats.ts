/**
 * Statistics of Figure 16 trials and the paper's reported figures to compare them with.
 *
 * A trial that elected no leader within the give-up time is *censored*: it counts as
 * longer than every measured one, so order statistics (median, p99, worst) stay exact
 * whenever they fall on a measured trial and read "> give-up" otherwise. Its mean is
 * then only a lower bound (censored trials counted at the give-up time).
 */
import type { TimeoutRange } from '../src/api';

/** Summary of one range's downtimes, in ms. */
export interface Summary {
  /** Trials that measured something (unstable ones excluded). */
  readonly n: number;
  /** Of those, trials with no leader within `giveUpAfter`. */
  readonly censored: number;
  /** Trials without a stable leader to crash, excluded from everything else. */
  readonly unstable: number;
  /** Infinity when it falls on a censored trial. */
  readonly median: number;
  /** Mean; a lower bound when `censored > 0` (censored trials counted at `giveUpAfter`). */
  readonly mean: number;
  /** 99th percentile (nearest rank); Infinity when it falls on a censored trial. */
  readonly p99: number;
  /** Infinity when any trial was censored. */
  readonly worst: number;
  readonly giveUpAfter: number;
}

/**
 * Summarizes downtimes: a number per measured trial, `null` for a censored one,
 * `undefined` for an unstable one (excluded).
 *
 * @example
 * summarize([100, 200, null], 10_000);
 * // { n: 3, censored: 1, median: 200, mean: 3433.3 (a lower bound), worst: Infinity, ... }
 */
export function summarize(values: readonly (number | null | undefined)[], giveUpAfter: number): Summary {
  const measured = values.filter((v): v is number | null => v !== undefined);
  const sorted = measured.map((v) => v ?? Infinity).sort((a, b) => a - b);
  const n = sorted.length;
  const censored = sorted.filter((v) => v === Infinity).length;
  const sum = sorted.reduce((acc, v) => acc + Math.min(v, giveUpAfter), 0);
  return {
    n,
    censored,
    unstable: values.length - n,
    median: n === 0 ? NaN : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    mean: n === 0 ? NaN : sum / n,
    p99: n === 0 ? NaN : sorted[Math.ceil(0.99 * n) - 1],
    worst: n === 0 ? NaN : sorted[n - 1],
    giveUpAfter,
  };
}

/** The statistic of a summary the paper reported for a range. */
export type PaperStat = 'median' | 'mean' | 'worst';

/**
 * A number the paper reports for one range (§9.3, Figure 16). `atLeast` marks a lower
 * bound ("longer than 10 seconds"); every other figure is an upper bound for rxraft to
 * meet or beat.
 */
export interface PaperFigure {
  readonly stat: PaperStat;
  readonly ms: number;
  readonly atLeast?: boolean;
}

/** The figures the paper's text gives, by range label. */
export const PAPER_FIGURES: Readonly<Record<string, readonly PaperFigure[]>> = {
  // "In the absence of randomness, leader election consistently took longer than 10
  // seconds in our tests due to many split votes" (100 trials for this line).
  '150-150': [{ stat: 'median', ms: 10_000, atLeast: true }],
  // "Adding just 5ms of randomness helps significantly, resulting in a median downtime of 287ms."
  '150-155': [{ stat: 'median', ms: 287 }],
  // "with 50ms of randomness the worst-case completion time (over 1000 trials) was 513ms."
  '150-200': [{ stat: 'worst', ms: 513 }],
  // "With an election timeout of 12-24ms, it takes only 35ms on average to elect a leader
  // (the longest trial took 152ms)."
  '12-24': [
    { stat: 'mean', ms: 35 },
    { stat: 'worst', ms: 152 },
  ],
};

/** "150-155" for { min: 150, max: 155 }. */
export function rangeLabel(range: TimeoutRange): string {
  return `${range.min}-${range.max}`;
}

/** How a measured statistic compares with the paper's figure. */
export interface Verdict {
  readonly figure: PaperFigure;
  /** Ours, as measured; for a mean with censored trials, a lower bound. */
  readonly ours: number;
  /**
   * At or below the paper's figure. Against a lower bound ("longer than 10 s") that is
   * always so: either ours is below it, or it is the same finding.
   */
  readonly ok: boolean;
  /** ours / paper. */
  readonly ratio: number;
}

/** Compares a summary with each figure the paper gives for its range. */
export function compareWithPaper(label: string, summary: Summary): Verdict[] {
  return (PAPER_FIGURES[label] ?? []).map((figure) => {
    const ours = summary[figure.stat];
    const lowerBoundOnly = figure.stat === 'mean' && summary.censored > 0;
    const ok = figure.atLeast ? true : ours <= figure.ms && !lowerBoundOnly;
    return { figure, ours, ok, ratio: ours / figure.ms };
  });
}

/** A time for a table: "287", "1.2 s", "> 10 s"; with `lowerBound`, prefixed by "≥". */
export function formatMs(ms: number, giveUpAfter?: number, lowerBound = false): string {
  if (Number.isNaN(ms)) return '–';
  if (ms === Infinity) return giveUpAfter === undefined ? '∞' : `> ${formatMs(giveUpAfter)}`;
  const text = ms >= 10_000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)}`;
  return lowerBound ? `≥ ${text}` : text;
}

/** "median 287" or "all > 10 s". */
export function formatFigure(figure: PaperFigure): string {
  return figure.atLeast ? `all > ${formatMs(figure.ms)}` : `${figure.stat} ${formatMs(figure.ms)}`;
}

/** "yes", "no (12.1×)", or against the paper's lower bound "yes (also > 10 s)" / "yes (below)". */
export function formatVerdict(v: Verdict): string {
  if (v.figure.atLeast) return v.ours > v.figure.ms ? `yes (also > ${formatMs(v.figure.ms)})` : 'yes (below)';
  if (v.ok) return 'yes';
  return Number.isFinite(v.ratio) ? `no (${v.ratio.toFixed(1)}×)` : 'no';
}
