/**
 * Rotary position embeddings in the Hugging Face layout ("rotate_half"): a head vector of width
 * d_head is split into halves [x1, x2], and pair i is (x1[i], x2[i]) rotated by angle
 * pos * theta^(-2i/d_head). (The original Meta layout interleaves pairs instead; HF checkpoints
 * already store q/k weights permuted for rotate_half, so no permutation is needed here.)
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedKernelsActive, fusedRotary } from "../../native/wasm-fused";

/**
 * cos and sin tables [pos, d_head] for positions 0..nPos-1; each angle appears twice (once per
 * half). Angles are rounded through float32 the way HF computes them (inv_freq and pos*inv_freq
 * in float32), so long sequences match HF rather than a more exact float64 angle.
 */
export function rotaryTables(nPos: number, dHead: number, theta: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = dHead / 2;
  const cos = new Float32Array(nPos * dHead);
  const sin = new Float32Array(nPos * dHead);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / dHead))));
    for (let p = 0; p < nPos; p++) {
      const angle = Math.fround(p * invFreq);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * dHead + i] = c;
      cos[p * dHead + half + i] = c;
      sin[p * dHead + i] = s;
      sin[p * dHead + half + i] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [nPos, dHead]), sin: tf.tensor2d(sin, [nPos, dHead]) };
}

/** rotate_half: [x1, x2] -> [-x2, x1] on the last axis. */
export function rotateHalf<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const [x1, x2] = tf.split(x, 2, -1);
    return tf.concat([tf.neg(x2), x1], -1) as T;
  });
}

/**
 * Apply rotary embeddings: x * cos + rotate_half(x) * sin.
 * x [batch, heads, pos, d_head]; cos, sin [pos, rotary_dim] (broadcast over batch and heads).
 * When rotary_dim < d_head (GPT-NeoX's rotary_pct), only the first rotary_dim dimensions of each
 * head rotate, with rotate_half over that part alone; the rest pass through unchanged. In
 * inference on the wasm backend with the native kernels installed, one fused kernel
 * (lib/native/wasm-fused.ts) instead of the split, concat and arithmetic ops.
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const dHead = x.shape[3];
  const rotaryDim = cos.shape[1];
  if (rotaryDim > dHead || sin.shape[1] !== rotaryDim) {
    throw new Error(`applyRotary: cos [${cos.shape}] / sin [${sin.shape}] do not fit heads of width ${dHead}`);
  }
  if (fusedKernelsActive() && x.dtype === "float32" && rotaryDim % 2 === 0 && cos.shape[0] === x.shape[2] && sin.shape[0] === x.shape[2]) {
    return fusedRotary(x, cos, sin);
  }
  return tf.tidy((): tf.Tensor4D => {
    if (rotaryDim === dHead) return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
    const [rot, pass] = tf.split(x, [rotaryDim, dHead - rotaryDim], -1) as tf.Tensor4D[];
    return tf.concat([tf.add(tf.mul(rot, cos), tf.mul(rotateHalf(rot), sin)), pass], -1) as tf.Tensor4D;
  });
}
