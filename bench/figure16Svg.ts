/**
 * Draws Figure 16 as a hand-written SVG: cumulative distributions of the time without a
 * leader, one line per election-timeout range, in a grid of panels (rows: the paper's
 * top and bottom graphs; columns: configurations). No dependencies: the output is a
 * string of SVG markup.
 */

/** One line: the measured times of a range. */
export interface CdfSeries {
  readonly label: string;
  readonly color: string;
  /** Measured times (ms), any order. */
  readonly values: readonly number[];
  /**
   * How many trials the percentages are of: `values.length` plus the trials that never
   * finished (censored), so a line that does not reach 100% shows them.
   */
  readonly total: number;
  /** Hover text (e.g. the summary). */
  readonly tooltip?: string;
}

/** A point the paper reports, drawn as a diamond in its line's color (y in [0, 1]). */
export interface PaperMark {
  readonly x: number;
  readonly y: number;
  readonly color: string;
  readonly label: string;
}

/** A line of text under a panel, with a color swatch (e.g. "no leader within 10 s in 60 of 60"). */
export interface PanelNote {
  readonly text: string;
  readonly color: string;
}

export interface XAxis {
  readonly scale: 'log' | 'linear';
  readonly min: number;
  readonly max: number;
  /** Labelled ticks. */
  readonly ticks: readonly number[];
}

export interface Panel {
  readonly series: readonly CdfSeries[];
  readonly x: XAxis;
  readonly marks?: readonly PaperMark[];
  /** Where trials gave up (ms), drawn as a dashed line if it is on the axis. */
  readonly giveUpAfter?: number;
  /** At most `MAX_NOTES` lines under the axis. */
  readonly notes?: readonly PanelNote[];
}

export interface FigureRow {
  /** Shown above the row, e.g. "Top: randomness of the timeout". */
  readonly title: string;
  /** One panel per column. */
  readonly panels: readonly Panel[];
  /** The row's legend (colors are shared by its panels). */
  readonly legend: readonly { readonly label: string; readonly color: string }[];
}

export interface FigureSpec {
  readonly title: string;
  /** Lines under the title (the setup). */
  readonly subtitle: readonly string[];
  /** Column headings. */
  readonly columns: readonly string[];
  readonly rows: readonly FigureRow[];
  /** Lines of small print under the panels. */
  readonly footer?: readonly string[];
}

/** Distinct line colors (colour-blind friendly order: Okabe–Ito). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000'] as const;

const PLOT_W = 380;
const PLOT_H = 200;
/** Lines of notes a panel has room for. */
export const MAX_NOTES = 4;
const NOTE_H = 14;
const MARGIN = { left: 58, right: 22, top: 26, bottom: 46 + MAX_NOTES * NOTE_H } as const;
const PANEL_W = MARGIN.left + PLOT_W + MARGIN.right;
const PANEL_H = MARGIN.top + PLOT_H + MARGIN.bottom;
const LEGEND_W = 200;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

/**
 * Renders the figure.
 *
 * @example
 * const svg = renderFigure({ title: 'Figure 16', subtitle: [], columns: ['rxraft'], rows: [...] });
 * fs.writeFileSync('docs/figure16.svg', svg);
 */
