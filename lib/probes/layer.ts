/**
 * A fully connected layer with bias, initialised like PyTorch's `nn.Linear`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { matMulDataLeft } from "./matmul";
import { matmul } from "../models/common/matmul";
import { uniformArray } from "./random";

/**
 * Parameters of one dense layer. `weight` is stored [d_in, d_out] (the transpose of torch's
 * [out_features, in_features]) so the forward pass is a plain `x @ weight` with no transposed
 * operand (slow on wasm).
 */
export interface DenseLayer {
  /** [d_in, d_out] */
  weight: tf.Variable<tf.Rank.R2>;
  /** [d_out] */
  bias: tf.Variable<tf.Rank.R1>;
}

/**
 * A dense layer d_in -> d_out with torch's default init: weight and bias both uniform in
 * [-1/sqrt(d_in), 1/sqrt(d_in)) (kaiming_uniform with a = sqrt(5) reduces to that bound).
 * Weights are drawn row by row of torch's [d_out, d_in] layout, then stored transposed, so one
 * seed gives the same matrix whichever layout a reader prefers.
 */
export function denseLayer(dIn: number, dOut: number, rand: () => number): DenseLayer {
  const bound = 1 / Math.sqrt(dIn);
  const torchLayout = uniformArray(dOut * dIn, bound, rand); // [d_out, d_in]
  const biasValues = uniformArray(dOut, bound, rand);
  // tf.tidy frees the tensors the variables were made from.
  const layer: DenseLayer = tf.tidy(() => ({
    weight: tf.variable(tf.transpose(tf.tensor2d(torchLayout, [dOut, dIn]))) as tf.Variable<tf.Rank.R2>,
    bias: tf.variable(tf.tensor1d(biasValues)) as tf.Variable<tf.Rank.R1>,
  }));
  return layer;
}

/**
 * x @ weight + bias: [rows, d_in] -> [rows, d_out], differentiable in the layer's parameters and,
 * unless `xIsData`, in x too (set `xIsData` for a first layer fed with data, to skip the unused
 * input gradient).
 */
export function applyDense(layer: DenseLayer, x: tf.Tensor2D, xIsData = false): tf.Tensor2D {
  const product = xIsData ? matMulDataLeft(x, layer.weight) : matmul(x, layer.weight);
  return tf.add(product, layer.bias);
}
