/**
 * The dense float64 kernels of the d x d solves (solve.ts) behind one interface, in two
 * implementations: JavaScript loops (cholesky-blocked.ts, ml-matrix's symmetric eigensolver) and
 * the system's LAPACK / BLAS through native/blas.c (dpotrf, dtrsm, dtrsv, dtrmv, dsyevr or
 * dsyevd, dgemm).
 * At d_model 4,096 the JavaScript Cholesky alone takes ~15 s and the eigensolver minutes; OpenBLAS
 * does both in about a second (docs/numerics.md, "Solves").
 *
 * The native set falls back call by call: a library without one symbol (a CBLAS without LAPACK,
 * say) runs only that call in JavaScript. Factors are row-major lower triangles in both, so the
 * two mix freely. `LINEARITY_NATIVE=0` (or `denseOps(false)`) forces JavaScript everywhere.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { nativeBlas } from "../native";
import { choleskyInPlace, forwardSubstituteBlocked } from "./cholesky-blocked";

/** Float64 kernels on row-major arrays; L is lower triangular [m, m] with row stride m. */
export interface DenseOps {
  /** "native" (system LAPACK / BLAS where it has the call) or "javascript". */
  readonly name: "native" | "javascript";
  /** Cholesky in place: the lower triangle of A [m, m] becomes L (A = L L^T); false when a pivot L_jj^2 is <= tol. */
  cholesky(A: Float64Array, m: number, tol: number): boolean;
  /** B [m, dy] := L^-1 B, or L^-T B when `trans`. */
  solveLower(L: Float64Array, m: number, B: Float64Array, dy: number, trans: boolean): void;
  /** v [m] := L v, or L^T v when `trans`. */
  mulLowerVec(L: Float64Array, m: number, v: Float64Array, trans: boolean): void;
  /**
   * Every eigenpair of the symmetric S [m, m] that `build` returns (the kernels may overwrite it,
   * and call `build` again for a fallback): `values` ascending, row k of `vectors` [m, m] the
   * unit eigenvector of values[k].
   */
  eigh(build: () => Float64Array, m: number): { values: Float64Array; vectors: Float64Array };
  /** op(A) B, [M, N]: op(A) = A [M, K], or with `transA` the transpose of the stored A [K, M]; B [K, N]. */
  matmul(transA: boolean, M: number, N: number, K: number, A: Float64Array, B: Float64Array): Float64Array;
}

/** Solve L^T W = Z in place (L lower m x m row-major, Z [m, dy]). */
function backSubstituteLower(L: Float64Array, m: number, Z: Float64Array, dy: number): void {
  for (let i = m - 1; i >= 0; i--) {
    const li = i * m, zi = i * dy;
    const inv = 1 / L[li + i];
    for (let c = 0; c < dy; c++) Z[zi + c] *= inv;
    for (let j = 0; j < i; j++) {
      const a = L[li + j];
      if (a === 0) continue;
      const zj = j * dy;
      for (let c = 0; c < dy; c++) Z[zj + c] -= a * Z[zi + c];
    }
  }
}

/** The JavaScript kernels. */
export const jsOps: DenseOps = {
  name: "javascript",
  cholesky: (A, m, tol) => choleskyInPlace(A, m, tol),
  solveLower: (L, m, B, dy, trans) => (trans ? backSubstituteLower(L, m, B, dy) : forwardSubstituteBlocked(L, m, B, dy)),
  mulLowerVec(L, m, v, trans) {
    const out = new Float64Array(m);
    if (trans) {
      for (let a = 0; a < m; a++) {
        const va = v[a], row = a * m;
        for (let b = 0; b <= a; b++) out[b] += L[row + b] * va;
      }
    } else {
      for (let a = 0; a < m; a++) {
        const row = a * m;
        let s = 0;
        for (let b = 0; b <= a; b++) s += L[row + b] * v[b];
        out[a] = s;
      }
    }
    v.set(out);
  },
  eigh(build, m) {
    const S = build();
    const sub = new Matrix(m, m);
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) sub.set(a, b, S[a * m + b]);
    const evd = new EigenvalueDecomposition(sub, { assumeSymmetric: true });
    const V = evd.eigenvectorMatrix;
    const vectors = new Float64Array(m * m);
    for (let a = 0; a < m; a++) for (let k = 0; k < m; k++) vectors[k * m + a] = V.get(a, k);
    return { values: Float64Array.from(evd.realEigenvalues), vectors };
  },
  matmul(transA, M, N, K, A, B) {
    const C = new Float64Array(M * N);
    for (let k = 0; k < K; k++) {
      const bk = k * N;
      for (let i = 0; i < M; i++) {
        const a = transA ? A[k * M + i] : A[i * K + k];
        if (a === 0) continue;
        const ci = i * N;
        for (let c = 0; c < N; c++) C[ci + c] += a * B[bk + c];
      }
    }
    return C;
  },
};

/** The native kernels, or undefined where no native BLAS is loaded. */
function makeNativeOps(): DenseOps | undefined {
  const blas = nativeBlas();
  if (blas === undefined) return undefined;
  const lap = blas.lapack;
  return {
    name: "native",
    cholesky(A, m, tol) {
      if (!lap.potrfLower) return jsOps.cholesky(A, m, tol);
      if (lap.potrfLower(m, A, m) !== 0) return false;
      for (let j = 0; j < m; j++) if (!(A[j * m + j] * A[j * m + j] > tol)) return false;
      return true;
    },
    solveLower(L, m, B, dy, trans) {
      if (dy === 1 && lap.trsvLower) lap.trsvLower(trans, m, L, m, B);
      else if (lap.trsmLower) lap.trsmLower(trans, m, dy, L, m, B, dy);
      else jsOps.solveLower(L, m, B, dy, trans);
    },
    mulLowerVec(L, m, v, trans) {
      if (lap.trmvLower) lap.trmvLower(trans, m, L, m, v);
      else jsOps.mulLowerVec(L, m, v, trans);
    },
    eigh(build, m) {
      const values = new Float64Array(m);
      // dsyevr (MRRR) first: dsyevd's divide and conquer is faster but left maps 1.3e-6 off the
      // float64 reference at cond 1e6 (test/metrics/accuracy.test.ts), dsyevr within 1e-6.
      if (lap.eigh) {
        const vectors = new Float64Array(m * m);
        if (lap.eigh(m, build(), m, values, vectors, m) === 0) return { values, vectors };
      } else if (lap.eighInPlace) {
        const S = build();
        if (lap.eighInPlace(m, S, m, values) === 0) return { values, vectors: S };
      }
      return jsOps.eigh(build, m); // no LAPACK eigensolver, or it failed: the JavaScript one decides
    },
    matmul(transA, M, N, K, A, B) {
      const C = new Float64Array(M * N);
      if (M > 0 && N > 0 && K > 0) blas.gemm(transA, false, M, N, K, 1, A, transA ? M : K, B, N, 0, C, N);
      return C;
    },
  };
}

let native: DenseOps | null | undefined;

/** The kernels to use: native where loaded and `preferNative` (default true), else JavaScript. */
export function denseOps(preferNative = true): DenseOps {
  if (!preferNative) return jsOps;
  if (native === undefined) native = makeNativeOps() ?? null;
  return native ?? jsOps;
}
