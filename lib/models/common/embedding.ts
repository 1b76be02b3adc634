/** Token embedding lookup with a backward pass that works on every backend. */
import * as tf from "@tensorflow/tfjs-core";
import { fusedGatherRows, fusedKernelsActive } from "../../native/wasm-fused";
import { matmul } from "./matmul";

/**
 * table[ids]: table [d_vocab, d_model], ids [batch, pos] int32 -> [batch, pos, d_model].
 *
 * tf.gather's gradient needs the UnsortedSegmentSum kernel, which the wasm backend lacks, so the
 * gradient is written as onehot(ids)^T @ dy ([d_vocab, tokens] @ [tokens, d_model]). In inference
 * with the native kernels installed, row copies (lib/native/wasm-fused.ts); the ids are checked
 * against d_vocab before every forward (checkIds).
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor3D {
  const [batch, nPos] = ids.shape;
  const [dVocab, dModel] = table.shape;
  if (fusedKernelsActive() && table.dtype === "float32" && ids.dtype === "int32") {
    return tf.tidy(() => tf.reshape(fusedGatherRows(table, tf.reshape(ids, [batch * nPos])), [batch, nPos, dModel]) as tf.Tensor3D);
  }
  const lookup = tf.customGrad(((t: tf.Tensor) => {
    const flatIds = tf.reshape(ids, [batch * nPos]); // [tokens]
    return {
      value: tf.reshape(tf.gather(t, flatIds), [batch, nPos, dModel]),
      gradFunc: (dy: tf.Tensor) => {
        // oneHot with dtype float32 returns all zeros on the wasm backend (tfjs 4.22): cast instead.
        const oneHotT = tf.transpose(tf.cast(tf.oneHot(flatIds, dVocab), "float32")); // [d_vocab, tokens]
        return matmul(oneHotT, tf.reshape(dy, [batch * nPos, dModel]) as tf.Tensor2D); // [d_vocab, d_model]
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return lookup(table) as tf.Tensor3D;
}
