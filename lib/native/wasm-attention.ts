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
