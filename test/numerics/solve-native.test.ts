/**
 * The d x d solves on the native kernels (system LAPACK / BLAS through native/blas.c) and on the
 * JavaScript ones, each against float64 references written here: plain loops for the kernels,
 * the QR + Jacobi SVD least squares of reference64.ts (on the data, no Gram matrix) for
 * factorGram's answers. Skipped, with a notice, where no native BLAS is loaded; the JavaScript
 * half runs everywhere.
 */
import { describe, expect, test } from "vitest";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { denseOps, jsOps, type DenseOps } from "../../lib/numerics/dense-ops";
import { correlationCondition, explainedSumSquares, factorGram, solveMap } from "../../lib/numerics/solve";
import { gaussianMatrix } from "./reference";
import { lsqReference } from "./reference64";

const hasNative = nativeBlas() !== undefined;
if (!hasNative) console.warn(`test/numerics/solve-native.test.ts: native half SKIPPED, ${nativeBlasStatus()}`);
const kernels: { ops: DenseOps; native: boolean }[] = [{ ops: jsOps, native: false }, ...(hasNative ? [{ ops: denseOps(true), native: true }] : [])];

/** Symmetric positive definite [m, m]: G^T G / k + 0.1 I from a k x m Gaussian. */
function spd(m: number, seed: number): Float64Array {
  const k = m + 7, g = gaussianMatrix(k, m, seed), A = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) {
    let s = 0;
    for (let r = 0; r < k; r++) s += g[r][a] * g[r][b];
    A[a * m + b] = s / k + (a === b ? 0.1 : 0);
  }
  return A;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
}

test.skipIf(!hasNative)("denseOps() is the native set where a native BLAS is loaded", () => {
  expect(denseOps(true).name).toBe("native");
  expect(denseOps(false).name).toBe("javascript");
});

