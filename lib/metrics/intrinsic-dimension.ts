/**
 * Intrinsic dimension by TwoNN (Facco, d'Errico, Rodriguez, Laio 2017, "Estimating the intrinsic
 * dimension of datasets by a minimal neighborhood information"). For each point, r1 and r2 are the
 * distances to its two nearest other points and mu = r2 / r1; if the points fill a d-dimensional
 * manifold, mu follows a Pareto law, F(mu) = 1 - mu^-d, so -log(1 - F) = d log mu. Two estimators
 * of that line, which differ in which points they drop and in the empirical F:
 *
 * "standard" (the default, this project's):
 *   drop points with r1 = 0 (duplicates: repeated tokens give many identical states)
 *   sort mu ascending; N = points left; F_i = i / N for i = 0 .. N-1 over the kept points
 *   keep the smallest floor(keepFraction * N) values (default 0.9, scikit-dimension's
 *   discard_fraction 0.1)
 *   fit -log(1 - F_i) = d log(mu_i) through the origin: d = sum(x y) / sum(x x)
 *
 * "llm-microscope" (LLM-Microscope's `intrinsic_dimension`, reproduced exactly):
 *   distances on the centred rows divided by their mean length s (mean_i ||x_i - mean||), so
 *   a duplicate is r1 < 1e-8 s; duplicates get mu = -1
 *   sort mu; the u points with mu <= 1 + 1e-8 (the duplicates and the ties r2 = r1) are dropped;
 *   N = points left; F_i = (u + 1 + i) / (N + u) for i = 0 .. N-1: the dropped points still count
 *   in the empirical CDF, as the lowest ranks
 *   fit the smallest min(floor(keepFraction * N), N - 1) values through the origin (LLM-Microscope
 *   uses N // 5: keepFraction 0.2, the default for this estimator)
 *
 * On the shipped states at keep 0.2 the two give 4.95-6.38 (standard) against 5.65-7.26
 * (llm-microscope): counting the dropped points raises every F_i, so the fitted slope is larger.
 *
 * An undefined dimension is NaN with a reason (`undefinedReason`), never an exception: fewer
 * than 2 points to fit (standard; 1 for llm-microscope, which divides as soon as one point is
 * left), e.g. the embedding state of a model without learned positions, where every occurrence of
 * a byte is the same vector; or every fitted mu = 1 (log mu = 0: no slope to fit), e.g. the rows
 * [0,0], [0,0], [1,0], [0,2], [-3,0], whose distinct points each have two equidistant nearest
 * neighbours (the duplicated origin).
 */
import { twoNearestNeighbours, type TwoNearest, type TwoNearestOptions } from "./neighbours";

/** The TwoNN estimators (see the file comment). */
export const TWONN_ESTIMATORS = ["standard", "llm-microscope"] as const;
/** One of {@link TWONN_ESTIMATORS}. */
export type TwoNNEstimator = (typeof TWONN_ESTIMATORS)[number];

/** Options of a TwoNN fit from neighbour distances: the estimator, the kept fraction, and LLM-Microscope's length scale. */
export interface TwoNNFitOptions {
  /** Fraction of the sorted mu kept for the fit, in (0, 1]. Default 0.9 (standard), 0.2 (llm-microscope). */
  keepFraction?: number;
  /** Which estimator (default "standard"). */
  estimator?: TwoNNEstimator;
  /**
   * Mean length of the centred rows (TwoNearest.meanCentredNorm): the llm-microscope estimator's
   * duplicate threshold is 1e-8 of it. Required for that estimator, unused by the standard one.
   */
  scale?: number;
}

/** Options of `intrinsicDimension`: the estimator and kept fraction, a token cap, and the neighbour search's settings. */
export interface TwoNNOptions extends TwoNearestOptions, Omit<TwoNNFitOptions, "scale"> {
  /** Use only the first maxTokens rows (LLM-Microscope uses 4,096). Default: all. */
  maxTokens?: number;
}

