/**
 * tfjs-backend-wasm's matrix-product kernels (`BatchMatMul`, `_FusedMatMul`) on the system BLAS.
 *
 * Why: the wasm backend multiplies float32 at ~30 GFLOP/s on one core; OpenBLAS sgemm does
 * ~150 GFLOP/s on this project's 2-core machines (lib/native/blas.ts). Every `tf.matMul` (model
 * forwards and their gradients) on the wasm backend runs through these kernels, so installing
 * them speeds up a thread's forward passes without touching the callers.
 *
 * How: the replacement kernels read the operands straight from the wasm heap (each tensor's
 * `memoryOffset` in the backend's dataIdMap), allocate the output with `backend.makeOutput`
 * (as the backend's own kernels do) and call sgemm once per batch item, with broadcasting over
 * the batch axes as tf.matMul defines it. Bias and activation of `_FusedMatMul` are applied after
 * the product, in the order the wasm kernel applies them. Inputs they do not handle (non-float32,
 * a bias or prelu weights that are not rank <= 1 over the output columns) go to the original
 * kernel.
 *
 * On/off: {@link installNativeMatmul}, called by `initBackend({ nativeMatmul: true })` (lib/backend.ts
 * says who asks for it and why the default is off), installs them when {@link nativeBlas} is
 * available; `LINEARITY_NATIVE=0` leaves the backend's own kernels in place. Results differ from
 * the wasm kernels by float32 rounding (summation order) only; test/native/wasm-matmul.test.ts
 * compares the two.
 */
import * as tf from "@tensorflow/tfjs-core";
import { broadcast_util, util } from "@tensorflow/tfjs-core";
import { nativeBlas, type NativeBlas } from "./blas";
import { heapView, type KernelArgs, type WasmBackend } from "./wasm-heap";

/**
 * For each batch item of the broadcast batch shape `outer` (row-major), which matrix of an operand
 * whose batch shape is `dims` it reads: dims right-aligned against outer, size-1 axes broadcast.
 */
function batchOffsets(outer: number[], dims: number[]): Int32Array {
  const count = util.sizeFromShape(outer);
  const offsets = new Int32Array(count);
  const lead = outer.length - dims.length; // dims are right-aligned against outer
  for (let i = 0; i < count; i++) {
    let rest = i;
    let offset = 0;
    let stride = 1;
    for (let ax = outer.length - 1; ax >= 0; ax--) {
      const coord = rest % outer[ax];
      rest = Math.floor(rest / outer[ax]);
      const d = ax - lead;
      if (d < 0) continue;
      if (dims[d] !== 1) offset += coord * stride;
      stride *= dims[d];
    }
    offsets[i] = offset;
  }
  return offsets;
}

/**
 * out [..., M, N] = op(a) [..., M, K] x op(b) [..., K, N] with tf.matMul's shape rules (batch axes
 * broadcast). Returns the output allocated on the backend.
 */
