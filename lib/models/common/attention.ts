/** Causal scaled dot-product attention with grouped-query support. */
import * as tf from "@tensorflow/tfjs-core";
import { matmul, transposeLast2 } from "./matmul";

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
 * HF's repeat_kv order (k and v are not copied per query head). `window` (Mistral's
 * sliding_window) limits each query to the last `window` positions, itself included; null means
 * all earlier positions. Returns [batch, n_heads, pos, d_head].
 *
 * Why one 2-D product per (sequence, head) instead of one batched product: tfjs-backend-wasm
 * hands only batch-1 products without transpose flags to XNNPack; batched products run a scalar
 * loop that was several times slower here (DESIGN.md; bench/models-forward.ts measures both).
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number, window: number | null = null): tf.Tensor4D {
  const [batch, nHeads, nPos, dHead] = q.shape;
  const nKvHeads = k.shape[1];
  if (nHeads % nKvHeads !== 0 || k.shape[0] !== batch || k.shape[2] !== nPos || k.shape[3] !== dHead || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(`causalAttention: q [${q.shape}] does not match k [${k.shape}] / v [${v.shape}]`);
  }
  const group = nHeads / nKvHeads;
  // Row i of the query heads (i = sequence * n_heads + head) reads kv row kvRow(i).
  const kvRow = (i: number) => Math.floor(i / nHeads) * nKvHeads + Math.floor((i % nHeads) / group);
  return tf.tidy(() => {
    // Scaled queries [pos, d_head], keys transposed once [d_head, pos], values [pos, d_head]:
    // one tensor per (sequence, head).
    const qs = tf.unstack(tf.reshape(tf.mul(q, scale), [batch * nHeads, nPos, dHead])) as tf.Tensor2D[];
    const kTs = tf.unstack(tf.reshape(transposeLast2(k), [batch * nKvHeads, dHead, nPos])) as tf.Tensor2D[];
    const vs = tf.unstack(tf.reshape(v, [batch * nKvHeads, nPos, dHead])) as tf.Tensor2D[];
    // Attention scores [batch * n_heads, pos, pos], causal (and sliding-window) mask, softmax
    // over key positions.
    const scores = tf.stack(qs.map((qi, i) => matmul(qi, kTs[kvRow(i)])));
    const probs = tf.unstack(tf.softmax(tf.add(scores, causalMask(nPos, nPos, window)))) as tf.Tensor2D[];
    // Weighted values [pos, d_head] per head -> [batch, n_heads, pos, d_head].
    return tf.reshape(tf.stack(probs.map((p, i) => matmul(p, vs[kvRow(i)]))), [batch, nHeads, nPos, dHead]);
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
