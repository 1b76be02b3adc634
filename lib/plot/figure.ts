/**
 * Plotly figure types (the subset the charts here produce) and number rounding that keeps
 * figure JSON small and stable: notebook checks compare the JSON MIME by deep equality, so
 * values are rounded to a few significant digits before they are stored.
 */

/** One Plotly trace; any Plotly attribute may be added. */
export interface PlotlyTrace {
  type: string;
  name?: string;
  x?: unknown[];
  y?: unknown[];
  z?: unknown[][];
  [attr: string]: unknown;
}

/** `{data, layout, config}`, the content of the `application/vnd.plotly.v1+json` MIME type. */
export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** Default significant digits kept in figure data. */
export const DEFAULT_SIGNIFICANT_DIGITS = 4;

/** Rounds to `digits` significant digits; non-finite values become null (Plotly's gap). */
export function roundSignificant(x: number, digits = DEFAULT_SIGNIFICANT_DIGITS): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0) return 0;
  const r = Number(x.toPrecision(digits));
  return Object.is(r, -0) ? 0 : r;
}

/** Rounds every number in a JSON-like value (arrays, typed arrays and plain objects). */
export function roundDeep(value: unknown, digits = DEFAULT_SIGNIFICANT_DIGITS): unknown {
  if (typeof value === "number") return roundSignificant(value, digits);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>, (v) => roundSignificant(Number(v), digits));
  }
  if (Array.isArray(value)) return value.map((v) => roundDeep(v, digits));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, roundDeep(v, digits)]));
  }
  return value;
}

/** Characters per title line: longer titles are wrapped at spaces (Plotly does not wrap). */
export const TITLE_LINE_CHARS = 64;

/** Splits a title into lines of at most `width` characters at spaces (longer words stay whole). */
export function wrapTitle(title: string, width = TITLE_LINE_CHARS): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of title.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Shared layout defaults: a plain white template and margins that suit notebook width. Long
 * titles are wrapped (`<br>`) and the mode bar stands vertically at the right edge, so that in
 * a narrow output area the title does not run under the mode bar.
 */
export function baseLayout(opts: { title?: string; xTitle?: string; yTitle?: string; height?: number; width?: number }): Record<string, unknown> {
  const titleLines = opts.title ? wrapTitle(opts.title) : [];
  const layout: Record<string, unknown> = {
    template: { layout: { paper_bgcolor: "white", plot_bgcolor: "white", font: { family: "Helvetica, Arial, sans-serif", size: 13 } } },
    height: (opts.height ?? 400) + Math.max(0, titleLines.length - 1) * 20,
    margin: { l: 64, r: 40, t: titleLines.length ? 36 + 20 * titleLines.length : 24, b: 56 },
    modebar: { orientation: "v" },
    xaxis: { title: { text: opts.xTitle ?? "" }, gridcolor: "#e5e5e5", zeroline: false },
    yaxis: { title: { text: opts.yTitle ?? "" }, gridcolor: "#e5e5e5", zeroline: false },
  };
  if (opts.width !== undefined) layout.width = opts.width;
  if (opts.title) layout.title = { text: titleLines.join("<br>"), x: 0.02, xanchor: "left", font: { size: 15 } };
  return layout;
}

/** Default Plotly config: responsive, no link to the Plotly cloud, static PNG download. */
export const DEFAULT_CONFIG: Record<string, unknown> = { responsive: true, displaylogo: false };
