/**
 * Scores of a probe's predictions on the linearity score's scale.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkFinite, checkShape } from "../numerics/check";

/**
 * The linearity-style score of predictions: `1 - ||y - pred||_F^2 / ||y - mean(y)||_F^2`
 * (column means of y), i.e. the fraction of y's centred variance the predictions explain.
 *
 * Why this is comparable with the linearity score: that score is
 * `1 - min_A ||X~ A - Y~||_F^2` with X~, Y~ centred and divided by their Frobenius norms, and the
 * minimum equals `min_{W,b} ||Y - X W - b||_F^2 / ||Y - mean(Y)||_F^2` (the best bias centres the
 * residual). So for the least-squares affine map on the same rows, probeScore equals the
 * linearity score; any other affine probe (e.g. one trained by AdamW) scores at most that on its
 * train rows. On held-out rows neither bound holds, but the two are directly comparable.
 *
 * pred, y: [tokens, d_model]; sums in float64. Throws on shape mismatch, NaN/Inf, or a constant y.
 */
export function probeScore(pred: tf.Tensor2D, y: tf.Tensor2D): number {
  checkShape("probeScore", "pred", pred.shape, ["tokens", "d_model"]);
  checkShape("probeScore", "y", y.shape, [["tokens", pred.shape[0]], ["d_model", pred.shape[1]]]);
  const [rows, cols] = y.shape;
  const p = pred.dataSync();
  const t = y.dataSync();
  checkFinite("probeScore", "pred", p, cols);
  checkFinite("probeScore", "y", t, cols);
  // Column means of y, then the residual and total sums of squares.
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += t[i * cols + j];
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const k = i * cols + j;
      const r = t[k] - p[k];
      const c = t[k] - mean[j];
      sse += r * r;
      sst += c * c;
    }
  }
  if (!(sst > 0)) {
    throw new Error(`probeScore: 'y' is constant over its ${rows} rows (no variance to explain)`);
  }
  return 1 - sse / sst;
}
