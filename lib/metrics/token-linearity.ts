/**
 * Per-token linearity: how well the least-squares map fits each token (the original notebook's
 * get_linearity_dist, with its orientation corrected), plus a relative form.
 */
import * as tf from "@tensorflow/tfjs-core";
import { float32Data } from "../numerics/data";
import { ScoreOptions } from "./linearity-accumulator";
import { wholeTensorAccumulator } from "./linearity";

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
  const acc = wholeTensorAccumulator(fn, x, y, false, opts);
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
