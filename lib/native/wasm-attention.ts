/**
 * Causal attention as one tfjs kernel on the wasm heap (registered by lib/native/wasm-fused.ts):
 * two sgemm calls per kv head on the native BLAS around the causal softmax in C.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { NativeBlas, NativeKernels } from "./blas";
import { heapView, type KernelArgs, type WasmBackend } from "./wasm-heap";

/**
 * softmax(q k^T * scale + causal mask) v for q [batch, n_heads, pos, d_head] and k, v
 * [batch, n_kv_heads, pos, d_head]; query head h reads kv head floor(h / group) (HF's repeat_kv
 * order), and with attrs.window > 0 query t reads keys t - window < key <= t only.
 * Returns [batch, n_heads, pos, d_head].
 *
 * Per kv head, the group's query heads stacked along positions ([group * pos, d_head]): one sgemm
 * for the scaled scores (k transposed inside the product), the causal softmax in C over the
 * visible keys of each row (the hidden ones set to 0, as e^-1e9 gives in the composite ops), one
 * sgemm for the weighted values (native/kernels.c, attentionGroups). The products are small
 * ([128, 64] x [64, 128] at seq-len 128): OpenBLAS's own second thread cost more than it gave on
 * them, so each runs on one BLAS thread, and the (sequence, kv head) groups are shared among as
 * many threads as the library had (at 768 x 12 this took attention from 0.27 s to about half).
 */
export function causalAttentionKernel(blas: NativeBlas, kernels: NativeKernels, args: KernelArgs): tf.TensorInfo {
  const { q, k, v } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
  const { scale, window } = args.attrs as { scale: number; window: number };
  const backend = args.backend as WasmBackend;
  const [batch, nHeads, nPos, dHead] = q.shape;
  const nKv = k.shape[1];
  const rows = (nHeads / nKv) * nPos; // the query heads of one kv head, stacked along positions
  const groups = batch * nKv;
  const threads = blas.threads();
  if (threads > 1) blas.setThreads(1);
  try {
    const scores = backend.makeOutput([groups, rows, nPos], "float32"); // [groups, rows, pos], scratch
    try {
      const out = backend.makeOutput(q.shape, "float32");
      // Views after both allocations: a growing heap replaces its buffer.
      const [Q, K, V, S, O] = [q, k, v, scores, out].map((t) => heapView(backend, t));
      kernels.attentionGroups(Q, K, V, S, O, groups, rows, nPos, dHead, scale, window, threads);
      return out;
    } finally {
      backend.disposeData(scores.dataId);
    }
  } finally {
    if (threads > 1) blas.setThreads(threads);
  }
}

/**
 * Positions per piece of the causal square the rotary attention kernel aims for (see
 * {@link rotaryAttentionChunks}).
 */
const CHUNK_POSITIONS = 64;

/**
 * How many pieces {@link rotaryAttentionKernel} cuts a sequence of `nPos` positions into: about
 * one per {@link CHUNK_POSITIONS}, so that the products skip most of the causal upper triangle
 * (k pieces compute (k + 1) / 2k of the square) while each stays large enough for sgemm.
 */
export function rotaryAttentionChunks(nPos: number): number {
  return Math.max(1, Math.round(nPos / CHUNK_POSITIONS));
}

/**
 * Rotary position embedding, causal attention and the head merge as one kernel, on the
 * projections' layout: q [batch, pos, n_heads * d_head], k, v [batch, pos, n_kv_heads * d_head],
 * cos, sin [pos, rotary_dim] -> [batch, pos, n_heads * d_head], what
 * mergeHeads(causalAttention(rotary(q), rotary(k), v)) gives, with no transposes
 * (native/kernels.c, rotaryAttention). attrs: nHeads, nKvHeads, scale, window (0: none), chunks
 * (0: {@link rotaryAttentionChunks}). Threads as in {@link causalAttentionKernel}; each thread's
 * scratch is the addon's own memory, not the heap.
 */
export function rotaryAttentionKernel(blas: NativeBlas, kernels: NativeKernels, args: KernelArgs): tf.TensorInfo {
  const { q, k, v, cos, sin } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
  const { nHeads, nKvHeads, scale, window, chunks } = args.attrs as { nHeads: number; nKvHeads: number; scale: number; window: number; chunks: number };
  const backend = args.backend as WasmBackend;
  const [batch, nPos, width] = q.shape;
  const threads = blas.threads();
  if (threads > 1) blas.setThreads(1);
  try {
    const out = backend.makeOutput(q.shape, "float32");
    // Views after the allocation: a growing heap replaces its buffer.
    const [Q, K, V, C, S, O] = [q, k, v, cos, sin, out].map((t) => heapView(backend, t));
    kernels.rotaryAttention(Q, K, V, C, S, O, batch, nPos, nHeads, nKvHeads, width / nHeads, scale, window, chunks > 0 ? chunks : rotaryAttentionChunks(nPos), threads);
    return out;
  } finally {
    if (threads > 1) blas.setThreads(threads);
  }
}
