/** Causal scaled dot-product attention with grouped-query support. */
import * as tf from "@tensorflow/tfjs-core";
import { fusedAttention, fusedKernelsActive, fusedRotaryAttention } from "../../native/wasm-fused";
import { batchedMatmul, transposeLast2 } from "./matmul";
import { applyRotary } from "./rotary";

/** Masked positions get this added before the softmax (exp underflows to exactly 0). */
const MASKED = -1e9;

/**
 * Additive causal mask [rows, pos]: row r (query position t = r % pos) sees keys 0..t, or with a
 * sliding window W only keys t - W < key <= t (HF's sliding_window_overlay: W keys, itself included).
 */
function causalMask(rows: number, nPos: number, window: number | null): tf.Tensor2D {
  const mask = new Float32Array(rows * nPos);
  for (let r = 0; r < rows; r++) {
    const query = r % nPos;
    const first = window === null ? 0 : Math.max(0, query - window + 1);
    for (let key = 0; key < first; key++) mask[r * nPos + key] = MASKED;
    for (let key = query + 1; key < nPos; key++) mask[r * nPos + key] = MASKED;
  }
  return tf.tensor2d(mask, [rows, nPos]);
}

/**
 * softmax(q k^T * scale + causal mask) v, per head.
 *
 * q [batch, n_heads, pos, d_head]; k, v [batch, n_kv_heads, pos, d_head] with n_heads a multiple
 * of n_kv_heads. Query head h reads key/value head floor(h / (n_heads / n_kv_heads)), which is
 * HF's repeat_kv order. Instead of copying k and v, the n_heads / n_kv_heads query heads of a
 * group are stacked along the position axis and share one product with their kv head.
 * `window` (Mistral's sliding_window) limits each query to the last `window` positions, itself
 * included; null means all earlier positions. The products are {@link batchedMatmul}s (one
 * grouped product per layer, fast on wasm); in inference with the native kernels installed, one
 * fused kernel (lib/native/wasm-fused.ts: sgemm per kv head, softmax over the visible keys only).
 * Returns [batch, n_heads, pos, d_head].
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number, window: number | null = null): tf.Tensor4D {
  const [batch, nHeads, nPos, dHead] = q.shape;
  const nKvHeads = k.shape[1];
  if (nHeads % nKvHeads !== 0 || k.shape[2] !== nPos || k.shape[3] !== dHead || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(`causalAttention: q [${q.shape}] does not match k [${k.shape}] / v [${v.shape}]`);
  }
  const group = nHeads / nKvHeads;
  if (fusedKernelsActive() && [q, k, v].every((t) => t.dtype === "float32")) return fusedAttention(q, k, v, scale, window);
  return tf.tidy(() => {
    // Group the query heads that share a kv head: [batch * n_kv_heads, group * pos, d_head].
    const qGrouped = tf.reshape(q, [batch * nKvHeads, group * nPos, dHead]) as tf.Tensor3D;
    // Attention scores: [batch * n_kv_heads, group * pos, pos].
    const keysT = tf.reshape(transposeLast2(k), [batch * nKvHeads, dHead, nPos]) as tf.Tensor3D;
    const scores = tf.mul(batchedMatmul(qGrouped, keysT), scale);
    // Causal (and sliding-window) mask, then softmax over key positions.
    const probs = tf.softmax(tf.add(scores, causalMask(group * nPos, nPos, window))) as tf.Tensor3D;
    // Weighted values: [batch * n_kv_heads, group * pos, d_head] -> [batch, n_heads, pos, d_head].
    const values = tf.reshape(v, [batch * nKvHeads, nPos, dHead]) as tf.Tensor3D;
    return tf.reshape(batchedMatmul(probs, values), [batch, nHeads, nPos, dHead]);
  });
}

/**
 * Rotary position embedding on queries and keys, causal attention, heads merged: what
 * mergeHeads(causalAttention(applyRotary(splitHeads(q)), applyRotary(splitHeads(k)), splitHeads(v)))
 * gives, on the projections' own layout. q [batch, pos, n_heads * d_head]; k, v
 * [batch, pos, n_kv_heads * d_head]; cos, sin [pos, rotary_dim] (HF rotate_half layout, see
 * {@link applyRotary}); `scale`, `window` and the grouped kv heads as {@link causalAttention}.
 * Returns [batch, pos, n_heads * d_head], ready for the output projection.
 *
 * In inference with the native kernels installed (float32, an even rotary_dim), one fused kernel
 * (lib/native/wasm-attention.ts, rotaryAttentionKernel: the heads gathered and rotated in C, no
 * transposes, the causal upper triangle skipped by pieces of positions); else, and always under a
 * gradient tape, exactly the composite route above.
 */
export function rotaryCausalAttention(
  q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, cos: tf.Tensor2D, sin: tf.Tensor2D,
  nHeads: number, nKvHeads: number, scale: number, window: number | null = null,
): tf.Tensor3D {
  const [batch, nPos, width] = q.shape;
  const dHead = width / nHeads;
  const kvShape = [batch, nPos, nKvHeads * dHead];
  if (!Number.isInteger(dHead) || nHeads % nKvHeads !== 0 || [k, v].some((t) => t.shape.some((d, i) => d !== kvShape[i]))) {
    throw new Error(`rotaryCausalAttention: q [${q.shape}] with ${nHeads} heads does not match k [${k.shape}] / v [${v.shape}] with ${nKvHeads} kv heads`);
  }
  const rotaryDim = cos.shape[1];
  const tablesFit = cos.shape[0] === nPos && sin.shape[0] === nPos && sin.shape[1] === rotaryDim && rotaryDim % 2 === 0 && rotaryDim <= dHead;
  if (fusedKernelsActive() && tablesFit && [q, k, v, cos, sin].every((t) => t.dtype === "float32")) {
    return fusedRotaryAttention(q, k, v, cos, sin, nHeads, nKvHeads, scale, window);
  }
  return tf.tidy(() => {
    const qRot = applyRotary(splitHeads(q, nHeads), cos, sin);
    const kRot = applyRotary(splitHeads(k, nKvHeads), cos, sin);
    return mergeHeads(causalAttention(qRot, kRot, splitHeads(v, nKvHeads), scale, window));
  });
}

/** [batch, pos, heads * d_head] -> [batch, heads, pos, d_head]. */
export function splitHeads(x: tf.Tensor3D, nHeads: number): tf.Tensor4D {
  const [batch, nPos, width] = x.shape;
  return tf.transpose(tf.reshape(x, [batch, nPos, nHeads, width / nHeads]), [0, 2, 1, 3]);
}

/** [batch, heads, pos, d_head] -> [batch, pos, heads * d_head]. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [batch, nHeads, nPos, dHead] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch, nPos, nHeads * dHead]);
}
