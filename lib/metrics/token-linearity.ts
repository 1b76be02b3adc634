/**
 * Per-token linearity: how well the least-squares map fits each token (the original notebook's
 * get_linearity_dist, with its orientation corrected), plus a relative form.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fitFloat32, fitFloat64 } from "../numerics/centred-fit";
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
  const B = acc.centeredMap();
  const mx = acc.mean(0), my = acc.mean(1);
  const xv = float32Data(x), yv = float32Data(y);
  const out = new Float64Array(n);
  // The fit X_c B: float32 tfjs matmuls when X took the float32 route (well-conditioned, so B is
  // small and the rounding stays ~1e-7 of the fit); float64 when X took float64 (always on the
  // native BLAS: dgemm there, loops here otherwise).
  const fit = acc.route === "float64" ? fitFloat64(xv, mx, B, n, d, dy, acc.gram.native) : fitFloat32(xv, mx, B, n, d, dy, opts.blockRows ?? 1024);
  for (let t = 0; t < n; t++) {
    let res = 0, norm = 0;
    for (let c = 0; c < dy; c++) {
      const yc = yv[t * dy + c] - my[c];
      const e = fit[t * dy + c] - yc;
      res += e * e;
      norm += yc * yc;
    }
    out[t] = opts.relative ? (norm > 0 ? 1 - res / norm : NaN) : 1 - res / yy;
  }
  return out;
}