function product(blas: NativeBlas, backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [aRows, aCols] = [a.shape[ra - 2], a.shape[ra - 1]];
  const [bRows, bCols] = [b.shape[rb - 2], b.shape[rb - 1]];
  const M = transposeA ? aCols : aRows;
  const K = transposeA ? aRows : aCols;
  const kB = transposeB ? bCols : bRows;
  const N = transposeB ? bRows : bCols;
  if (K !== kB) {
    throw new Error(`Error in matMul: inner shapes (${K}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  // Allocate first: makeOutput may grow the wasm memory, which replaces the heap's buffer.
  const out = backend.makeOutput([...outer, M, N], "float32");
  const A = heapView(backend, a);
  const B = heapView(backend, b);
  const C = heapView(backend, out);
  const offA = batchOffsets(outer, a.shape.slice(0, -2));
  const offB = batchOffsets(outer, b.shape.slice(0, -2));
  const sizeA = aRows * aCols;
  const sizeB = bRows * bCols;
  for (let i = 0; i < offA.length; i++) {
    const Ai = A.subarray(offA[i] * sizeA, (offA[i] + 1) * sizeA);
    const Bi = B.subarray(offB[i] * sizeB, (offB[i] + 1) * sizeB);
    const Ci = C.subarray(i * M * N, (i + 1) * M * N);
    if (K === 0) Ci.fill(0);
    else if (M > 0 && N > 0) blas.gemm(transposeA, transposeB, M, N, K, 1, Ai, aCols, Bi, bCols, 0, Ci, N);
  }
  return out;
}

/** True when `t` is absent, or a rank <= 1 tensor of 1 or `n` values (broadcast over the output's columns). */
function columnVector(t: tf.TensorInfo | undefined, n: number): boolean {
  if (t === undefined || t === null) return true;
  const size = util.sizeFromShape(t.shape);
  return t.dtype === "float32" && t.shape.length <= 1 && (size === 1 || size === n);
}

/**
 * One of the {@link FUSABLE} activations, applied in place (same formulas as tfjs-backend-wasm's);
 * `prelu` is given when the activation is "prelu" (the kernel checks both first).
 */
function activate(y: Float32Array, n: number, activation: string, alpha: number, prelu: Float32Array | undefined): void {
  switch (activation) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0;
      return;
    case "relu6":
      for (let i = 0; i < y.length; i++) y[i] = Math.min(Math.max(y[i], 0), 6);
      return;
    case "leakyrelu":
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] *= alpha;
      return;
    case "prelu": {
      const w = prelu!;
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] *= w.length === 1 ? w[0] : w[i % n];
      return;
    }
    case "sigmoid":
      for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      return;
    case "elu":
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = Math.exp(y[i]) - 1;
      return;
    default:
      throw new Error(`native matmul: activation '${activation}' is not fusable here`);
  }
}

const FUSABLE = new Set(["linear", "relu", "relu6", "leakyrelu", "prelu", "sigmoid", "elu"]);

/** The wasm backend's own kernels, kept once the native ones replaced them (undefined: not installed). */
let originals: { batchMatMul: tf.KernelConfig; fusedMatMul: tf.KernelConfig } | undefined;

/** Whether the native kernels are installed in this thread's tfjs (see {@link installNativeMatmul}). */
export function nativeMatmulInstalled(): boolean {
  return originals !== undefined;
}

/** The wasm backend's own BatchMatMul and _FusedMatMul kernels, once the native ones replaced them (tests compare the two). */
export function wasmMatmulKernels(): { batchMatMul: tf.KernelConfig; fusedMatMul: tf.KernelConfig } | undefined {
  return originals;
}

/**
 * Replace the wasm backend's BatchMatMul and _FusedMatMul kernels by the native ones, once per
 * thread (tfjs's kernel registry is per thread). Does nothing and returns false when the native
 * BLAS is unavailable or disabled (LINEARITY_NATIVE=0) or the wasm kernels are not registered.
 */
export function installNativeMatmul(): boolean {
  if (originals !== undefined) return true;
  const blas = nativeBlas();
  const plain = tf.getKernel(tf.BatchMatMul, "wasm");
  const fused = tf.getKernel(tf._FusedMatMul, "wasm");
  if (blas === undefined || plain === undefined || fused === undefined) return false;

  const batchMatMul = (args: KernelArgs): tf.TensorInfo => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== "float32" || b.dtype !== "float32") return plain.kernelFunc(args as never) as tf.TensorInfo;
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    return product(blas, args.backend as WasmBackend, a, b, transposeA, transposeB);
  };

  const fusedMatMul = (args: KernelArgs): tf.TensorInfo => {
    const { a, b, bias, preluActivationWeights } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as {
      transposeA: boolean; transposeB: boolean; activation: string; leakyreluAlpha?: number;
    };
    const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const handled =
      a.dtype === "float32" && b.dtype === "float32" && FUSABLE.has(activation) && columnVector(bias, n) &&
      columnVector(preluActivationWeights, n) && (activation !== "prelu" || preluActivationWeights != null);
    if (!handled) return fused.kernelFunc(args as never) as tf.TensorInfo;
    const backend = args.backend as WasmBackend;
    const out = product(blas, backend, a, b, transposeA, transposeB);
    const y = heapView(backend, out);
    if (bias != null) {
      const v = heapView(backend, bias);
      if (v.length === 1) for (let i = 0; i < y.length; i++) y[i] += v[0];
      else for (let i = 0; i < y.length; i++) y[i] += v[i % n];
    }
    const prelu = preluActivationWeights == null ? undefined : heapView(backend, preluActivationWeights);
    activate(y, n, activation, leakyreluAlpha ?? 0, prelu);
    return out;
  };

  for (const [config, kernelFunc] of [[plain, batchMatMul], [fused, fusedMatMul]] as const) {
    tf.unregisterKernel(config.kernelName, "wasm");
    // The original setup stays: the fall-back cases call the original kernelFunc, which needs it.
    tf.registerKernel({ ...config, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  originals = { batchMatMul: plain, fusedMatMul: fused };
  return true;
}
