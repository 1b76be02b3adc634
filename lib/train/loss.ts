/** Next-token cross-entropy for language-model training. */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Mean cross-entropy in nats/token of `targets` under `logits`, differentiable in the logits.
 * logits [batch, pos, d_vocab]; targets [batch, pos] int32 (0..d_vocab-1).
 * Written as -sum(onehot(targets) * logSoftmax(logits)) / tokens, so the backward pass uses
 * only element-wise ops and reductions (no gather gradient, which the wasm backend lacks).
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  const [batch, nPos, dVocab] = logits.shape;
  if (targets.shape[0] !== batch || targets.shape[1] !== nPos) {
    throw new Error(
      `crossEntropy: 'targets' expected shape [batch=${batch}, pos=${nPos}], got [${targets.shape.join(", ")}]`,
    );
  }
  return tf.tidy(() => {
    const tokens = batch * nPos;
    const logProbs = tf.logSoftmax(tf.reshape(logits, [tokens, dVocab])); // [tokens, d_vocab]
    const picked = tf.mul(logProbs, tf.oneHot(tf.reshape(targets, [tokens]), dVocab)); // [tokens, d_vocab]
    return tf.div(tf.neg(tf.sum(picked)), tokens) as tf.Scalar;
  });
}
