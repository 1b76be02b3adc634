/**
 * Fused inference kernels on the wasm heap: the norms (RMSNorm, LayerNorm), the SwiGLU and
 * gelu_new activations, rotary position embedding and causal attention (alone, or with rotary and
 * the head merge for the Llama family's block), each one kernel in place of the two to eight tfjs
 * ops the composite functions in lib/models/common (norm.ts, activations.ts, rotary.ts,
 * attention.ts) run, and the embedding lookup (embedding.ts) as row copies. The arithmetic is C (native/kernels.c, vectorized); attention's products are sgemm.
 *
 * Why: at d_model 768, with the products on the native BLAS, the ops around them (the norms'
 * square, mean, rsqrt and two multiplies, sigmoid and multiplies, split, concat, mask, softmax)
 * took about a third of a warm forward pass and most of a cold one: each allocates and touches
 * fresh memory on the heap, and wasm's kernels run one op at a time over it.
 *
 * When: {@link fusedKernelsActive} is true only where the native matmul kernels are installed
 * (`initBackend({ nativeMatmul: true })`: `linearity extract` and `eval`, forward passes of a
 * fixed model) on the wasm backend and no gradient tape is recording: the kernels have no
 * gradients, and training keeps the composite ops. Values differ from the composite ops by float32
 * rounding only (norms accumulate in float64; exp is within 2 ulp), checked against the float64
 * reference forwards in test/native/forward-native.test.ts and op by op in
 * test/native/wasm-fused.test.ts and rotary-attention.test.ts. `LINEARITY_FUSED=0` keeps the
 * composite ops (to compare the two; `LINEARITY_NATIVE=0` turns off both these and the native
 * products).
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeBlas } from "./blas";
import { causalAttentionKernel, rotaryAttentionKernel } from "./wasm-attention";
import { heapView, type KernelArgs, type WasmBackend } from "./wasm-heap";

export const ROTARY_KERNEL = "LinearityRotary";
export const ATTENTION_KERNEL = "LinearityCausalAttention";
export const ROTARY_ATTENTION_KERNEL = "LinearityRotaryAttention";
export const GATHER_ROWS_KERNEL = "LinearityGatherRows";
export const RMS_NORM_KERNEL = "LinearityRmsNorm";
export const LAYER_NORM_KERNEL = "LinearityLayerNorm";
export const SWIGLU_KERNEL = "LinearitySwiGlu";
export const GELU_TANH_KERNEL = "LinearityGeluTanh";

let installed = false;

/** Whether the fused kernels run here and now (see the file comment). */
export function fusedKernelsActive(): boolean {
  return installed && tf.getBackend() === "wasm" && !tf.engine().isTapeOn();
}

/**
 * A kernel whose output has the shape of input `like`, written by `fill` (a C call) from views of
 * every input on the heap: the norms, the activations and rotary differ only in that call.
 */
function onHeap(like: string, fill: (inputs: Record<string, Float32Array>, out: Float32Array, shape: number[], attrs: tf.NamedAttrMap) => void) {
  return (args: KernelArgs): tf.TensorInfo => {
    const backend = args.backend as WasmBackend;
    const { shape } = args.inputs[like] as tf.TensorInfo;
    const out = backend.makeOutput(shape, "float32");
    // Views after the allocation: a growing heap replaces its buffer.
    const views = Object.fromEntries(Object.entries(args.inputs).map(([name, t]) => [name, heapView(backend, t as tf.TensorInfo)]));
    fill(views, heapView(backend, out), shape, args.attrs ?? {});
    return out;
  };
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

/**
 * Register the fused kernels on the wasm backend, once per thread (tfjs's kernel registry is per
 * thread). Returns false, registering nothing, when the native BLAS is unavailable or
 * LINEARITY_FUSED=0.
 */
export function installFusedKernels(): boolean {
  if (installed) return true;
  const blas = nativeBlas();
  const kernels = blas?.kernels;
  const off = process.env.LINEARITY_FUSED;
  if (blas === undefined || kernels === undefined || off === "0" || off === "false") return false;
  const register = (kernelName: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo) =>
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  register(GATHER_ROWS_KERNEL, gatherRows);
  // Rotary, HF rotate_half layout: x [batch, heads, pos, d_head], cos and sin [pos, rotary_dim].
  register(ROTARY_KERNEL, onHeap("x", ({ x, cos, sin }, out, shape) => kernels.rotary(x, cos, sin, out, shape[2], shape[3])));
  register(ATTENTION_KERNEL, (args) => causalAttentionKernel(blas, kernels, args));
  register(ROTARY_ATTENTION_KERNEL, (args) => rotaryAttentionKernel(blas, kernels, args));
  // On as many threads as the BLAS has (1 in a worker of extract --workers): its own sleep between products.
  register(SWIGLU_KERNEL, onHeap("gate", ({ gate, up }, out) => kernels.swiglu(gate, up, out, blas.threads())));
  register(GELU_TANH_KERNEL, onHeap("x", ({ x }, out) => kernels.geluTanh(x, out, blas.threads())));
  register(RMS_NORM_KERNEL, onHeap("x", ({ x, gain }, out, _, attrs) => kernels.rmsNorm(x, gain, attrs.eps as number, out, blas.threads())));
  register(LAYER_NORM_KERNEL, onHeap("x", ({ x, gain, bias }, out, _, attrs) => kernels.layerNorm(x, gain, bias, attrs.eps as number, out, blas.threads())));
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

/**
 * Rotary, causal attention and the head merge through {@link ROTARY_ATTENTION_KERNEL}: q
 * [batch, pos, n_heads * d_head], k, v [batch, pos, n_kv_heads * d_head], cos, sin
 * [pos, rotary_dim] -> [batch, pos, n_heads * d_head]; window null: none; chunks: pieces of the
 * causal square (0, the default: the kernel's choice). The caller checks
 * {@link fusedKernelsActive}, dtypes and shapes.
 */
export function fusedRotaryAttention(
  q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, cos: tf.Tensor2D, sin: tf.Tensor2D,
  nHeads: number, nKvHeads: number, scale: number, window: number | null, chunks = 0,
): tf.Tensor3D {
  return tf.engine().runKernel(ROTARY_ATTENTION_KERNEL, { q, k, v, cos, sin }, { nHeads, nKvHeads, scale, window: window ?? 0, chunks }) as tf.Tensor3D;
}

/** RMSNorm of x [..., d_model] with gain [d_model] through {@link RMS_NORM_KERNEL}; the caller checks {@link fusedKernelsActive}. */
export function fusedRmsNorm<T extends tf.Tensor>(x: T, gain: tf.Tensor1D, eps: number): T {
  return tf.engine().runKernel(RMS_NORM_KERNEL, { x, gain }, { eps }) as T;
}

/** LayerNorm of x [..., d_model] with gain, bias [d_model] through {@link LAYER_NORM_KERNEL}. */
export function fusedLayerNorm<T extends tf.Tensor>(x: T, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T {
  return tf.engine().runKernel(LAYER_NORM_KERNEL, { x, gain, bias }, { eps }) as T;
}

/** silu(gate) * up through {@link SWIGLU_KERNEL}; gate and up of one shape. */
export function fusedSwiglu<T extends tf.Tensor>(gate: T, up: T): T {
  return tf.engine().runKernel(SWIGLU_KERNEL, { gate, up }, {}) as T;
}

/** gelu_new(x) through {@link GELU_TANH_KERNEL}. */
export function fusedGeluTanh<T extends tf.Tensor>(x: T): T {
  return tf.engine().runKernel(GELU_TANH_KERNEL, { x }, {}) as T;
}
