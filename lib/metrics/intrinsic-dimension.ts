/**
 * Intrinsic dimension by TwoNN (Facco, d'Errico, Rodriguez, Laio 2017, "Estimating the intrinsic
 * dimension of datasets by a minimal neighborhood information"), as scikit-dimension's TwoNN and
 * LLM-Microscope compute it:
 *
 *   mu_i = r2_i / r1_i           (distances to the two nearest other points, exact)
 *   drop points with r1 = 0      (duplicates: repeated tokens give many identical states)
 *   sort mu ascending; N = points left; F_i = i / N for i = 0 .. N-1 (scikit-dimension's
 *   empirical CDF)
 *   keep the smallest floor(keepFraction * N) values
 *   fit -log(1 - F_i) = d log(mu_i) through the origin: d = sum(x y) / sum(x x)
 *
 * keepFraction 0.9 is scikit-dimension's default (discard_fraction 0.1); LLM-Microscope keeps 0.2.
 *
 * When fewer than 2 points are left to fit (nearly every point has a duplicate, e.g. the
 * embedding state of a model without learned positions, where every occurrence of a byte is the
 * same vector), the dimension is NaN: TwoNN has nothing to measure.
 */
import { twoNearestNeighbours, type TwoNearestOptions } from "./neighbours";

/** Options of `intrinsicDimension`: the kept fraction, a token cap, and the neighbour search's settings. */
export interface TwoNNOptions extends TwoNearestOptions {
  /** Fraction of the sorted mu kept for the fit, in (0, 1]. Default 0.9. */
  keepFraction?: number;
  /** Use only the first maxTokens rows (LLM-Microscope uses 4,096). Default: all. */
  maxTokens?: number;
}

/** A TwoNN estimate: the intrinsic dimension, the tokens read, duplicates skipped, ratios fitted, and rows rescanned in float64. */
export interface TwoNNResult {
  /** The estimated intrinsic dimension; NaN when fewer than 2 points are left to fit. */
  dimension: number;
  /** Rows used (after maxTokens). */
  tokens: number;
  /** Rows dropped because another row is identical (r1 = 0). */
  duplicates: number;
  /** Points in the fit (floor(keepFraction * (tokens - duplicates))). */
  fitted: number;
  /** Rows whose neighbours were confirmed by a full float64 scan (see twoNearestNeighbours). */
  rescanned: number;
}

/** TwoNN's default fraction of tokens kept for the fit (the smallest distance ratios). */
export const DEFAULT_KEEP_FRACTION = 0.9;

/** The TwoNN fit from the two nearest-neighbour distances of each point (see the file comment; NaN when < 2 points fit). */
export function twoNNFromDistances(
  r1: ArrayLike<number>,
  r2: ArrayLike<number>,
  keepFraction = DEFAULT_KEEP_FRACTION,
  fn = "twoNNFromDistances",
): { dimension: number; duplicates: number; fitted: number } {
  if (!(keepFraction > 0 && keepFraction <= 1)) {
    throw new Error(`${fn}: keepFraction must be in (0, 1], got ${keepFraction}`);
  }
  const mu: number[] = [];
  for (let i = 0; i < r1.length; i++) if (r1[i] > 0) mu.push(r2[i] / r1[i]);
  const duplicates = r1.length - mu.length;
  const n = mu.length;
  const fitted = Math.floor(keepFraction * n);
  if (fitted < 2) return { dimension: NaN, duplicates, fitted };
  mu.sort((a, b) => a - b);
  let xy = 0, xx = 0;
  for (let i = 0; i < fitted; i++) {
    const x = Math.log(mu[i]);
    const y = -Math.log(1 - i / n);
    xy += x * y;
    xx += x * x;
  }
  if (!(xx > 0)) throw new Error(`${fn}: every fitted point has r2 = r1 (mu = 1); the dimension is undefined`);
  return { dimension: xy / xx, duplicates, fitted };
}

/** TwoNN intrinsic dimension of the rows of x [tokens, d_model] (see the file comment). */
export function intrinsicDimension(x: Float32Array, dModel: number, opts: TwoNNOptions = {}): TwoNNResult {
  const fn = opts.fn ?? "intrinsicDimension";
  if (opts.maxTokens !== undefined && !(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 3)) {
    throw new Error(`${fn}: maxTokens must be an integer >= 3, got ${opts.maxTokens}`);
  }
  const keep = opts.keepFraction ?? DEFAULT_KEEP_FRACTION;
  if (!(keep > 0 && keep <= 1)) throw new Error(`${fn}: keepFraction must be in (0, 1], got ${keep}`);
  const rows = x.length / dModel;
  const used = opts.maxTokens !== undefined && Number.isInteger(rows) && rows > opts.maxTokens
    ? x.subarray(0, opts.maxTokens * dModel)
    : x;
  const { r1, r2, rescanned } = twoNearestNeighbours(used, dModel, { ...opts, fn });
  const fit = twoNNFromDistances(r1, r2, keep, fn);
  return { ...fit, tokens: r1.length, rescanned };
}