export function renderFigure(spec: FigureSpec): string {
  const headerH = 34 + 16 * spec.subtitle.length + 26;
  const rowTitleH = 22;
  const width = spec.columns.length * PANEL_W + LEGEND_W + 10;
  const footer = spec.footer ?? [];
  const height = headerH + spec.rows.length * (rowTitleH + PANEL_H) + 16 * footer.length + 10;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(spec.title)}</text>`,
  );
  spec.subtitle.forEach((line, i) => {
    out.push(`<text x="${width / 2}" y="${44 + 16 * i}" text-anchor="middle" fill="#444">${esc(line)}</text>`);
  });
  spec.columns.forEach((column, c) => {
    const cx = c * PANEL_W + MARGIN.left + PLOT_W / 2;
    out.push(`<text x="${cx}" y="${headerH - 8}" text-anchor="middle" font-size="13" font-weight="bold">${esc(column)}</text>`);
  });
  spec.rows.forEach((row, r) => {
    const top = headerH + r * (rowTitleH + PANEL_H);
    out.push(`<text x="10" y="${top + 15}" font-size="13" fill="#222">${esc(row.title)}</text>`);
    row.panels.forEach((panel, c) => out.push(renderPanel(panel, c * PANEL_W, top + rowTitleH)));
    out.push(renderLegend(row, spec.columns.length * PANEL_W, top + rowTitleH + MARGIN.top));
  });
  footer.forEach((line, i) => {
    const y = headerH + spec.rows.length * (rowTitleH + PANEL_H) + 4 + 16 * i;
    out.push(`<text x="10" y="${y}" font-size="11" fill="#444">${esc(line)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function renderPanel(panel: Panel, left: number, top: number): string {
  const x0 = left + MARGIN.left;
  const y0 = top + MARGIN.top;
  const sx = xScale(panel.x);
  const px = (v: number) => x0 + sx(v) * PLOT_W;
  const py = (f: number) => y0 + (1 - f) * PLOT_H;
  const out: string[] = [`<g>`];
  // Grid and y axis.
  for (let p = 0; p <= 100; p += 20) {
    const y = fmt(py(p / 100));
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + PLOT_W}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end">${p}%</text>`);
  }
  // x axis: labelled ticks with grid lines, and unlabelled minor ticks on a log axis.
  for (const t of panel.x.ticks) {
    const x = fmt(px(t));
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + PLOT_H}" stroke="#e4e4e4"/>`);
    out.push(`<line x1="${x}" y1="${y0 + PLOT_H}" x2="${x}" y2="${y0 + PLOT_H + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${y0 + PLOT_H + 18}" text-anchor="middle">${esc(panel.x.scale === 'log' ? tickLabel(t) : String(t))}</text>`);
  }
  if (panel.x.scale === 'log') {
    for (let decade = 10 ** Math.floor(Math.log10(panel.x.min)); decade < panel.x.max; decade *= 10) {
      for (let m = 2; m <= 9; m++) {
        const v = m * decade;
        if (v <= panel.x.min || v >= panel.x.max) continue;
        const x = fmt(px(v));
        out.push(`<line x1="${x}" y1="${y0 + PLOT_H}" x2="${x}" y2="${y0 + PLOT_H + 3}" stroke="#333"/>`);
      }
    }
  }
  out.push(`<rect x="${x0}" y="${y0}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${x0 + PLOT_W / 2}" y="${y0 + PLOT_H + 36}" text-anchor="middle">time without leader${panel.x.scale === 'log' ? ' (log scale)' : ' (ms)'}</text>`,
  );
  (panel.notes ?? []).slice(0, MAX_NOTES).forEach((note, i) => {
    const y = y0 + PLOT_H + 54 + i * NOTE_H;
    out.push(`<rect x="${x0}" y="${y - 8}" width="10" height="3" fill="${note.color}"/>`);
    out.push(`<text x="${x0 + 15}" y="${y}" font-size="11" fill="#333">${esc(note.text)}</text>`);
  });
  out.push(
    `<text transform="translate(${left + 14} ${y0 + PLOT_H / 2}) rotate(-90)" text-anchor="middle">cumulative percent</text>`,
  );
  if (panel.giveUpAfter !== undefined && panel.giveUpAfter > panel.x.min && panel.giveUpAfter < panel.x.max) {
    const x = fmt(px(panel.giveUpAfter));
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + PLOT_H}" stroke="#888" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${fmt(px(panel.giveUpAfter) + 4)}" y="${y0 + 14}" fill="#666" font-size="10">trials give up</text>`);
    out.push(`<text x="${fmt(px(panel.giveUpAfter) + 4)}" y="${y0 + 26}" fill="#666" font-size="10">here (${esc(tickLabel(panel.giveUpAfter))})</text>`);
  }
  // The lines, clipped to the plot.
  const clip = `clip${left}_${top}`;
  out.push(`<clipPath id="${clip}"><rect x="${x0}" y="${y0 - 2}" width="${PLOT_W + 1}" height="${PLOT_H + 4}"/></clipPath>`);
  out.push(`<g clip-path="url(#${clip})" fill="none" stroke-width="1.6" stroke-linejoin="round">`);
  for (const series of panel.series) {
    const points = cdfPoints(series, panel.x).map(([x, f]) => `${fmt(x0 + x)},${fmt(py(f))}`);
    if (points.length === 0) continue;
    const title = series.tooltip ? `<title>${esc(series.tooltip)}</title>` : '';
    out.push(`<polyline stroke="${series.color}" points="${points.join(' ')}">${title}</polyline>`);
  }
  out.push('</g>');
  for (const mark of panel.marks ?? []) {
    const x = px(mark.x);
    const y = py(mark.y);
    out.push(
      `<path d="M${fmt(x)} ${fmt(y - 6)}L${fmt(x + 6)} ${fmt(y)}L${fmt(x)} ${fmt(y + 6)}L${fmt(x - 6)} ${fmt(y)}Z" fill="${mark.color}" stroke="#000" stroke-width="1.2"><title>${esc(mark.label)}</title></path>`,
    );
  }
  out.push('</g>');
  return out.join('\n');
}