for (const { ops } of kernels) describe(`dense kernels (${ops.name}) equal float64 loops`, () => {
  const m = 67, dy = 5;

  test("cholesky: L L^T reproduces A; the strict upper triangle is untouched", () => {
    const A = spd(m, 1), L = A.slice();
    expect(ops.cholesky(L, m, 1e-12)).toBe(true);
    let worst = 0;
    for (let a = 0; a < m; a++) for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let k = 0; k <= b; k++) s += L[a * m + k] * L[b * m + k];
      worst = Math.max(worst, Math.abs(s - A[a * m + b]));
      if (b < a) expect(L[b * m + a]).toBe(A[b * m + a]);
    }
    expect(worst).toBeLessThan(1e-12);
  });

  test("cholesky: false for an indefinite matrix and for a pivot at or below tol", () => {
    expect(ops.cholesky(Float64Array.from([1, 2, 2, 1]), 2, 0)).toBe(false);
    // Pivots 1 and 1 - 0.999999^2 ~ 2e-6: refused with tol 1e-5, accepted with 1e-7.
    const near = () => Float64Array.from([1, 0.999999, 0.999999, 1]);
    expect(ops.cholesky(near(), 2, 1e-5)).toBe(false);
    expect(ops.cholesky(near(), 2, 1e-7)).toBe(true);
  });

  test("solveLower with and without transpose, one and several right-hand sides", () => {
    const L = spd(m, 2);
    expect(ops.cholesky(L, m, 0)).toBe(true);
    for (const cols of [1, dy]) {
      for (const trans of [false, true]) {
        const X = Float64Array.from(gaussianMatrix(m, cols, 3 + cols).flat());
        const B = new Float64Array(m * cols); // B = op(L) X, then solve back for X
        for (let i = 0; i < m; i++) for (let c = 0; c < cols; c++) {
          let s = 0;
          for (let k = 0; k < m; k++) {
            const l = trans ? (k >= i ? L[k * m + i] : 0) : k <= i ? L[i * m + k] : 0;
            s += l * X[k * cols + c];
          }
          B[i * cols + c] = s;
        }
        ops.solveLower(L, m, B, cols, trans);
        expect(maxAbs(B, X)).toBeLessThan(1e-10);
      }
    }
  });

  test("mulLowerVec with and without transpose", () => {
    const L = spd(m, 4);
    expect(ops.cholesky(L, m, 0)).toBe(true);
    for (const trans of [false, true]) {
      const v = Float64Array.from(gaussianMatrix(1, m, 5)[0]);
      const want = new Float64Array(m);
      for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) want[i] += (trans ? (k >= i ? L[k * m + i] : 0) : k <= i ? L[i * m + k] : 0) * v[k];
      ops.mulLowerVec(L, m, v, trans);
      expect(maxAbs(v, want)).toBeLessThan(1e-12);
    }
  });

  test("eigh: S v = lambda v, ascending, orthonormal vectors", () => {
    const copy = spd(m, 6);
    const { values, vectors } = ops.eigh(() => copy.slice(), m);
    for (let k = 1; k < m; k++) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
    let worst = 0, ortho = 0;
    for (let k = 0; k < m; k++) {
      for (let a = 0; a < m; a++) {
        let s = 0;
        for (let b = 0; b < m; b++) s += copy[a * m + b] * vectors[k * m + b];
        worst = Math.max(worst, Math.abs(s - values[k] * vectors[k * m + a]));
      }
      for (let q = 0; q < m; q++) {
        let s = 0;
        for (let a = 0; a < m; a++) s += vectors[k * m + a] * vectors[q * m + a];
        ortho = Math.max(ortho, Math.abs(s - (k === q ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-12);
    expect(ortho).toBeLessThan(1e-12);
  });

  test("matmul with and without a transposed left operand", () => {
    const M = 7, N = 4, K = 9;
    const A = Float64Array.from(gaussianMatrix(M, K, 7).flat()), At = new Float64Array(K * M), B = Float64Array.from(gaussianMatrix(K, N, 8).flat());
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let c = 0; c < N; c++) for (let k = 0; k < K; k++) want[i * N + c] += A[i * K + k] * B[k * N + c];
    expect(maxAbs(ops.matmul(false, M, N, K, A, B), want)).toBeLessThan(1e-13);
    expect(maxAbs(ops.matmul(true, M, N, K, At, B), want)).toBeLessThan(1e-13);
    expect(maxAbs(ops.matmul(false, M, N, 0, A, B), new Float64Array(M * N))).toBe(0);
  });
});

/** Centred Gram C_xx, cross C_xy and ||Y_c||^2 of float64 data, in float64 loops. */
function moments(x: Float64Array, y: Float64Array, n: number, d: number, dy: number): { C: Float64Array; Cxy: Float64Array; yy: number; rawDiag: Float64Array } {
  const mean = (v: Float64Array, w: number) => {
    const m = new Float64Array(w);
    for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) m[j] += v[i * w + j] / n;
    return m;
  };
  const mx = mean(x, d), my = mean(y, dy);
  const C = new Float64Array(d * d), Cxy = new Float64Array(d * dy), rawDiag = new Float64Array(d);
  let yy = 0;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const xa = x[i * d + a] - mx[a];
      rawDiag[a] += x[i * d + a] ** 2;
      for (let b = 0; b < d; b++) C[a * d + b] += xa * (x[i * d + b] - mx[b]);
      for (let c = 0; c < dy; c++) Cxy[a * dy + c] += xa * (y[i * dy + c] - my[c]);
    }
    for (let c = 0; c < dy; c++) yy += (y[i * dy + c] - my[c]) ** 2;
  }
  return { C, Cxy, yy, rawDiag };
}

/** X [n, d] per case and Y = X W + noise [n, dy]. */
function caseData(kind: string, n: number, d: number, dy: number): { x: Float64Array; y: Float64Array } {
  const g = gaussianMatrix(n, d, 11), z = gaussianMatrix(n, 1, 12);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = g[i][j] * (1 + j / d);
  if (kind === "near-collinear") for (let i = 0; i < n; i++) x[i * d + 1] = x[i * d] + 3e-5 * z[i][0]; // sigma ~ 2e-5 of the largest: just above the cut
  if (kind === "duplicate and constant") for (let i = 0; i < n; i++) { x[i * d + 2] = 2 * x[i * d + 3]; x[i * d + 4] = 7; }
  const w = gaussianMatrix(d, dy, 13), e = gaussianMatrix(n, dy, 14), y = new Float64Array(n * dy);
  for (let i = 0; i < n; i++) for (let c = 0; c < dy; c++) {
    let s = 0.1 * e[i][c];
    for (let j = 0; j < d; j++) s += x[i * d + j] * w[j][c];
    y[i * dy + c] = s;
  }
  return { x, y };
}

