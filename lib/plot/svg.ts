/**
 * A static SVG picture of a Plotly figure, drawn in Node without a browser, for front ends that
 * show no interactive plot: an untrusted notebook (its scripts do not run), PDF/Markdown exports,
 * viewers without JavaScript. It covers what the charts in charts.ts produce (scatter lines and
 * markers with dashes, grouped/overlaid/stacked bars, heatmaps with labels and a colorbar,
 * linear/log/category axes, titles, a legend), not Plotly in general; anything else is skipped.
 * The output depends only on the figure, so stored notebooks stay reproducible.
 */
import type { PlotlyFigure, PlotlyTrace } from "./figure";
import { categoryScale, formatTick, linearScale, logScale, paddedRange, Scale } from "./ticks";

/** Plotly's default trace colours, in order. */
const COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Viridis (Plotly's stops), used for heatmaps unless another known scale is named. */
const VIRIDIS = ["#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e", "#26828e", "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30", "#d8e219", "#fde725"];
const GREYS = ["#000000", "#ffffff"];
const BLUES = ["#08306b", "#2171b5", "#6baed6", "#c6dbef", "#f7fbff"];
const RDBU = ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"];

const FONT = 12;
/** Rough text width in px: SVG has no text metrics in Node, so labels are laid out by estimate. */
const textWidth = (s: string, size = FONT) => s.length * size * 0.56;
const r1 = (x: number) => Math.round(x * 10) / 10;

/** XML-escapes text for element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function colorscaleStops(name: unknown): string[] {
  switch (String(name ?? "Viridis").toLowerCase()) {
    case "greys":
      return GREYS;
    case "blues":
      return BLUES;
    case "rdbu":
      return RDBU;
    default:
      return VIRIDIS;
  }
}

/** Colour at t in [0, 1] on evenly spaced stops (linear interpolation in RGB). */
export function colorAt(stops: string[], t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const rgb = (h: string) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16));
  const a = rgb(stops[i]);
  const b = rgb(stops[i + 1]);
  return "#" + a.map((c, k) => Math.round(c + (b[k] - c) * f).toString(16).padStart(2, "0")).join("");
}

function dashArray(dash: unknown): string {
  switch (dash) {
    case "dot":
      return ' stroke-dasharray="2,3"';
    case "dash":
      return ' stroke-dasharray="7,4"';
    case "longdash":
      return ' stroke-dasharray="12,4"';
    case "dashdot":
      return ' stroke-dasharray="7,3,2,3"';
    default:
      return "";
  }
}

const titleText = (t: unknown): string => (typeof t === "string" ? t : String((t as { text?: unknown } | undefined)?.text ?? ""));
const numbers = (v: unknown[] | undefined): number[] => (v ?? []).map((x) => (x === null || x === undefined ? NaN : Number(x)));

interface Legend {
  name: string;
  color: string;
  kind: "line" | "box";
  dash?: unknown;
}

/** Legend items laid out in rows below the plot. */
function legendRows(items: Legend[], width: number): Legend[][] {
  const rows: Legend[][] = [];
  let row: Legend[] = [];
  let used = 0;
  for (const item of items) {
    const w = 34 + textWidth(item.name);
    if (row.length > 0 && used + w > width) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(item);
    used += w;
  }
  if (row.length) rows.push(row);
  return rows;
}

