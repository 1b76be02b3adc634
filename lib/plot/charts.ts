/**
 * Chart builders for the notebooks: each `xFigure` function returns a Plotly figure, and each
 * display function (`lineChart`, `histogram`, `heatmap`, `barChart`) shows it (see
 * {@link plotFigure}). Inputs are plain arrays or typed arrays; nothing here touches tfjs.
 */
import { baseLayout, PlotlyFigure, PlotlyTrace } from "./figure";
import { FigureOptions, plotFigure } from "./bundle";
import type { MimeBundle } from "./display";

type Numbers = ArrayLike<number>;

/** Titles and size shared by every chart: the chart's and its two axes' titles, height, width. */
export interface AxisTitles {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Figure height in px (default 400). */
  height?: number;
  width?: number;
}

/** One line of a line chart: name, y values, optional x, dash, colour and markers. */
export interface LineSeries {
  name: string;
  y: Numbers;
  /** x values; defaults to the chart's `x`, else 0..n-1. */
  x?: ArrayLike<number | string>;
  /** Plotly dash style: "solid", "dash", "dot", ... */
  dash?: string;
  color?: string;
  /** Draw markers on the points (default true). */
  markers?: boolean;
  /**
   * Error bars as absolute bounds per point, e.g. a 95% interval: `low[i] <= y[i] <= high[i]`
   * (Plotly `error_y`, asymmetric). NaN bounds draw no bar at that point.
   */
  errorBars?: { low: Numbers; high: Numbers };
}

/** Input of `lineChart` / `lineFigure`: the series, a shared x, reference lines, axis settings. */
export interface LineChartSpec extends AxisTitles, FigureOptions {
  series: LineSeries[];
  x?: ArrayLike<number | string>;
  /** Horizontal reference lines, e.g. a random baseline. */
  hlines?: { y: number; name: string; color?: string; dash?: string }[];
  yRange?: [number, number];
  logY?: boolean;
}