describe("factorGram on native and JavaScript kernels against the float64 SVD least squares", () => {
  const d = 40, dy = 3, rcond = 1e-5;
  const cases = [
    { kind: "well-conditioned", n: 120, path: "blk" },
    { kind: "tokens < d_model", n: 25, path: "eig" },
    { kind: "near-collinear", n: 120, path: "eig" },
    { kind: "duplicate and constant", n: 120, path: "eig" },
  ];
  for (const { kind, n, path } of cases) {
    for (const { ops, native } of kernels) {
      test(`${kind} (${path} path), ${ops.name} kernels: rank, score and map`, () => {
        const { x, y } = caseData(kind, n, d, dy);
        const ref = lsqReference(x, y, n, d, dy, rcond);
        const { C, Cxy, yy, rawDiag } = moments(x, y, n, d, dy);
        const f = factorGram(C, d, { rcond, native, rawDiag }); // rawDiag: the constant column is no direction
        expect(f.ops.name).toBe(ops.name);
        expect(f.kind).toBe(path === "blk" ? "cholesky" : "eigen");
        expect(f.rank).toBe(ref.rank);
        expect(Math.abs(explainedSumSquares(f, Cxy, dy) / yy - ref.score)).toBeLessThan(1e-10);
        const A = solveMap(f, Cxy, dy);
        let scale = 0;
        for (const v of ref.map) scale = Math.max(scale, Math.abs(v));
        // Conditioning of the Gram route: the collinear pair's coefficients carry ~cond^2 eps.
        expect(maxAbs(A, ref.map)).toBeLessThan((kind === "near-collinear" ? 1e-4 : 1e-9) * scale);
      });
    }
  }

  test.skipIf(!hasNative)("native and JavaScript kernels give the same condition estimates and paths", () => {
    const { x, y } = caseData("well-conditioned", 120, d, dy);
    const { C } = moments(x, y, 120, d, dy);
    const a = correlationCondition(C, d, undefined, 1e-14, 12, true), b = correlationCondition(C, d, undefined, 1e-14, 12, false);
    expect(Math.abs(a - b)).toBeLessThan(1e-9 * b);
    const fn = factorGram(C, d, { native: true }), fj = factorGram(C, d, { native: false });
    expect(Math.abs(fn.sigmaRatio - fj.sigmaRatio)).toBeLessThan(1e-9 * fj.sigmaRatio);
  });

  test.skipIf(!hasNative)("a library missing some calls runs only those in JavaScript, same answers", () => {
    const lap = nativeBlas()!.lapack as Record<string, unknown>;
    const saved = { ...lap };
    try {
      delete lap.potrfLower; // Cholesky in JavaScript, solves native
      delete lap.eighInPlace; // dsyevr instead of dsyevd
      for (const { kind, n } of [cases[0], cases[1]]) {
        const { x, y } = caseData(kind, n, d, dy);
        const ref = lsqReference(x, y, n, d, dy, rcond);
        const { C, Cxy, yy } = moments(x, y, n, d, dy);
        const f = factorGram(C, d, { rcond });
        expect(f.ops.name).toBe("native");
        expect(f.rank).toBe(ref.rank);
        expect(Math.abs(explainedSumSquares(f, Cxy, dy) / yy - ref.score)).toBeLessThan(1e-10);
      }
      delete lap.eigh; // no LAPACK eigensolver at all: ml-matrix
      const { x, y } = caseData(cases[1].kind, cases[1].n, d, dy);
      const ref = lsqReference(x, y, cases[1].n, d, dy, rcond);
      const { C, Cxy, yy } = moments(x, y, cases[1].n, d, dy);
      const f = factorGram(C, d, { rcond });
      expect(f.rank).toBe(ref.rank);
      expect(Math.abs(explainedSumSquares(f, Cxy, dy) / yy - ref.score)).toBeLessThan(1e-10);
    } finally {
      Object.assign(lap, saved);
    }
  });
});