/** The figure as a standalone SVG document. */
export function figureSvg(fig: PlotlyFigure): string {
  const layout = fig.layout ?? {};
  const W = typeof layout.width === "number" ? layout.width : 720;
  const baseH = typeof layout.height === "number" ? layout.height : 400;
  const xaxis = (layout.xaxis ?? {}) as Record<string, unknown>;
  const yaxis = (layout.yaxis ?? {}) as Record<string, unknown>;
  const traces = fig.data.filter((t) => t.type === "scatter" || t.type === "bar" || t.type === "heatmap");
  const heat = traces.find((t) => t.type === "heatmap");

  // Colours and legend entries, in trace order.
  let colorIndex = 0;
  const colorOf = new Map<PlotlyTrace, string>();
  for (const t of traces) {
    if (t.type === "heatmap") continue;
    const own = (t.line as { color?: string } | undefined)?.color ?? (t.marker as { color?: string } | undefined)?.color;
    colorOf.set(t, typeof own === "string" ? own : COLORWAY[colorIndex % COLORWAY.length]);
    colorIndex++;
  }
  const named = traces.filter((t) => t.type !== "heatmap" && t.name && t.showlegend !== false);
  const showLegend = layout.showlegend === false ? false : layout.showlegend === true ? named.length > 0 : named.length > 1;
  const legendItems: Legend[] = showLegend
    ? named.map((t) => ({ name: String(t.name), color: colorOf.get(t)!, kind: t.type === "bar" ? "box" : "line", dash: (t.line as { dash?: unknown } | undefined)?.dash }))
    : [];

  // Margins from the text around the plot area.
  const titleLines = titleText(layout.title).split(/<br\s*\/?>/i).filter((l) => l !== "");
  const top = titleLines.length ? 14 + titleLines.length * 19 + 10 : 16;
  const xTitle = titleText(xaxis.title);
  const yTitle = titleText(yaxis.title);
  const rows = legendRows(legendItems, W - 40);
  const H = baseH + rows.length * 18;
  const bottom = 26 + (xTitle ? 22 : 0) + (rows.length ? rows.length * 18 + 8 : 0);
  const right = heat ? 90 : 20;

  // x and y values of everything drawn, for the axis ranges.
  const isCategory = (vals: unknown[]) => vals.some((v) => typeof v === "string");
  const allX = traces.flatMap((t) => (t.type === "heatmap" ? [] : ((t.x as unknown[]) ?? [])));
  const heatX = heat ? ((heat.x as unknown[]) ?? (heat.z as unknown[][])[0].map((_, i) => i)).map(String) : [];
  const heatY = heat ? ((heat.y as unknown[]) ?? (heat.z as unknown[][]).map((_, i) => i)).map(String) : [];
  const xCategories = heat ? heatX : isCategory(allX) ? [...new Set(allX.map(String))] : undefined;

  const logY = yaxis.type === "log";
  let yLo: number;
  let yHi: number;
  const bars = traces.filter((t) => t.type === "bar");
  const stacked = layout.barmode === "stack";
  if (Array.isArray(yaxis.range)) [yLo, yHi] = (yaxis.range as number[]).map(Number) as [number, number];
  else {
    let ys = traces.filter((t) => t.type === "scatter").flatMap((t) => [...numbers(t.y as unknown[]), ...errorEnds(t).flat()]);
    if (stacked) {
      const sums = new Map<string, number>();
      for (const t of bars) (t.x as unknown[]).forEach((x, i) => sums.set(String(x), (sums.get(String(x)) ?? 0) + Number((t.y as unknown[])[i])));
      ys = ys.concat([...sums.values()]);
    } else ys = ys.concat(bars.flatMap((t) => numbers(t.y as unknown[])));
    if (logY) ys = ys.filter((v) => v > 0);
    else if (bars.length) ys.push(0);
    [yLo, yHi] = logY ? [Math.min(...ys, Infinity), Math.max(...ys, -Infinity)] : paddedRange(ys);
    if (logY) {
      if (!Number.isFinite(yLo)) [yLo, yHi] = [1, 10];
      [yLo, yHi] = [10 ** Math.floor(Math.log10(yLo)), 10 ** Math.ceil(Math.log10(yHi))];
      if (yHi <= yLo) yHi = yLo * 10;
    }
    if (bars.length && !logY && yLo > 0) yLo = 0;
  }
  const yScaleProbe = heat ? undefined : logY ? logScale(yLo, yHi, 0, 1) : linearScale(yLo, yHi, 0, 1);
  const yLabelWidth = heat ? Math.max(...heatY.map((l) => textWidth(l))) : Math.max(...yScaleProbe!.ticks.map((t) => textWidth(t.label)));
  const left = 14 + yLabelWidth + (yTitle ? 24 : 0);
  const [px0, px1, py0, py1] = [left, W - right, top, H - bottom];

  let xScale: Scale;
  if (xCategories) xScale = categoryScale(xCategories, px0, px1);
  else {
    const xs = numbers(allX);
    const halfBar = bars.length ? Math.max(...bars.map((t) => (typeof t.width === "number" ? t.width / 2 : 0.4))) : 0;
    const [lo, hi] = bars.length ? [Math.min(...xs) - halfBar, Math.max(...xs) + halfBar] : paddedRange(xs, 0.03);
    xScale = linearScale(lo, hi, px0, px1);
  }
  const reversed = yaxis.autorange === "reversed";
  const yScale = heat ? categoryScale(heatY, reversed ? py0 : py1, reversed ? py1 : py0) : logY ? logScale(yLo, yHi, py1, py0) : linearScale(yLo, yHi, py1, py0);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  titleLines.forEach((line, i) => out.push(`<text x="${r1(W * 0.02)}" y="${14 + (i + 1) * 19 - 4}" font-size="15">${escapeXml(line)}</text>`));

  // Grid lines and tick labels.
  const inY = (p: number) => p >= py0 - 0.5 && p <= py1 + 0.5;
  const inX = (p: number) => p >= px0 - 0.5 && p <= px1 + 0.5;
  for (const t of yScale.ticks) {
    const y = yScale.at(t.value);
    if (!inY(y)) continue;
    if (!heat) out.push(`<line x1="${px0}" x2="${px1}" y1="${r1(y)}" y2="${r1(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${px0 - 6}" y="${r1(y + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`);
  }
  const xTickStep = Math.max(1, Math.ceil(xScale.ticks.reduce((m, t) => Math.max(m, textWidth(t.label) + 8), 0) / Math.max(1, (px1 - px0) / Math.max(1, xScale.ticks.length))));
  xScale.ticks.forEach((t, i) => {
    const x = xScale.at(t.value);
    if (!inX(x) || i % xTickStep !== 0) return;
    if (xScale.kind !== "category") out.push(`<line x1="${r1(x)}" x2="${r1(x)}" y1="${py0}" y2="${py1}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${r1(x)}" y="${py1 + 17}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  });
  if (xTitle) out.push(`<text x="${r1((px0 + px1) / 2)}" y="${py1 + 40}" text-anchor="middle" font-size="13">${escapeXml(xTitle)}</text>`);
  if (yTitle) out.push(`<text transform="translate(16,${r1((py0 + py1) / 2)}) rotate(-90)" text-anchor="middle" font-size="13">${escapeXml(yTitle)}</text>`);

  // Clip the data to the plot area (a fixed yaxis.range may cut lines).
  out.push(`<clipPath id="plot-area"><rect x="${px0}" y="${py0}" width="${r1(px1 - px0)}" height="${r1(py1 - py0)}"/></clipPath>`);
  out.push(`<g clip-path="url(#plot-area)">`);
  if (heat) out.push(...heatmapMarks(heat, xScale, yScale, heatX, heatY));
  out.push(...barMarks(bars, colorOf, xScale, yScale, layout.barmode, logY, py1));
  for (const t of traces.filter((tr) => tr.type === "scatter")) out.push(...scatterMarks(t, colorOf.get(t)!, xScale, yScale, logY));
  out.push(`</g>`);
  if (heat) out.push(...colorbar(heat, px1 + 16, py0, py1));

  // Legend rows under the x axis title.
  rows.forEach((row, r) => {
    let x = 20;
    const y = H - rows.length * 18 + r * 18 + 4;
    for (const item of row) {
      out.push(
        item.kind === "box"
          ? `<rect x="${r1(x)}" y="${y - 9}" width="22" height="10" fill="${item.color}"/>`
          : `<line x1="${r1(x)}" x2="${r1(x + 22)}" y1="${y - 4}" y2="${y - 4}" stroke="${item.color}" stroke-width="2"${dashArray(item.dash)}/>`,
      );
      out.push(`<text x="${r1(x + 28)}" y="${y}">${escapeXml(item.name)}</text>`);
      x += 34 + textWidth(item.name);
    }
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** [low, high] of each point's error bar (empty when the trace has none; NaN ends where a bound is missing). */
function errorEnds(t: PlotlyTrace): [number, number][] {
  const e = t.error_y as { array?: unknown[]; arrayminus?: unknown[]; visible?: boolean } | undefined;
  if (!e || e.visible === false || !Array.isArray(e.array)) return [];
  const yv = numbers(t.y as unknown[]);
  const up = numbers(e.array);
  const down = Array.isArray(e.arrayminus) ? numbers(e.arrayminus) : up;
  return yv.map((y, i) => [y - down[i], y + up[i]]);
}

function scatterMarks(t: PlotlyTrace, color: string, xs: Scale, ys: Scale, logY: boolean): string[] {
  const xv = (t.x as unknown[]) ?? [];
  const yv = numbers(t.y as unknown[]);
  const points = yv.map((y, i) => (Number.isFinite(y) && (!logY || y > 0) ? [xs.at(xv[i] as number | string), ys.at(y)] : undefined));
  const out: string[] = [];
  const mode = String(t.mode ?? "lines+markers");
  if (mode.includes("lines")) {
    // A gap (null) breaks the line, as Plotly draws it.
    let run: number[][] = [];
    const flush = () => {
      if (run.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dashArray((t.line as { dash?: unknown } | undefined)?.dash)} points="${run.map(([x, y]) => `${r1(x)},${r1(y)}`).join(" ")}"/>`);
      run = [];
    };
    for (const p of points) {
      if (p) run.push(p);
      else flush();
    }
    flush();
  }
  if (mode.includes("markers")) for (const p of points) if (p) out.push(`<circle cx="${r1(p[0])}" cy="${r1(p[1])}" r="3" fill="${color}"/>`);
  // Error bars: a vertical line with caps from the low to the high end (Plotly's look).
  errorEnds(t).forEach(([lo, hi], i) => {
    const p = points[i];
    if (!p || !Number.isFinite(lo) || !Number.isFinite(hi) || (logY && lo <= 0)) return;
    const [x, a, b] = [r1(p[0]), r1(ys.at(lo)), r1(ys.at(hi))];
    out.push(`<path class="error-bar" fill="none" stroke="${color}" stroke-width="1.5" d="M${x},${a}V${b}M${r1(p[0] - 4)},${a}h8M${r1(p[0] - 4)},${b}h8"/>`);
  });
  return out;
}

