/** The original notebook's get_A_est on whole tensors: the minimum-norm least-squares map. */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "./check";
import { float32Data } from "./data";
import { GramAccumulator } from "./gram-accumulator";
import { factorGram, solveMap } from "./solve";

/**
 * Least-squares map A [d_model_x, d_model_y] with y ~= x A: pinv(x) y, the minimum-norm solution,
 * as the original's get_A_est (V diag(1/S) U^T y) but with an rcond cut-off for rank-deficient x.
 * No centring (call it on normalize(x), normalize(y) for the original's use).
 * Options: `rcond` (cut-off on singular values of the column-equilibrated x), `blockRows`, `route`
 * (default "float64": exact products, so the map is within 1e-6 of a float64 SVD solution at any
 * conditioning; "auto" or "float32" trade that for speed on large inputs).
 */
export function leastSquaresMap(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  opts: { rcond?: number; blockRows?: number; route?: "auto" | "float32" | "float64" } = {},
): tf.Tensor2D {
  const fn = "leastSquaresMap";
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], "d_model"]);
  const acc = new GramAccumulator({
    fn,
    states: [
      { key: "x", dim: d, route: opts.route ?? "float64" },
      { key: "y", dim: dy, route: "float32" },
    ],
    products: [["x", "x"], ["x", "y"]],
    blockRows: opts.blockRows,
  });
  acc.add([float32Data(x), float32Data(y)]);
  // The un-centred Gram: the rank and the cut are those of x itself (columns equilibrated).
  // Precision cut of float32 values (the raw diagonal is their sum of squares), or the explicit rcond.
  const f = factorGram(acc.uncentered("x", "x"), d, { rcond: opts.rcond, precision: { dtype: "float32", rows: n } });
  const A = solveMap(f, acc.uncentered("x", "y"), dy);
  return tf.tensor2d(Float32Array.from(A), [d, dy]);
}
