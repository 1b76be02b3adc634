/**
 * The original notebook's least-squares functions on whole tensors x, y [tokens, d_model]:
 * leastSquaresMap (get_A_est), linearityScore (compute_linearity_score), the residual-removed
 * variant, and per-token linearity (get_linearity_dist, corrected).
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "./check";
import { float32Data } from "./data";
import { GramAccumulator } from "./gram";
import { LinearityAccumulator, ScoreOptions } from "./pair";
import { DEFAULT_RCOND, factorGram, solveMap } from "./solve";

function pairAccumulator(fn: string, x: tf.Tensor2D, y: tf.Tensor2D, sameWidth: boolean, opts: ScoreOptions) {
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], sameWidth ? ["d_model", d] : "d_model"]);
  const acc = new LinearityAccumulator(d, dy, { ...opts, fn, names: ["x", "y"] });
  acc.add(float32Data(x), float32Data(y));
  return acc;
}

/**
 * Linearity score of x -> y: 1 - ||normalize(x) A - normalize(y)||_F^2 with A the least-squares
 * map, i.e. the fraction of y's centred variance explained by a linear map of x.
 * x [tokens, d_model], y [tokens, d_model_y]. In [0, 1]; random pairs give about d/(tokens-1).
 */
export function linearityScore(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): number {
  return pairAccumulator("linearityScore", x, y, false, opts).result().score;
}

/**
 * {@link linearityScore} with the float32 products on worker threads (option `workers`; default
 * in-thread unless LINEARITY_WORKERS or the option says >= 2). Same value up to float64 summation order.
 */
export async function linearityScoreAsync(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): Promise<number> {
  const fn = "linearityScore";
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], "d_model"]);
  const acc = new LinearityAccumulator(d, dy, { ...opts, fn, names: ["x", "y"] });
  try {
    await acc.addAsync(float32Data(x), float32Data(y));
    return (await acc.resultAsync()).score;
  } finally {
    await acc.dispose();
  }
}

/**
 * The paper's "linearity w/o residual": the score of x against y - x (both [tokens, d_model]).
 * Equals 1 - (1 - score(x, y)) * ||yc||^2 / ||yc - xc||^2 (c: centred), which is how it is
 * computed: the residual sum is taken exactly in float64.
 */
export function linearityScoreResidual(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): number {
  const r = pairAccumulator("linearityScoreResidual", x, y, true, opts).result();
  if (!Number.isFinite(r.residualScore)) {
    throw new Error("linearityScoreResidual: 'y - x' has no variance beyond float32 rounding (y = x + constant); the score is undefined");
  }
  return r.residualScore!;
}

/**
 * Least-squares map A [d_model_x, d_model_y] with y ~= x A: pinv(x) y, the minimum-norm solution,
 * as the original's get_A_est (V diag(1/S) U^T y) but with an rcond cut-off for rank-deficient x.
 * No centring (call it on normalize(x), normalize(y) for the original's use).
 */
export function leastSquaresMap(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): tf.Tensor2D {
  const fn = "leastSquaresMap";
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], "d_model"]);
  const acc = new GramAccumulator({ fn, names: ["x", "y"], dims: [d, dy], products: [[0, 0], [0, 1]], blockRows: opts.blockRows });
  acc.add([float32Data(x), float32Data(y)]);
  const f = factorGram(acc.uncentered(0, 0), d, opts.rcond ?? DEFAULT_RCOND);
  const A = solveMap(f, acc.uncentered(0, 1), dy);
  return tf.tensor2d(Float32Array.from(A), [d, dy]);
}

/** Options of {@link tokenLinearity}. */
export interface TokenLinearityOptions extends ScoreOptions {
  /** false (default): 1 - ||x_i A - y_i||^2 on the normalized data; true: 1 - ||x_i A - y_i||^2 / ||y_i||^2. */
  relative?: boolean;
}

/**
 * Per-token linearity, [tokens]. With X = normalize(x), Y = normalize(y) and A their least-squares
 * map, token i gets 1 - ||X_i A - Y_i||^2 (default; the original's get_linearity_dist with the
 * orientation corrected from A x_i to x_i A), or with `relative` 1 - ||X_i A - Y_i||^2 / ||Y_i||^2.
 * Relations: mean of the default form = 1 - (1 - score) / tokens (hence values ~0.9999);
 * the ||Y_i||^2-weighted sum of the relative form = score. A token with Y_i = 0 gets NaN (relative).
 */
export function tokenLinearity(x: tf.Tensor2D, y: tf.Tensor2D, opts: TokenLinearityOptions = {}): Float64Array {
  const fn = "tokenLinearity";
  const acc = pairAccumulator(fn, x, y, false, opts);
  const yy = acc.centeredSumSquaresY();
  if (!(yy > 0)) throw new Error(`${fn}: 'y' has no variance (every row is the same); the score is undefined`);
  const [n, d] = x.shape;
  const dy = y.shape[1];
  const B = tf.tensor2d(Float32Array.from(acc.centeredMap()), [d, dy]);
  const mx = acc.mean(0), my = acc.mean(1);
  const xv = float32Data(x), yv = float32Data(y);
  const out = new Float64Array(n);
  const block = opts.blockRows ?? 1024;
  for (let r0 = 0; r0 < n; r0 += block) {
    const r = Math.min(n, r0 + block) - r0;
    // Centre the block in float64, fit it with the float32 map, residual in float64.
    const xc = new Float32Array(r * d);
    for (let t = 0; t < r; t++) for (let c = 0; c < d; c++) xc[t * d + c] = xv[(r0 + t) * d + c] - mx[c];
    const fit = tf.tidy(() => tf.matMul(tf.tensor2d(xc, [r, d]), B));
    const fv = fit.dataSync();
    fit.dispose();
    for (let t = 0; t < r; t++) {
      let res = 0, norm = 0;
      for (let c = 0; c < dy; c++) {
        const yc = yv[(r0 + t) * dy + c] - my[c];
        const e = fv[t * dy + c] - yc;
        res += e * e;
        norm += yc * yc;
      }
      out[r0 + t] = opts.relative ? (norm > 0 ? 1 - res / norm : NaN) : 1 - res / yy;
    }
  }
  B.dispose();
  return out;
}