function barMarks(bars: PlotlyTrace[], colorOf: Map<PlotlyTrace, string>, xs: Scale, ys: Scale, barmode: unknown, logY: boolean, bottomPx: number): string[] {
  const out: string[] = [];
  const grouped = barmode === "group" && bars.length > 1;
  const base = new Map<string, number>();
  bars.forEach((t, k) => {
    const xv = (t.x as unknown[]) ?? [];
    const yv = numbers(t.y as unknown[]);
    const full = xs.kind === "category" ? xs.band * 0.8 : (typeof t.width === "number" ? t.width : 0.8) * xs.band;
    const w = grouped ? full / bars.length : full;
    const opacity = typeof t.opacity === "number" ? ` fill-opacity="${t.opacity}"` : "";
    yv.forEach((y, i) => {
      if (!Number.isFinite(y) || (logY && y <= 0)) return;
      const key = String(xv[i]);
      const from = barmode === "stack" ? (base.get(key) ?? 0) : 0;
      if (barmode === "stack") base.set(key, from + y);
      const x = xs.at(xv[i] as number | string) - full / 2 + (grouped ? k * w : 0);
      // On a log axis a bar that starts at 0 starts at the bottom of the plot area.
      const yLow = logY && from <= 0 ? bottomPx : ys.at(from);
      const y1 = ys.at(from + y);
      const a = Math.min(yLow, y1);
      const h = Math.abs(yLow - y1);
      out.push(`<rect x="${r1(x)}" y="${r1(a)}" width="${r1(Math.max(w, 0.5))}" height="${r1(h)}" fill="${colorOf.get(t)}"${opacity}/>`);
    });
  });
  return out;
}

