/**
 * Axis scales and tick positions for the static SVG pictures (svg.ts): linear and log scales
 * with "nice" ticks (steps of 1, 2 or 5 times a power of ten), and category scales.
 */

/** Maps a data value to a pixel position; `ticks` are the values to label. */
export interface Scale {
  kind: "linear" | "log" | "category";
  /** Pixel position of a value (numbers, or category labels on a category scale). */
  at(v: number | string): number;
  ticks: { value: number | string; label: string }[];
  /** Pixel width of one category (category scales) or of one data unit (linear scales). */
  band: number;
}

/** Tick values between lo and hi: about `target` of them, at 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** A tick label: up to 6 significant digits, no trailing zeros. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-4) return v.toExponential(1).replace(/\.0e/, "e");
  return String(Number(v.toPrecision(6)));
}

/** The data range [lo, hi] padded by `pad` of its width on both sides (a point gets ±0.5). */
export function paddedRange(values: number[], pad = 0.05): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi === lo) return [lo - 0.5, hi + 0.5];
  const d = (hi - lo) * pad;
  lo -= d;
  hi += d;
  return [lo, hi];
}

/** A linear scale from [lo, hi] to pixels [p0, p1] (p1 < p0 for a y axis). */
export function linearScale(lo: number, hi: number, p0: number, p1: number): Scale {
  const k = (p1 - p0) / (hi - lo);
  const ticks = niceTicks(lo, hi).map((v) => ({ value: v, label: formatTick(v) }));
  return { kind: "linear", at: (v) => p0 + (Number(v) - lo) * k, ticks, band: Math.abs(k) };
}

/** A log10 scale from [lo, hi] (both > 0) to pixels; ticks at powers of ten. */
export function logScale(lo: number, hi: number, p0: number, p1: number): Scale {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  const k = (p1 - p0) / (b - a || 1);
  const ticks: { value: number; label: string }[] = [];
  for (let e = Math.ceil(a); e <= Math.floor(b); e++) ticks.push({ value: 10 ** e, label: formatTick(10 ** e) });
  return { kind: "log", at: (v) => p0 + (Math.log10(Number(v)) - a) * k, ticks, band: Math.abs(k) };
}

/** Evenly spaced categories between p0 and p1, in the given order. */
export function categoryScale(labels: string[], p0: number, p1: number): Scale {
  const band = (p1 - p0) / Math.max(1, labels.length);
  const index = new Map(labels.map((l, i) => [l, i]));
  return {
    kind: "category",
    at: (v) => p0 + ((index.get(String(v)) ?? 0) + 0.5) * band,
    ticks: labels.map((l) => ({ value: l, label: l })),
    band: Math.abs(band),
  };
}