/** A TwoNN fit: the intrinsic dimension (NaN with a reason when undefined), duplicates and ties dropped, ratios fitted. */
export interface TwoNNFit {
  /** The estimated intrinsic dimension; NaN when undefined (see undefinedReason). */
  dimension: number;
  /** Rows dropped as duplicates (r1 = 0; llm-microscope: r1 < 1e-8 of the mean centred length). */
  duplicates: number;
  /** llm-microscope only: distinct rows dropped as ties, mu <= 1 + 1e-8 (0 for the standard estimator, which keeps them). */
  ties: number;
  /** Points in the fit. */
  fitted: number;
  /** Why the dimension is undefined, short enough for a table cell ("every mu = 1"); absent when defined. */
  undefinedReason?: string;
}

/** A TwoNN estimate from the rows: the fit, the tokens read, and rows rescanned in float64. */
export interface TwoNNResult extends TwoNNFit {
  /** Rows used (after maxTokens). */
  tokens: number;
  /** Rows whose neighbours were confirmed by a full float64 scan (see twoNearestNeighbours). */
  rescanned: number;
}

/** The standard estimator's default fraction of tokens kept for the fit (the smallest distance ratios). */
export const DEFAULT_KEEP_FRACTION = 0.9;
/** LLM-Microscope's fraction: it fits the smallest N // 5 ratios (reduction_factor 5). */
export const LLM_MICROSCOPE_KEEP_FRACTION = 0.2;
/** LLM-Microscope's eps: duplicates r1 < eps (on rows scaled to mean length 1), ties mu <= 1 + eps. */
const LLM_MICROSCOPE_EPS = 1e-8;

/** The keep fraction an estimator uses when none is given. */
export function defaultKeepFraction(estimator: TwoNNEstimator = "standard"): number {
  return estimator === "llm-microscope" ? LLM_MICROSCOPE_KEEP_FRACTION : DEFAULT_KEEP_FRACTION;
}

/** d = sum(x y) / sum(x x) over the first `fitted` sorted mu, with y = -log(1 - F(i)); NaN with a reason when sum(x x) = 0. */
function fitThroughOrigin(mu: readonly number[], fitted: number, cdf: (i: number) => number): { dimension: number; undefinedReason?: string } {
  let xy = 0, xx = 0;
  for (let i = 0; i < fitted; i++) {
    const x = Math.log(mu[i]);
    xy += x * -Math.log(1 - cdf(i));
    xx += x * x;
  }
  return xx > 0 ? { dimension: xy / xx } : { dimension: NaN, undefinedReason: "every mu = 1" };
}

function standardFit(r1: ArrayLike<number>, r2: ArrayLike<number>, keep: number): TwoNNFit {
  const mu: number[] = [];
  for (let i = 0; i < r1.length; i++) if (r1[i] > 0) mu.push(r2[i] / r1[i]);
  const duplicates = r1.length - mu.length;
  const n = mu.length;
  const fitted = Math.floor(keep * n);
  if (fitted < 2) {
    return { dimension: NaN, duplicates, ties: 0, fitted, undefinedReason: `${fitted} point${fitted === 1 ? "" : "s"} to fit, needs 2` };
  }
  mu.sort((a, b) => a - b);
  return { ...fitThroughOrigin(mu, fitted, (i) => i / n), duplicates, ties: 0, fitted };
}

