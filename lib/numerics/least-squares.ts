/** The original notebook's get_A_est on whole tensors: the minimum-norm least-squares map. */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "./check";
import { float32Data } from "./data";
import { GramAccumulator } from "./moments";
import { DEFAULT_RCOND, factorGram, solveMap } from "./solve";

/**
 * Least-squares map A [d_model_x, d_model_y] with y ~= x A: pinv(x) y, the minimum-norm solution,
 * as the original's get_A_est (V diag(1/S) U^T y) but with an rcond cut-off for rank-deficient x.
 * No centring (call it on normalize(x), normalize(y) for the original's use).
 * Options: `rcond` (cut-off), `blockRows` (rows per float32 product).
 */
export function leastSquaresMap(x: tf.Tensor2D, y: tf.Tensor2D, opts: { rcond?: number; blockRows?: number } = {}): tf.Tensor2D {
  const fn = "leastSquaresMap";
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], "d_model"]);
  const acc = new GramAccumulator({ fn, names: ["x", "y"], dims: [d, dy], products: [[0, 0], [0, 1]], blockRows: opts.blockRows });
  acc.add([float32Data(x), float32Data(y)]);
  const f = factorGram(acc.uncentered(0, 0), d, opts.rcond ?? DEFAULT_RCOND);
  const A = solveMap(f, acc.uncentered(0, 1), dy);
  return tf.tensor2d(Float32Array.from(A), [d, dy]);
}
