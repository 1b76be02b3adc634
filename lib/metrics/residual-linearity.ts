/**
 * The paper's "linearity w/o residual": how linear a block is once the residual stream is
 * removed, i.e. the score of x against y - x.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ScoreOptions } from "./linearity-accumulator";
import { wholeTensorScores } from "./linearity";

/**
 * The score of x against y - x (both [tokens, d_model]).
 * Equals 1 - (1 - score(x, y)) * ||yc||^2 / ||yc - xc||^2 (c: centred), which is how it is
 * computed: the residual sum is taken exactly in float64.
 */
export function linearityScoreResidual(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): number {
  const r = wholeTensorScores("linearityScoreResidual", x, y, true, opts);
  if (!Number.isFinite(r.residualScore)) {
    throw new Error("linearityScoreResidual: 'y - x' has no variance beyond float32 rounding (y = x + constant); the score is undefined");
  }
  return r.residualScore!;
}
