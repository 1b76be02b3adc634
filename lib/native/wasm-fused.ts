/**
 * Fused inference kernels on the wasm heap: rotary position embedding and causal attention, each
 * one kernel in place of the five to eight tfjs ops the composite functions in
 * lib/models/common (rotary.ts, attention.ts) run, and the embedding lookup (embedding.ts) as
 * row copies.
 *
 * Why: at d_model 768 the ops around the products (split, concat, mask, scale, softmax, the k
 * transpose, the grouped products) took about a sixth of a forward pass, most of it allocating
 * and copying intermediate tensors. Here rotary is one pass over q or k, and attention is two
 * sgemm calls per kv head on the native BLAS (the scores with k transposed inside the product,
 * scaled by alpha) around the wasm backend's softmax, with the mask written in place.
 *
 * When: {@link fusedKernelsActive} is true only where the native matmul kernels are installed
 * (`initBackend({ nativeMatmul: true })`: `linearity extract` and `eval`, forward passes of a
 * fixed model) on the wasm backend and no gradient tape is recording: the kernels have no
 * gradients, and training keeps the composite ops. Values differ from the composite ops by float32
 * rounding only (rotary rounds once per value instead of three times), checked against the float64 reference forwards in test/native/forward-native.test.ts.
 * `LINEARITY_FUSED=0` keeps the composite ops (to compare the two; `LINEARITY_NATIVE=0` turns off
 * both these and the native products).
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeBlas, type NativeBlas } from "./blas";
import { heapView, type KernelArgs, type WasmBackend } from "./wasm-heap";

export const ROTARY_KERNEL = "LinearityRotary";
export const ATTENTION_KERNEL = "LinearityCausalAttention";
export const GATHER_ROWS_KERNEL = "LinearityGatherRows";

let installed = false;

/** Whether the fused kernels run here and now (see the file comment). */
export function fusedKernelsActive(): boolean {
  return installed && tf.getBackend() === "wasm" && !tf.engine().isTapeOn();
}

/**
 * Rotary embedding, HF rotate_half layout: x [batch, heads, pos, d_head], cos and sin
 * [pos, rotary_dim] -> x * cos + rotate_half(x) * sin on the first rotary_dim values of each
 * head, the rest passed through.
 */
