/** Reading tfjs tensors into plain arrays, after shape checks. */
import * as tf from "@tensorflow/tfjs-core";

/** The values of a tensor as float32, row-major (a copy when the dtype is not float32). */
export function float32Data(t: tf.Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}
