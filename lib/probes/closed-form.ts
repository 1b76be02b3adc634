/**
 * The closed-form counterpart of a trained probe: the least-squares affine map fitted on the
 * train rows (lib/numerics' leastSquaresMap on centred data), applied to any rows.
 */
import * as tf from "@tensorflow/tfjs-core";
import { leastSquaresMap } from "../numerics/least-squares";
import type { ScoreOptions } from "../metrics/linearity-accumulator";
import { checkFinite, checkShape } from "../numerics/check";

/** y ~= (x - meanX) weight + meanY. */
export interface AffineMap {
  /** [d_in, d_out] */
  weight: tf.Tensor2D;
  /** [d_in], column means of the fitted x (float64) */
  meanX: Float64Array;
  /** [d_out], column means of the fitted y (float64) */
  meanY: Float64Array;
}

/** Column means in float64 of a row-major [rows, cols] buffer. */
function columnMeans(values: Float32Array, rows: number, cols: number): Float64Array {
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += values[i * cols + j];
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  return mean;
}

function centred(values: Float32Array, rows: number, cols: number, mean: Float64Array): tf.Tensor2D {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = values[i * cols + j] - mean[j];
  return tf.tensor2d(out, [rows, cols]);
}

/**
 * Fit the least-squares affine map x -> y (x: [tokens, d_in], y: [tokens, d_out]): centre both in
 * float64, then A = pinv(xc) yc by lib/numerics' leastSquaresMap (same rcond semantics as the
 * linearity score). On the fitted rows, probeScore of its predictions equals linearityScore(x, y).
 */
export function fitAffineMap(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): AffineMap {
  const [n, dIn] = checkShape("fitAffineMap", "x", x.shape, ["tokens", "d_in"]);
  const [, dOut] = checkShape("fitAffineMap", "y", y.shape, [["tokens", n], "d_out"]);
  const xv = x.dataSync() as Float32Array;
  const yv = y.dataSync() as Float32Array;
  checkFinite("fitAffineMap", "x", xv, dIn);
  checkFinite("fitAffineMap", "y", yv, dOut);
  const meanX = columnMeans(xv, n, dIn);
  const meanY = columnMeans(yv, n, dOut);
  const xc = centred(xv, n, dIn, meanX);
  const yc = centred(yv, n, dOut, meanY);
  try {
    return { weight: leastSquaresMap(xc, yc, opts), meanX, meanY };
  } finally {
    xc.dispose();
    yc.dispose();
  }
}

/** (x - meanX) weight + meanY: [rows, d_in] -> [rows, d_out]. */
export function applyAffineMap(map: AffineMap, x: tf.Tensor2D): tf.Tensor2D {
  const [dIn, dOut] = map.weight.shape;
  const [n] = checkShape("applyAffineMap", "x", x.shape, ["rows", ["d_in", dIn]]);
  const xc = centred(x.dataSync() as Float32Array, n, dIn, map.meanX);
  return tf.tidy(() => tf.add(tf.matMul(xc, map.weight), tf.tensor1d(Float32Array.from(map.meanY))) as tf.Tensor2D);
}
