/**
 * The linearity score (the original notebook's compute_linearity_score) of two whole tensors
 * x [tokens, d_model] and y [tokens, d_model_y]: 1 - ||normalize(x) A - normalize(y)||_F^2 with A
 * the least-squares map. For chunked or streamed data use {@link LinearityAccumulator}.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "../numerics/check";
import { float32Data } from "../numerics/data";
import { LinearityAccumulator, ScoreOptions } from "./linearity-accumulator";

/** An accumulator fed with all rows of x and y, after shape checks naming `fn`. */
export function wholeTensorAccumulator(fn: string, x: tf.Tensor2D, y: tf.Tensor2D, residual: boolean, opts: ScoreOptions): LinearityAccumulator {
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], residual ? ["d_model", d] : "d_model"]);
  const acc = new LinearityAccumulator(d, dy, { ...opts, fn, names: ["x", "y"], residual });
  acc.add(float32Data(x), float32Data(y));
  return acc;
}

/**
 * Linearity score of x -> y: 1 - ||normalize(x) A - normalize(y)||_F^2 with A the least-squares
 * map, i.e. the fraction of y's centred variance explained by a linear map of x.
 * x [tokens, d_model], y [tokens, d_model_y]. In [0, 1]; random pairs give about d/(tokens-1).
 */
export function linearityScore(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): number {
  return wholeTensorAccumulator("linearityScore", x, y, false, opts).result().score;
}
