/**
 * The native matMul kernels (lib/native/wasm-matmul.ts) against tfjs-backend-wasm's own kernels on
 * the same tensors: transposes, batch broadcasting, fused bias and activations; and against
 * float64 loops for a broadcast the wasm kernel's rank-3 reshape cannot express. Skipped, with a
 * notice, where the native BLAS is unavailable (no addon, no CBLAS, LINEARITY_NATIVE=0) or the
 * backend is not wasm.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { ensureGradients } from "../../lib/models/common/gradients";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { nativeMatmulInstalled, wasmMatmulKernels } from "../../lib/native/wasm-matmul";

const forced = process.env.LINEARITY_BACKEND;
const otherBackend = forced !== undefined && forced !== "" && forced !== "wasm";
const runs = nativeBlas() !== undefined && !otherBackend;
if (!runs) console.warn(`test/native/wasm-matmul.test.ts: SKIPPED, ${otherBackend ? `LINEARITY_BACKEND=${forced}` : nativeBlasStatus()}`);

beforeAll(async () => {
  if (!runs) return;
  // Not installed unless asked for; initBackend installs them when asked, on wasm with a BLAS.
  expect(await initBackend({ quiet: true })).toBe("wasm");
  expect(nativeMatmulInstalled()).toBe(false);
  await initBackend({ quiet: true, nativeMatmul: true });
  expect(nativeMatmulInstalled()).toBe(true);
  ensureGradients();
});

/** Run one of the wasm backend's original kernels on tensors and return the result as a tensor. */
function original(kernel: tf.KernelConfig, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.Tensor {
  const info = kernel.kernelFunc({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Largest |a - b| after checking the shapes agree. */
function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** Values in [-1, 1) from a seed. */
const uniform = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, "float32", seed);

/** Float32 sums of K products of values in [-1, 1): rounding stays well below this. */
const tolerance = (k: number) => 1e-6 * k;

describe.skipIf(!runs)("native matMul kernels equal the wasm kernels", () => {
  const M = 37, N = 23, K = 41;
  // [a batch axes, b batch axes]: equal, a broadcast, b broadcast, rank 2 against rank 3, none.
  const batches: [number[], number[]][] = [[[3], [3]], [[1], [3]], [[3], [1]], [[2, 3], []], [[], []]];
  for (const [ba, bb] of batches) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`BatchMatMul a [${ba}] b [${bb}] transposeA=${ta} transposeB=${tb}`, () => {
          const a = uniform([...ba, ...(ta ? [K, M] : [M, K])], 1);
          const b = uniform([...bb, ...(tb ? [N, K] : [K, N])], 2);
          const mine = tf.matMul(a, b, ta, tb);
          // The wasm kernel reshapes to rank 3, so give it b with a's leading axes when a has more.
          const bFull = ba.length > 1 && bb.length === 0 ? tf.broadcastTo(b, [...ba, ...b.shape]) : b;
          const theirs = original(wasmMatmulKernels()!.batchMatMul, { a, b: bFull }, { transposeA: ta, transposeB: tb });
          expect(maxDiff(mine, theirs)).toBeLessThan(tolerance(K));
          expect(Math.max(...tf.abs(theirs).dataSync())).toBeGreaterThan(1); // not all zeros
          tf.dispose([a, b, bFull, mine, theirs]);
        });
      }
    }
  }

  it("BatchMatMul broadcasts a [2, 1, m, k] against b [1, 3, k, n] like float64 loops", () => {
    const a = uniform([2, 1, 5, 7], 3);
    const b = uniform([1, 3, 7, 4], 4);
    const y = tf.matMul(a, b);
    expect(y.shape).toEqual([2, 3, 5, 4]);
    const A = a.dataSync(), B = b.dataSync(), Y = y.dataSync();
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let r = 0; r < 5; r++) {
          for (let c = 0; c < 4; c++) {
            let s = 0;
            for (let t = 0; t < 7; t++) s += A[i * 35 + r * 7 + t] * B[j * 28 + t * 4 + c];
            expect(Math.abs(Y[((i * 3 + j) * 5 + r) * 4 + c] - s)).toBeLessThan(tolerance(7));
          }
        }
      }
    }
    tf.dispose([a, b, y]);
  });

  it("BatchMatMul big enough for several BLAS threads: [2, 200, 300] x [300, 150]", () => {
    const a = uniform([2, 200, 300], 5);
    const b = uniform([300, 150], 6);
    const mine = tf.matMul(a, b);
    const theirs = original(wasmMatmulKernels()!.batchMatMul, { a, b: tf.broadcastTo(b, [2, 300, 150]) }, { transposeA: false, transposeB: false });
    expect(maxDiff(mine, theirs)).toBeLessThan(tolerance(300));
    tf.dispose([a, b, mine, theirs]);
  });

  it("gradients through matMul (transposed products) equal the wasm kernel's", () => {
    const a = uniform([4, 9, 6], 7);
    const b = uniform([4, 6, 5], 8);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([a, b]);
    // d sum((ab)^2)/da = 2 (ab) b^T, d/db = 2 a^T (ab), with the wasm kernel.
    const k = wasmMatmulKernels()!.batchMatMul;
    const ab = original(k, { a, b }, { transposeA: false, transposeB: false });
    const refA = tf.mul(2, original(k, { a: ab, b }, { transposeA: false, transposeB: true }));
    const refB = tf.mul(2, original(k, { a, b: ab }, { transposeA: true, transposeB: false }));
    expect(maxDiff(ga, refA)).toBeLessThan(tolerance(6) * 10);
    expect(maxDiff(gb, refB)).toBeLessThan(tolerance(9) * 10);
    tf.dispose([a, b, ga, gb, ab, refA, refB]);
  });

  /** tfjs's definition of a fused product: activation(a b + bias), from the wasm kernels' product and tf's own ops. */
  function fusedReference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, bias: tf.Tensor, activation: string, prelu?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = tf.add(original(wasmMatmulKernels()!.batchMatMul, { a, b }, { transposeA: ta, transposeB: tb }), bias);
      switch (activation) {
        case "linear": return y;
        case "relu": return tf.relu(y);
        case "relu6": return tf.relu6(y);
        case "leakyrelu": return tf.leakyRelu(y, 0.2);
        case "prelu": return tf.prelu(y, prelu!);
        case "sigmoid": return tf.sigmoid(y);
        case "elu": return tf.elu(y);
        default: throw new Error(`no reference for ${activation}`);
      }
    });
  }

  // (The wasm backend's own _FusedMatMul gives wrong rows for batched inputs with a bias in
  // tfjs 4.22, so the fused kernels are compared with the definition instead.)
  const activations = ["linear", "relu", "relu6", "leakyrelu", "prelu", "sigmoid", "elu"] as const;
  for (const activation of activations) {
    for (const [ta, tb] of [[false, false], [true, true]]) {
      it(`_FusedMatMul bias + ${activation}, transposeA=${ta} transposeB=${tb}`, () => {
        // Scaled so that relu6's cap at 6 and the negative side are both reached.
        const a = tf.mul(uniform([2, ...(ta ? [K, M] : [M, K])], 9), 3);
        const b = uniform([2, ...(tb ? [N, K] : [K, N])], 10);
        const bias = uniform([N], 11);
        const prelu = activation === "prelu" ? uniform([N], 12) : undefined;
        const mine = tf.fused.matMul({ a, b, bias, transposeA: ta, transposeB: tb, activation, leakyreluAlpha: 0.2, preluActivationWeights: prelu });
        const theirs = fusedReference(a, b, ta, tb, bias, activation, prelu);
        expect(maxDiff(mine, theirs)).toBeLessThan(tolerance(K) * 3);
        const y = mine.dataSync();
        if (activation === "relu6") expect(y.some((v) => v === 6) && y.some((v) => v === 0)).toBe(true);
        tf.dispose([a, b, bias, mine, theirs, ...(prelu ? [prelu] : [])]);
      });
    }
  }

  it("_FusedMatMul on rank-2 operands with a bias equals the wasm kernel", () => {
    const a = uniform([M, K], 15);
    const b = uniform([K, N], 16);
    const bias = uniform([N], 17);
    const attrs = { transposeA: false, transposeB: false, activation: "relu", leakyreluAlpha: 0 };
    const mine = tf.fused.matMul({ a, b, bias, activation: "relu" });
    const theirs = original(wasmMatmulKernels()!.fusedMatMul, { a: tf.reshape(a, [1, M, K]), b: tf.reshape(b, [1, K, N]), bias }, attrs);
    expect(maxDiff(mine, tf.reshape(theirs, [M, N]))).toBeLessThan(tolerance(K));
    tf.dispose([a, b, bias, mine, theirs]);
  });

  it("_FusedMatMul without bias equals a plain product", () => {
    const a = uniform([M, K], 13);
    const b = uniform([K, N], 14);
    const fused = tf.fused.matMul({ a, b });
    const theirs = original(wasmMatmulKernels()!.batchMatMul, { a, b }, { transposeA: false, transposeB: false });
    expect(maxDiff(fused, theirs)).toBeLessThan(tolerance(K));
    tf.dispose([a, b, fused, theirs]);
  });
});
