/**
 * A matrix product for a probe's first layer, whose backward pass transposes explicitly.
 *
 * tfjs's own matMul gradient multiplies by transposed operands (transposeA/transposeB flags).
 * On the wasm backend a matMul with transposeA=true runs about 20x slower than a plain one
 * (measured on this project's build machine: 1.6 against 30 GFLOP/s), so training steps would spend most of their time in the backward
 * pass. The general two-input form is lib/models/common/matmul.ts `matmul` (used by the probes'
 * hidden layers); this file adds the one-input form for a first layer fed with data.
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * `x @ w` where x is data (no gradient wanted): x: [m, k], w: [k, n] -> [m, n]. Only w is an
 * input of the gradient, so the backward pass skips `dy @ w^T` (and its transpose of w), which
 * a probe's first layer never needs.
 */
export function matMulDataLeft(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [wIn] = inputs as [tf.Tensor2D];
    return {
      value: tf.matMul(x, wIn),
      // d(w) = x^T @ dy, with an explicit transpose.
      gradFunc: (dy: tf.Tensor2D) => [tf.matMul(tf.transpose(x), dy)],
    };
  }) as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return f(w) as tf.Tensor2D;
}