function rotary(args: KernelArgs): tf.TensorInfo {
  const { x, cos, sin } = args.inputs as { x: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
  const backend = args.backend as WasmBackend;
  const dHead = x.shape[3];
  const nPos = x.shape[2];
  const rot = cos.shape[1];
  const half = rot / 2;
  const out = backend.makeOutput(x.shape, "float32");
  const X = heapView(backend, x);
  const C = heapView(backend, cos);
  const S = heapView(backend, sin);
  const Y = heapView(backend, out);
  const rows = X.length / dHead;
  for (let r = 0; r < rows; r++) {
    const base = r * dHead;
    const table = (r % nPos) * rot;
    for (let i = 0; i < half; i++) {
      const a = X[base + i];
      const b = X[base + half + i];
      Y[base + i] = a * C[table + i] - b * S[table + i];
      Y[base + half + i] = b * C[table + half + i] + a * S[table + half + i];
    }
    for (let i = rot; i < dHead; i++) Y[base + i] = X[base + i];
  }
  return out;
}

/**
 * Rows of a table: table [rows, width] float32, ids [n] int32 in 0..rows-1 (else a one-line error)
 * -> [n, width], one block copy per row. tfjs-backend-wasm's GatherV2 took 40-110 ms
 * for the 1,024 x 768 embeddings of one extraction batch here.
 */
function gatherRows(args: KernelArgs): tf.TensorInfo {
  const { table, ids } = args.inputs as { table: tf.TensorInfo; ids: tf.TensorInfo };
  const backend = args.backend as WasmBackend;
  const [rows, width] = table.shape;
  const n = ids.shape[0];
  // The ids checked before anything is allocated (an error leaves nothing behind); copied, as
  // makeOutput may grow the heap under a view.
  const at = backend.dataIdMap.get(ids.dataId)!.memoryOffset;
  const I = new Int32Array(backend.wasm.HEAPU8.buffer, at, n).slice();
  I.forEach((id, r) => {
    if (!(id >= 0 && id < rows)) throw new Error(`embedding: id ${id} at position ${r} is outside 0..${rows - 1}`);
  });
  const out = backend.makeOutput([n, width], "float32");
  const T = heapView(backend, table);
  const Y = heapView(backend, out);
  for (let r = 0; r < n; r++) Y.set(T.subarray(I[r] * width, (I[r] + 1) * width), r * width);
  return out;
}

/** Added to masked scores before the softmax, as the composite attention does (exp underflows to 0). */
const MASKED = -1e9;

/**
 * softmax(q k^T * scale + causal mask) v for q [batch, n_heads, pos, d_head] and k, v
 * [batch, n_kv_heads, pos, d_head]; query head h reads kv head floor(h / group) (HF's repeat_kv
 * order), and with attrs.window > 0 query t reads keys t - window < key <= t only.
 * Returns [batch, n_heads, pos, d_head].
 *
 * Per kv head, the group's query heads stacked along positions ([group * pos, d_head]): one sgemm
 * for the scaled scores (k transposed inside the product), the mask written over the hidden keys
 * only, the wasm backend's own softmax kernel over all rows at once (SIMD exponentials: a loop of
 * Math.exp in JavaScript took longer than the two products), one sgemm for the weighted values.
 * The products are small ([128, 64] x [64, 128] at seq-len 128), so they run on one BLAS thread:
 * OpenBLAS's second thread cost more than it gave on them, three times more under load.
 */
function attention(blas: NativeBlas, softmax: tf.KernelConfig, args: KernelArgs): tf.TensorInfo {
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
    const scores = backend.makeOutput([groups, rows, nPos], "float32");
    let probs: tf.TensorInfo;
    try {
      const Q = heapView(backend, q);
      const K = heapView(backend, k);
      const S = heapView(backend, scores);
      for (let g = 0; g < groups; g++) {
        const Sg = S.subarray(g * sSize, (g + 1) * sSize);
        blas.gemm(false, true, rows, nPos, dHead, scale, Q.subarray(g * qSize, (g + 1) * qSize), dHead, K.subarray(g * kvSize, (g + 1) * kvSize), dHead, 0, Sg, nPos);
        for (let r = 0; r < rows; r++) {
          const t = r % nPos;
          const first = window > 0 ? Math.max(0, t - window + 1) : 0;
          if (first > 0) Sg.fill(MASKED, r * nPos, r * nPos + first);
          if (t + 1 < nPos) Sg.fill(MASKED, r * nPos + t + 1, (r + 1) * nPos);
        }
      }
      probs = softmax.kernelFunc({ inputs: { logits: scores }, backend: args.backend, attrs: { dim: 2 } } as never) as tf.TensorInfo;
    } finally {
      backend.disposeData(scores.dataId);
    }
    try {
      const out = backend.makeOutput(q.shape, "float32");
      const P = heapView(backend, probs);
      const V = heapView(backend, v);
      const O = heapView(backend, out);
      for (let g = 0; g < groups; g++) {
        blas.gemm(false, false, rows, dHead, nPos, 1, P.subarray(g * sSize, (g + 1) * sSize), nPos, V.subarray(g * kvSize, (g + 1) * kvSize), dHead, 0, O.subarray(g * qSize, (g + 1) * qSize), dHead);
      }
      return out;
    } finally {
      backend.disposeData(probs.dataId);
    }
  } finally {
    if (threads > 1) blas.setThreads(threads);
  }
}

/**
 * Register the fused kernels on the wasm backend, once per thread (tfjs's kernel registry is per
 * thread). Returns false, registering nothing, when the native BLAS is unavailable or
 * LINEARITY_FUSED=0.
 */
export function installFusedKernels(): boolean {
  if (installed) return true;
  const blas = nativeBlas();
  const off = process.env.LINEARITY_FUSED;
  const softmax = tf.getKernel(tf.Softmax, "wasm");
  if (blas === undefined || softmax === undefined || off === "0" || off === "false") return false;
  tf.registerKernel({ kernelName: GATHER_ROWS_KERNEL, backendName: "wasm", kernelFunc: gatherRows as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ROTARY_KERNEL, backendName: "wasm", kernelFunc: rotary as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ATTENTION_KERNEL, backendName: "wasm", kernelFunc: ((args: KernelArgs) => attention(blas, softmax, args)) as unknown as tf.KernelFunc });
  installed = true;
  return true;
}

/** table[ids] through {@link GATHER_ROWS_KERNEL}: table [rows, width] float32, ids [n] int32 within 0..rows-1. */
export function fusedGatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return tf.engine().runKernel(GATHER_ROWS_KERNEL, { table, ids }, {}) as tf.Tensor2D;
}

/** Rotary through {@link ROTARY_KERNEL}; the caller checks {@link fusedKernelsActive} and the shapes. */
export function fusedRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  return tf.engine().runKernel(ROTARY_KERNEL, { x, cos, sin }, {}) as tf.Tensor4D;
}

/** Causal attention through {@link ATTENTION_KERNEL}; window null: none. The caller checks shapes. */
export function fusedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number, window: number | null): tf.Tensor4D {
  return tf.engine().runKernel(ATTENTION_KERNEL, { q, k, v }, { scale, window: window ?? 0 }) as tf.Tensor4D;
}
