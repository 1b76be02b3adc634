/**
 * The native BLAS binding against float64 products written here in plain loops. Skipped, with a
 * notice, where the addon is not built or no CBLAS library is installed (.ci/run installs
 * Debian's libopenblas0 so CI always runs it).
 */
import { describe, expect, test } from "vitest";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";

const blas = nativeBlas();
if (!blas) console.warn(`test/native/blas.test.ts: SKIPPED, ${nativeBlasStatus()}`);

/** Deterministic values in [-1, 1). */
function filled(Ctor: Float32ArrayConstructor | Float64ArrayConstructor, n: number, seed: number): Float32Array | Float64Array {
  const out = new Ctor(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Reference alpha op(A) op(B) + beta C in float64, from the stored arrays and their strides. */
function reference(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: ArrayLike<number>, lda: number, B: ArrayLike<number>, ldb: number, beta: number, C: ArrayLike<number>, ldc: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      out[i * N + j] = alpha * s + beta * C[i * ldc + j];
    }
  }
  return out;
}

describe.skipIf(!blas)("native BLAS (system CBLAS through native/blas.c)", () => {
  const M = 37, N = 23, K = 41;
  for (const Ctor of [Float32Array, Float64Array] as const) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        test(`${Ctor.name} gemm transA=${ta} transB=${tb} with padded strides equals float64 loops`, () => {
          const lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
          const A = filled(Ctor, (ta ? K : M) * lda, 1), B = filled(Ctor, (tb ? N : K) * ldb, 2), C = filled(Ctor, M * ldc, 3);
          const want = reference(ta, tb, M, N, K, 0.5, A, lda, B, ldb, -2, C, ldc);
          const padding = C.slice();
          blas!.gemm(ta, tb, M, N, K, 0.5, A as Float64Array, lda, B as Float64Array, ldb, -2, C as Float64Array, ldc);
          const tol = Ctor === Float32Array ? 1e-5 : 1e-13;
          let worst = 0;
          for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) worst = Math.max(worst, Math.abs(C[i * ldc + j] - want[i * N + j]));
          expect(worst).toBeLessThan(tol);
          // The padding between rows of C is never written.
          for (let i = 0; i < M; i++) for (let j = N; j < ldc && i * ldc + j < C.length; j++) expect(C[i * ldc + j]).toBe(padding[i * ldc + j]);
        });
      }
    }
  }

  test("syrkUpper adds A^T A into the upper triangle only", () => {
    const A = filled(Float64Array, K * N, 4) as Float64Array;
    const C = filled(Float64Array, N * N, 5) as Float64Array;
    const before = C.slice();
    blas!.syrkUpper(N, K, A, N, C, N);
    const gram = reference(true, false, N, N, K, 1, A, N, A, N, 1, before, N);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        if (j >= i) expect(Math.abs(C[i * N + j] - gram[i * N + j])).toBeLessThan(1e-13);
        else expect(C[i * N + j]).toBe(before[i * N + j]);
      }
    }
  });

  test("operands too small for their sizes, or of mixed float types, are refused before any work", () => {
    const A = new Float32Array(10), B = new Float32Array(10), C = new Float32Array(10);
    expect(() => blas!.gemm(false, false, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4)).toThrow(/operand too small/);
    expect(() => blas!.gemm(false, false, 2, 2, 2, 1, A, 2, new Float64Array(4) as never, 2, 0, C, 2)).toThrow(/one float type/);
    expect(() => blas!.syrkUpper(4, 4, new Float64Array(15), 4, new Float64Array(16), 4)).toThrow(/too small/);
  });

  test("the thread count can be set and read back", () => {
    const was = blas!.threads();
    blas!.setThreads(1);
    expect(blas!.threads()).toBe(1);
    blas!.setThreads(was);
    expect(blas!.threads()).toBe(was);
  });
});

describe.skipIf(!blas)("native BLAS refuses what BLAS leaves undefined (issue 20)", () => {
  // The raw addon, for `has`, which lib/native/blas.ts only uses to pick the optional calls.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = blas ? (require(require("node:path").join(__dirname, "../../native/build/Release/blas.node")) as { has(c: string): boolean }) : undefined;

  test("sizes outside int32, fractions and NaN are refused, not wrapped (2^32 + 2 was 2, NaN was 0)", () => {
    const A = new Float64Array(16), B = new Float64Array(16), C = new Float64Array(16);
    for (const bad of [2 ** 32 + 2, NaN, 1.5, -(2 ** 31) - 1, Infinity]) {
      expect(() => blas!.gemm(false, false, bad, 2, 2, 1, A, 2, B, 2, 0, C, 2)).toThrow(/integers in int32's range/);
      expect(() => blas!.syrkUpper(2, bad, A, 2, C, 2)).toThrow(/syrkUpper/);
      if (blas!.lapack.potrfLower) expect(() => blas!.lapack.potrfLower!(bad, A, 4)).toThrow(/potrfLower/);
    }
  });

  test("an output overlapping an input is refused; disjoint views of one buffer are fine", () => {
    const buf = new Float64Array(64);
    const A = buf.subarray(0, 16), B = buf.subarray(16, 32), C = buf.subarray(32, 48);
    expect(() => blas!.gemm(false, false, 4, 4, 4, 1, A, 4, B, 4, 0, A, 4)).toThrow("gemm output C overlaps input A or B");
    expect(() => blas!.gemm(false, false, 4, 4, 4, 1, A, 4, B, 4, 0, buf.subarray(20, 36), 4)).toThrow("overlaps");
    blas!.gemm(false, false, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4);
    expect(() => blas!.syrkUpper(4, 4, A, 4, buf.subarray(8, 24), 4)).toThrow("syrkUpper output C overlaps input A");
    if (blas!.lapack.trsmLower) expect(() => blas!.lapack.trsmLower!(false, 4, 4, A, 4, buf.subarray(4, 20), 4)).toThrow("trsmLower B overlaps L");
    if (blas!.lapack.trsvLower) expect(() => blas!.lapack.trsvLower!(false, 4, A, 4, buf.subarray(2, 6))).toThrow("trsvLower x overlaps L");
    if (blas!.lapack.eigh) expect(() => blas!.lapack.eigh!(4, A, 4, buf.subarray(12, 16), C, 4)).toThrow("eigh A, w and Z must not overlap");
  });

  test("has() reports the symbol behind each call (syrkUpper asked for dgemm before)", () => {
    expect(addon!.has("syrkUpper")).toBe(true); // every loadable library has cblas_dsyrk
    expect(addon!.has("gemm")).toBe(true);
    expect(addon!.has("nonsense")).toBe(false);
  });
});
