/** The original notebook's `normalize`: centre the columns, then scale to unit Frobenius norm. */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape, checkFinite } from "../numerics/check";
import { float32Data } from "../numerics/data";

/**
 * normalize(x) = (x - column mean) / ||x - column mean||_F, on x [tokens, d_model].
 * Means and the norm are computed in float64 (a float32 mean loses the spread when
 * |mean| >> spread); the result is float32 [tokens, d_model]. Throws when x has no variance.
 */
export function normalize(x: tf.Tensor2D): tf.Tensor2D {
  const [n, d] = checkShape("normalize", "x", x.shape, ["tokens", "d_model"]);
  const v = float32Data(x);
  checkFinite("normalize", "x", v, d);
  const mean = new Float64Array(d);
  for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) mean[c] += v[t * d + c];
  for (let c = 0; c < d; c++) mean[c] /= n;
  let ss = 0;
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < d; c++) {
      const e = v[t * d + c] - mean[c];
      ss += e * e;
    }
  }
  if (!(ss > 0)) throw new Error("normalize: 'x' has no variance (every row is the same)");
  const inv = 1 / Math.sqrt(ss);
  const out = new Float32Array(n * d);
  for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) out[t * d + c] = (v[t * d + c] - mean[c]) * inv;
  return tf.tensor2d(out, [n, d]);
}