function heatRange(t: PlotlyTrace): [number, number] {
  const zs = (t.z as unknown[][]).flat().map((v) => (v === null ? NaN : Number(v))).filter(Number.isFinite);
  const lo = typeof t.zmin === "number" ? t.zmin : Math.min(...zs);
  const hi = typeof t.zmax === "number" ? t.zmax : Math.max(...zs);
  return [lo, hi > lo ? hi : lo + 1];
}

function heatmapMarks(t: PlotlyTrace, xs: Scale, ys: Scale, xLabels: string[], yLabels: string[]): string[] {
  const out: string[] = [];
  const stops = colorscaleStops(t.colorscale);
  const [lo, hi] = heatRange(t);
  const text = t.text as string[][] | undefined;
  (t.z as unknown[][]).forEach((row, i) =>
    row.forEach((v, j) => {
      if (v === null || v === undefined || !Number.isFinite(Number(v))) return;
      const cx = xs.at(xLabels[j]);
      const cy = ys.at(yLabels[i]);
      const fill = colorAt(stops, (Number(v) - lo) / (hi - lo));
      out.push(`<rect x="${r1(cx - xs.band / 2)}" y="${r1(cy - ys.band / 2)}" width="${r1(xs.band)}" height="${r1(ys.band)}" fill="${fill}"/>`);
      const label = text?.[i]?.[j];
      if (label) {
        const [r, g, b] = [1, 3, 5].map((k) => parseInt(fill.slice(k, k + 2), 16));
        const dark = 0.299 * r + 0.587 * g + 0.114 * b < 140;
        out.push(`<text x="${r1(cx)}" y="${r1(cy + 4)}" text-anchor="middle" fill="${dark ? "white" : "black"}">${escapeXml(label)}</text>`);
      }
    }),
  );
  return out;
}

function colorbar(t: PlotlyTrace, x: number, y0: number, y1: number): string[] {
  const stops = colorscaleStops(t.colorscale);
  const [lo, hi] = heatRange(t);
  const out = [`<linearGradient id="colorbar" x1="0" y1="1" x2="0" y2="0">`];
  stops.forEach((c, i) => out.push(`<stop offset="${r1((i / (stops.length - 1)) * 100)}%" stop-color="${c}"/>`));
  out.push(`</linearGradient>`, `<rect x="${x}" y="${y0}" width="14" height="${r1(y1 - y0)}" fill="url(#colorbar)"/>`);
  const scale = linearScale(lo, hi, y1, y0);
  for (const tick of scale.ticks) {
    const y = scale.at(tick.value);
    if (y < y0 - 0.5 || y > y1 + 0.5) continue;
    out.push(`<text x="${x + 20}" y="${r1(y + 4)}">${escapeXml(formatTick(Number(tick.value)))}</text>`);
  }
  const title = titleText((t.colorbar as { title?: unknown } | undefined)?.title);
  if (title) out.push(`<text x="${x}" y="${y0 - 6}">${escapeXml(title)}</text>`);
  return out;
}
