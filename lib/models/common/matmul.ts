/**
 * Matrix products whose backward pass transposes explicitly.
 *
 * tfjs's own matMul gradient multiplies with transposeA/transposeB flags. On the wasm backend a
 * matMul with transposeA=true runs about 20x slower than one on a transposed copy (measured here: 1.6
 * against 30 GFLOP/s),
 * so these wrappers compute the gradients as plain products of explicitly transposed operands.
 * The forward pass is an ordinary matMul; values are identical to tf.matMul.
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeMatmulInstalled } from "../../native/wasm-matmul";
import { isStoredLayout, releaseIfTransient } from "./read-on-use";

/** Swap the last two axes (a copy, so the following matMul runs on contiguous rows). */
export function transposeLast2<T extends tf.Tensor>(x: T): T {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return tf.transpose(x, perm);
}

const productWithFastGrad = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      // d(a b)/da = dy b^T ; d(a b)/db = a^T dy, with both transposes materialized first.
      return [tf.matMul(dy, transposeLast2(sb)), tf.matMul(transposeLast2(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * `a @ b` for rank-2 [m, k] x [k, n], or batched [..., m, k] x [..., k, n] with equal batch
 * axes (no broadcasting), differentiable with explicit-transpose gradients.
 */
export function matmul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  if (a.rank < 2 || a.rank !== b.rank) {
    throw new Error(`matmul: 'a' and 'b' must have the same rank >= 2, got [${a.shape}] and [${b.shape}]`);
  }
  const k = a.shape[a.rank - 1];
  if (b.shape[b.rank - 2] !== k || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) {
    throw new Error(`matmul: shapes [${a.shape}] and [${b.shape}] do not multiply`);
  }
  return productWithFastGrad(a, b) as T;
}

/**
 * A dense layer on the last axis: x [..., d_in] @ w [d_in, d_out] (+ bias [d_out]).
 * Weights use the [in, out] layout throughout this project (converters transpose nn.Linear),
 * except a streamed block's weights marked as kept in their stored [d_out, d_in] layout
 * (lib/models/common/read-on-use.ts), multiplied transposed; those are never differentiated.
 */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor2D, bias?: tf.Tensor1D): T {
  const dIn = x.shape[x.rank - 1];
  const stored = isStoredLayout(w);
  const [wIn, dOut] = stored ? [w.shape[1], w.shape[0]] : w.shape;
  if (wIn !== dIn) {
    throw new Error(`linear: 'w' expected shape ${stored ? `[d_out, d_in=${dIn}] (stored layout)` : `[d_in=${dIn}, d_out]`}, got [${w.shape}]`);
  }
  const rows = x.size / dIn;
  const x2d = tf.reshape(x, [rows, dIn]) as tf.Tensor2D;
  const y2d = stored ? tf.matMul(x2d, w, false, true) : matmul(x2d, w); // [tokens, d_out]
  releaseIfTransient(w); // a weight read for this product alone (streamed tensor by tensor)
  const y = bias === undefined ? y2d : tf.add(y2d, bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), dOut]) as T;
}

/**
 * a [G, m, k] @ b [G, k, n] -> [G, m, n] as one depthwise convolution: input a laid out as an
 * image [1, m, k, G] (channel = group), filter b as [1, k, G, n] (a 1 x k window, channel
 * multiplier n), so output pixel i, channel g * n + j is sum_t a[g, i, t] * b[g, t, j].
 *
 * Why: tfjs-backend-wasm hands batched matMuls to a scalar loop, but convolutions to XNNPack's
 * grouped GEMM; measured here 2.0-2.5x faster for the attention products (bench/models-forward.ts).
 */
function groupedProduct(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [groups, m, k] = a.shape;
  const n = b.shape[2];
  return tf.tidy(() => {
    const image = tf.reshape(tf.transpose(a, [1, 2, 0]), [1, m, k, groups]) as tf.Tensor4D; // [1, m, k, G]
    const filter = tf.reshape(tf.transpose(b, [1, 0, 2]), [1, k, groups, n]) as tf.Tensor4D; // [1, k, G, n]
    const out = tf.depthwiseConv2d(image, filter, 1, "valid"); // [1, m, 1, G * n]
    return tf.transpose(tf.reshape(out, [m, groups, n]), [1, 0, 2]) as tf.Tensor3D;
  });
}

const groupedWithFastGrad = tf.customGrad(((a: tf.Tensor3D, b: tf.Tensor3D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: groupedProduct(a, b),
    gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor3D[];
      // d(a b)/da = dy b^T ; d(a b)/db = a^T dy, again as grouped products.
      return [groupedProduct(dy, transposeLast2(sb)), groupedProduct(transposeLast2(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;

/**
 * Independent products a[g] @ b[g]: a [G, m, k], b [G, k, n] -> [G, m, n], differentiable. On the
 * wasm backend through {@link groupedProduct}, unless its matMul runs on the native BLAS
 * (lib/native/wasm-matmul.ts: one sgemm per group); elsewhere an ordinary batched matmul.
 */
export function batchedMatmul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`batchedMatmul: shapes [${a.shape}] and [${b.shape}] do not multiply as [G, m, k] x [G, k, n]`);
  }
  return tf.getBackend() === "wasm" && !nativeMatmulInstalled() ? groupedWithFastGrad(a, b) : matmul(a, b);
}
