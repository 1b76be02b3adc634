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
 * sgemm for the weighted values. The products are small ([128, 64] x [64, 128] at seq-len 128),
 * so they run on one BLAS thread: OpenBLAS's second thread cost more than it gave on them, three
 * times more under load.
 */
export function causalAttentionKernel(blas: NativeBlas, kernels: NativeKernels, args: KernelArgs): tf.TensorInfo {
  const { q, k, v } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
  const { scale, window } = args.attrs as { scale: number; window: number };
  const backend = args.backend as WasmBackend & { disposeData(dataId: object): void };
  const [batch, nHeads, nPos, dHead] = q.shape;
  const nKv = k.shape[1];
  const rows = (nHeads / nKv) * nPos; // the query heads of one kv head, stacked along positions
  const groups = batch * nKv;
  const qSize = rows * dHead;
  const kvSize = nPos * dHead;
  const sSize = rows * nPos;
  const threads = blas.threads();
  if (threads > 1) blas.setThreads(1);
  try {
    const scores = backend.makeOutput([groups, rows, nPos], "float32"); // [groups, rows, pos]
    try {
      const out = backend.makeOutput(q.shape, "float32");
      // Views after both allocations: a growing heap replaces its buffer.
      const [Q, K, V, S, O] = [q, k, v, scores, out].map((t) => heapView(backend, t));
      for (let g = 0; g < groups; g++) {
        const Sg = S.subarray(g * sSize, (g + 1) * sSize);
        blas.gemm(false, true, rows, nPos, dHead, scale, Q.subarray(g * qSize, (g + 1) * qSize), dHead, K.subarray(g * kvSize, (g + 1) * kvSize), dHead, 0, Sg, nPos);
        kernels.causalSoftmax(Sg, nPos, window);
        blas.gemm(false, false, rows, dHead, nPos, 1, Sg, nPos, V.subarray(g * kvSize, (g + 1) * kvSize), dHead, 0, O.subarray(g * qSize, (g + 1) * qSize), dHead);
      }
      return out;
    } finally {
      backend.disposeData(scores.dataId);
    }
  } finally {
    if (threads > 1) blas.setThreads(threads);
  }
}