function llmMicroscopeFit(r1: ArrayLike<number>, r2: ArrayLike<number>, keep: number, scale: number): TwoNNFit {
  const tiny = LLM_MICROSCOPE_EPS * scale;
  const kept: number[] = [];
  let duplicates = 0, ties = 0;
  for (let i = 0; i < r1.length; i++) {
    if (!(r1[i] > 0 && r1[i] >= tiny)) duplicates++;
    else {
      const m = r2[i] / r1[i];
      if (m <= 1 + LLM_MICROSCOPE_EPS) ties++;
      else kept.push(m);
    }
  }
  const u = duplicates + ties;
  const n = kept.length;
  const fitted = Math.min(Math.floor(keep * n), n - 1);
  if (fitted < 1) {
    const reason = n === 0 && ties > 0 ? "every mu = 1" : `${Math.max(fitted, 0)} points to fit, needs 1`;
    return { dimension: NaN, duplicates, ties, fitted: Math.max(fitted, 0), undefinedReason: reason };
  }
  kept.sort((a, b) => a - b);
  return { ...fitThroughOrigin(kept, fitted, (i) => (u + 1 + i) / (n + u)), duplicates, ties, fitted };
}

/** The estimator and keep fraction of `opts`, checked (a one-line error naming the bad option). */
function checkFitOptions(opts: TwoNNFitOptions, fn: string): { estimator: TwoNNEstimator; keep: number } {
  const estimator = opts.estimator ?? "standard";
  if (!TWONN_ESTIMATORS.includes(estimator)) {
    throw new Error(`${fn}: estimator must be one of ${TWONN_ESTIMATORS.join(", ")}, got '${estimator}'`);
  }
  const keep = opts.keepFraction ?? defaultKeepFraction(estimator);
  if (!(keep > 0 && keep <= 1)) throw new Error(`${fn}: keepFraction must be in (0, 1], got ${keep}`);
  return { estimator, keep };
}

/**
 * The TwoNN fit from the two nearest-neighbour distances of each point (see the file comment).
 * `options` may be the keep fraction alone (standard estimator). Undefined: NaN with a reason.
 */
export function twoNNFromDistances(
  r1: ArrayLike<number>,
  r2: ArrayLike<number>,
  options: number | TwoNNFitOptions = {},
  fn = "twoNNFromDistances",
): TwoNNFit {
  const opts = typeof options === "number" ? { keepFraction: options } : options;
  const { estimator, keep } = checkFitOptions(opts, fn);
  if (r1.length !== r2.length) throw new Error(`${fn}: r1 has ${r1.length} values, r2 ${r2.length}`);
  if (estimator === "standard") return standardFit(r1, r2, keep);
  if (!(opts.scale !== undefined && opts.scale >= 0 && Number.isFinite(opts.scale))) {
    throw new Error(`${fn}: the llm-microscope estimator needs scale, the mean centred row length (TwoNearest.meanCentredNorm), got ${opts.scale}`);
  }
  return llmMicroscopeFit(r1, r2, keep, opts.scale);
}

/** The TwoNN fit from a {@link twoNearestNeighbours} result (its meanCentredNorm is the scale). */
export function twoNNFit(nn: TwoNearest, options: Omit<TwoNNFitOptions, "scale"> = {}, fn = "twoNNFit"): TwoNNFit {
  return twoNNFromDistances(nn.r1, nn.r2, { ...options, scale: nn.meanCentredNorm }, fn);
}

/** TwoNN intrinsic dimension of the rows of x [tokens, d_model] (see the file comment). */
export function intrinsicDimension(x: Float32Array, dModel: number, opts: TwoNNOptions = {}): TwoNNResult {
  const fn = opts.fn ?? "intrinsicDimension";
  if (opts.maxTokens !== undefined && !(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 3)) {
    throw new Error(`${fn}: maxTokens must be an integer >= 3, got ${opts.maxTokens}`);
  }
  const fitOptions = { keepFraction: opts.keepFraction, estimator: opts.estimator };
  checkFitOptions(fitOptions, fn); // option errors before the neighbour search
  const rows = x.length / dModel;
  const used = opts.maxTokens !== undefined && Number.isInteger(rows) && rows > opts.maxTokens
    ? x.subarray(0, opts.maxTokens * dModel)
    : x;
  const nn = twoNearestNeighbours(used, dModel, { ...opts, fn });
  return { ...twoNNFit(nn, fitOptions, fn), tokens: nn.r1.length, rescanned: nn.rescanned };
}