function checkNumbers(fn: string, arg: string, values: Numbers): void {
  if (values === null || typeof values !== "object" || typeof values.length !== "number") {
    throw new Error(`${fn}: '${arg}' must be an array of numbers`);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Plotly's asymmetric `error_y` from absolute bounds (distances above and below each y; NaN where a bound is missing). */
function errorY(name: string, y: Numbers, bars: { low: Numbers; high: Numbers }): Record<string, unknown> {
  checkNumbers("lineChart", `errorBars.low of '${name}'`, bars.low);
  checkNumbers("lineChart", `errorBars.high of '${name}'`, bars.high);
  if (bars.low.length !== y.length || bars.high.length !== y.length) {
    throw new Error(`lineChart: series '${name}' has ${y.length} y values but error bars of ${bars.low.length} and ${bars.high.length}`);
  }
  const above: number[] = [], below: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const [lo, hi] = [bars.low[i], bars.high[i]];
    if (Number.isFinite(lo) && Number.isFinite(hi) && !(lo <= y[i] && y[i] <= hi)) {
      throw new Error(`lineChart: series '${name}' point ${i}: error bar [${lo}, ${hi}] does not contain y = ${y[i]}`);
    }
    above.push(hi - y[i]);
    below.push(y[i] - lo);
  }
  return { type: "data", symmetric: false, array: above, arrayminus: below, visible: true };
}

/** A line chart with one trace per series and optional horizontal reference lines. */
export function lineFigure(spec: LineChartSpec): PlotlyFigure {
  if (!Array.isArray(spec.series) || spec.series.length === 0) throw new Error("lineChart: 'series' must hold at least one series");
  const data: PlotlyTrace[] = spec.series.map((s, i) => {
    checkNumbers("lineChart", `series[${i}].y`, s.y);
    const x = s.x ?? spec.x ?? range(s.y.length);
    if (x.length !== s.y.length) throw new Error(`lineChart: series '${s.name}' has ${s.y.length} y values but ${x.length} x values`);
    const trace: PlotlyTrace = { type: "scatter", mode: s.markers === false ? "lines" : "lines+markers", name: s.name, x: Array.from(x), y: Array.from(s.y) };
    if (s.dash || s.color) trace.line = { ...(s.dash ? { dash: s.dash } : {}), ...(s.color ? { color: s.color } : {}) };
    if (s.errorBars) trace.error_y = errorY(s.name, s.y, s.errorBars);
    return trace;
  });
  const allX = data.flatMap((t) => t.x as unknown[]);
  const numericX = allX.filter((v): v is number => typeof v === "number");
  for (const h of spec.hlines ?? []) {
    const x0 = numericX.length ? Math.min(...numericX) : 0;
    const x1 = numericX.length ? Math.max(...numericX) : 1;
    data.push({ type: "scatter", mode: "lines", name: h.name, x: [x0, x1], y: [h.y, h.y], line: { dash: h.dash ?? "dash", color: h.color ?? "#888888" } });
  }
  const layout = baseLayout(spec);
  const yaxis = layout.yaxis as Record<string, unknown>;
  if (spec.yRange) yaxis.range = spec.yRange;
  if (spec.logY) yaxis.type = "log";
  // The legend goes right under the x-axis title, with room below for one row per entry (a
  // narrow output area stacks the entries): a legend at a fixed negative y overlaps the axis
  // title whenever the figure is short or narrow.
  const margin = layout.margin as Record<string, number>;
  const axisTitleSpace = margin.b;
  const legendSpace = 8 + 20 * data.length;
  margin.b += legendSpace;
  layout.height = (layout.height as number) + legendSpace;
  const plotHeight = (layout.height as number) - margin.t - margin.b;
  layout.legend = { orientation: "h", yanchor: "top", y: -(axisTitleSpace + 6) / plotHeight, x: 0, xanchor: "left" };
  return { data, layout };
}

/** Shows {@link lineFigure}; returns the bundle outside a kernel. */
export function lineChart(spec: LineChartSpec): MimeBundle | undefined {
  return plotFigure(lineFigure(spec), spec);
}

/** Input of `histogram` / `histogramFigure`: one array or named arrays, binned in TypeScript. */
export interface HistogramSpec extends AxisTitles, FigureOptions {
  /** One sample, or several named samples drawn over each other on the same bins. */
  values: Numbers | { name: string; values: Numbers }[];
  /** Number of equal-width bins (default 50). */
  bins?: number;
  /** Bin range; default: min and max over all samples. */
  range?: [number, number];
  /** "count" (default) or "probability" (each sample's bars sum to 1). */
  norm?: "count" | "probability";
  logY?: boolean;
}

/**
 * Bins `values` into `bins` equal bins over `[lo, hi]` (the last bin includes hi; values
 * outside are dropped, non-finite values are counted separately). Returns bin centres and counts.
 */
export function binValues(values: Numbers, bins: number, lo: number, hi: number): { centers: number[]; counts: number[]; outside: number; nonFinite: number } {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: 'bins' must be a positive integer, got ${bins}`);
  if (!(hi > lo)) {
    // Degenerate range (all values equal): one unit-wide bin around the value.
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < lo || v > hi) {
      outside++;
      continue;
    }
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  }
  const centers = counts.map((_, i) => lo + (i + 0.5) * width);
  return { centers, counts, outside, nonFinite };
}

/**
 * A histogram, binned here (not by Plotly) so the stored figure holds `bins` numbers instead of
 * every value: 23k per-token scores become 50 bars.
 */
export function histogramFigure(spec: HistogramSpec): PlotlyFigure {
  const samples = Array.isArray(spec.values) && spec.values.length > 0 && typeof spec.values[0] === "object"
    ? (spec.values as { name: string; values: Numbers }[])
    : [{ name: "", values: spec.values as Numbers }];
  samples.forEach((s, i) => checkNumbers("histogram", `values[${i}]`, s.values));
  let lo = Infinity;
  let hi = -Infinity;
  if (spec.range) [lo, hi] = spec.range;
  else {
    for (const s of samples) {
      for (let i = 0; i < s.values.length; i++) {
        const v = s.values[i];
        if (Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    if (lo === Infinity) throw new Error("histogram: no finite values to bin");
  }
  const bins = spec.bins ?? 50;
  const data: PlotlyTrace[] = samples.map((s) => {
    const b = binValues(s.values, bins, lo, hi);
    const total = b.counts.reduce((a, c) => a + c, 0);
    const y = spec.norm === "probability" ? b.counts.map((c) => (total ? c / total : 0)) : b.counts;
    const trace: PlotlyTrace = { type: "bar", x: b.centers, y, width: b.centers.length > 1 ? b.centers[1] - b.centers[0] : 1 };
    if (s.name) trace.name = s.name;
    if (samples.length > 1) trace.opacity = 0.6;
    return trace;
  });
  const layout = baseLayout({ ...spec, yTitle: spec.yTitle ?? (spec.norm === "probability" ? "fraction" : "count") });
  layout.barmode = "overlay";
  layout.bargap = 0;
  layout.showlegend = samples.length > 1;
  if (spec.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  return { data, layout };
}

/** Shows {@link histogramFigure}; returns the bundle outside a kernel. */
export function histogram(spec: HistogramSpec): MimeBundle | undefined {
  return plotFigure(histogramFigure(spec), spec);
}

/** Input of `heatmap` / `heatmapFigure`: `z[row][col]` (NaN cells left empty), labels and colour scale. */
export interface HeatmapSpec extends AxisTitles, FigureOptions {
  /** Rows of values: z[row][column]; NaN/undefined cells are drawn empty. */
  z: ArrayLike<number>[];
  x?: ArrayLike<number | string>;
  y?: ArrayLike<number | string>;
  zmin?: number;
  zmax?: number;
  /** Plotly colorscale name (default "Viridis"). */
  colorscale?: string;
  colorbarTitle?: string;
  /** Write each value in its cell with this many decimals (omit for no labels). */
  labelDecimals?: number;
}

/** A heatmap of a matrix, e.g. linearity between every pair of states. */
export function heatmapFigure(spec: HeatmapSpec): PlotlyFigure {
  if (!Array.isArray(spec.z) || spec.z.length === 0) throw new Error("heatmap: 'z' must be a non-empty array of rows");
  const cols = spec.z[0].length;
  spec.z.forEach((row, i) => {
    checkNumbers("heatmap", `z[${i}]`, row);
    if (row.length !== cols) throw new Error(`heatmap: row ${i} of 'z' has ${row.length} values, row 0 has ${cols}`);
  });
  const z = spec.z.map((row) => Array.from(row, (v) => (v === undefined || !Number.isFinite(v) ? null : v)));
  const trace: PlotlyTrace = {
    type: "heatmap",
    z,
    x: spec.x ? Array.from(spec.x) : range(cols),
    y: spec.y ? Array.from(spec.y) : range(z.length),
    colorscale: spec.colorscale ?? "Viridis",
    colorbar: { title: { text: spec.colorbarTitle ?? "" } },
    hoverongaps: false,
  };
  if (spec.zmin !== undefined) trace.zmin = spec.zmin;
  if (spec.zmax !== undefined) trace.zmax = spec.zmax;
  if (spec.labelDecimals !== undefined) {
    trace.text = z.map((row) => row.map((v) => (v === null ? "" : v.toFixed(spec.labelDecimals))));
    trace.texttemplate = "%{text}";
  }
  const layout = baseLayout(spec);
  (layout.yaxis as Record<string, unknown>).autorange = "reversed";
  return { data: [trace], layout };
}

/** Shows {@link heatmapFigure}; returns the bundle outside a kernel. */
export function heatmap(spec: HeatmapSpec): MimeBundle | undefined {
  return plotFigure(heatmapFigure(spec), spec);
}

/** Input of `barChart` / `barFigure`: category labels and one bar series per entry. */
export interface BarChartSpec extends AxisTitles, FigureOptions {
  /** Category labels. */
  x: ArrayLike<string | number>;
  series: { name: string; y: Numbers; color?: string }[];
  /** "group" (default) or "stack". */
  barmode?: "group" | "stack";
}

/** A bar chart with one bar per category and series. */
export function barFigure(spec: BarChartSpec): PlotlyFigure {
  if (!Array.isArray(spec.series) || spec.series.length === 0) throw new Error("barChart: 'series' must hold at least one series");
  const data = spec.series.map((s, i): PlotlyTrace => {
    checkNumbers("barChart", `series[${i}].y`, s.y);
    if (s.y.length !== spec.x.length) throw new Error(`barChart: series '${s.name}' has ${s.y.length} values for ${spec.x.length} categories`);
    return { type: "bar", name: s.name, x: Array.from(spec.x), y: Array.from(s.y), ...(s.color ? { marker: { color: s.color } } : {}) };
  });
  const layout = baseLayout(spec);
  layout.barmode = spec.barmode ?? "group";
  return { data, layout };
}

/** Shows {@link barFigure}; returns the bundle outside a kernel. */
export function barChart(spec: BarChartSpec): MimeBundle | undefined {
  return plotFigure(barFigure(spec), spec);
}