function renderLegend(row: FigureRow, left: number, top: number): string {
  const out: string[] = [];
  row.legend.forEach((entry, i) => {
    const y = top + 8 + i * 20;
    out.push(`<line x1="${left + 6}" y1="${y}" x2="${left + 32}" y2="${y}" stroke="${entry.color}" stroke-width="2.2"/>`);
    out.push(`<text x="${left + 38}" y="${y}" dy="4">${esc(entry.label)}</text>`);
  });
  if (row.panels.some((p) => (p.marks ?? []).length > 0)) {
    const y = top + 8 + row.legend.length * 20 + 6;
    out.push(`<path d="M${left + 19} ${y - 6}L${left + 25} ${y}L${left + 19} ${y + 6}L${left + 13} ${y}Z" fill="#fff" stroke="#000" stroke-width="1.2"/>`);
    out.push(`<text x="${left + 38}" y="${y}" dy="4">the paper's figure</text>`);
    out.push(`<text x="${left + 38}" y="${y + 15}" dy="4" fill="#555" font-size="11">(median: 50%, worst: 100%)</text>`);
  }
  return out.join('\n');
}

/** Maps a value to [0, 1] along the axis (outside the range: beyond 0 or 1). */
function xScale(axis: XAxis): (v: number) => number {
  if (axis.scale === 'log') {
    const lo = Math.log(axis.min);
    const span = Math.log(axis.max) - lo;
    return (v) => (Math.log(Math.max(v, 1e-9)) - lo) / span;
  }
  return (v) => (v - axis.min) / (axis.max - axis.min);
}

/**
 * The CDF sampled once per horizontal pixel: [x offset in px, fraction ≤ the value at
 * that pixel]. Runs of equal fractions keep only their ends, so flat stretches cost
 * two points.
 */
export function cdfPoints(series: CdfSeries, axis: XAxis, width = PLOT_W): [number, number][] {
  if (series.total === 0) return [];
  const sorted = [...series.values].sort((a, b) => a - b);
  const at = (p: number): number => {
    const t = p / width;
    const v = axis.scale === 'log' ? axis.min * (axis.max / axis.min) ** t : axis.min + t * (axis.max - axis.min);
    return countAtMost(sorted, v) / series.total;
  };
  const raw: [number, number][] = [];
  for (let p = 0; p <= width; p++) raw.push([p, at(p)]);
  return raw.filter((point, i) => i === 0 || i === raw.length - 1 || point[1] !== raw[i - 1][1] || point[1] !== raw[i + 1][1]);
}

/** How many of `sorted` are ≤ v (binary search). */
function countAtMost(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** "100 ms", "1 s", "10 s": whole seconds in seconds, the rest in ms. */
function tickLabel(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function fmt(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
